"""`/readyz` checks what the process needs (database, broker, model), and the web and
scheduler processes split as the settings say."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from bot.main import Settings, build_runtime, run_scheduler
from bot.storage.models import SchedulerLease
from summarizer.config import TranscriberConfig
from summarizer.errors import SummarizerError
from summarizer.transcribe import check_model
from tests.db import migrated_sqlite


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        _env_file=None,
        database_url=migrated_sqlite(tmp_path / "balafon.db"),
        data_dir=str(tmp_path / "data"),
        **values,
    )


async def _ready(settings: Settings) -> tuple[int, dict]:
    app = build_runtime(settings).app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/readyz")
    return answer.status_code, answer.json()


@pytest.mark.anyio
async def test_ready_with_the_bundled_model_and_the_database(tmp_path: Path) -> None:
    status, body = await _ready(_settings(tmp_path))
    assert (status, body) == (200, {"ready": True, "failures": {}})


@pytest.mark.anyio
async def test_not_ready_without_the_model(tmp_path: Path, caplog) -> None:
    status, body = await _ready(_settings(tmp_path, whisper_model=str(tmp_path)))
    assert (status, body) == (503, {"ready": False, "failures": {"model": "failed"}})
    assert "no model.bin" in caplog.text  # why: in the log, not in the public answer


@pytest.mark.anyio
async def test_celery_web_process_needs_the_broker_not_the_model(
    tmp_path: Path, broker_url: str
) -> None:
    celery = {"job_executor": "celery", "whisper_model": str(tmp_path)}  # model: workers' job
    status, body = await _ready(_settings(tmp_path, celery_broker_url=broker_url, **celery))
    assert status == 200, body
    down = _settings(tmp_path, celery_broker_url="redis://127.0.0.1:1/0", **celery)
    status, body = await _ready(down)
    assert status == 503 and set(body["failures"]) == {"broker"}


def test_model_check_refuses_unknown_names_and_a_missing_gpu() -> None:
    with pytest.raises(SummarizerError, match="not on this machine"):
        check_model(TranscriberConfig(model="no-such-model-xyz"))
    check_model(TranscriberConfig())  # the bundled model
    try:
        import ctranslate2

        gpus = ctranslate2.get_cuda_device_count()
    except Exception:
        gpus = 0
    if gpus == 0:
        with pytest.raises(SummarizerError, match="no CUDA device"):
            check_model(TranscriberConfig(device="cuda"))


def _leader(settings: Settings) -> str | None:
    from bot.storage.db import create_db_engine

    engine = create_db_engine(settings.database_url)
    with Session(engine) as session:
        lease = session.exec(select(SchedulerLease)).first()
    engine.dispose()
    return lease.holder if lease else None


@pytest.mark.anyio
async def test_web_without_scheduler_and_a_scheduler_process(tmp_path: Path) -> None:
    settings = _settings(tmp_path, serve_runs_scheduler=False, serve_runs_worker=False)
    runtime = build_runtime(settings)

    async def serve_briefly() -> None:
        async with runtime.app.router.lifespan_context(runtime.app):
            await asyncio.sleep(0.2)

    await serve_briefly()
    assert _leader(settings) is None  # the web process did not schedule

    async def scheduler() -> str | None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_scheduler(settings, stop))
        for _ in range(50):
            await asyncio.sleep(0.1)
            if holder := await asyncio.to_thread(_leader, settings):
                break
        stop.set()
        await task
        return holder

    holder = await scheduler()
    assert holder is not None and holder.count(":") == 2  # host:pid:suffix
