"""`balafon worker` processes share the queue: one killed mid-transcription (SIGKILL), the
job is finished by another once the lease expires, and its result is stored once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from bot.main import Settings, build_runtime
from bot.storage.models import Job
from tests.speech import synthesize

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SPEECH = " ".join(
    [
        "The quarterly review starts with the sales numbers for the northern region.",
        "Revenue grew by eight percent while costs stayed flat for the third month.",
        "The team will hire two engineers and one designer before the summer.",
    ]
    * 6
)


def _job(engine) -> Job:
    with Session(engine) as session:
        return session.exec(select(Job).where(Job.kind == "api_transcription")).one()


def _wait(engine, condition, timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(engine)
        if condition(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"timed out; job is {_job(engine)}")


@pytest.mark.anyio
async def test_killed_worker_job_completes_on_another(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "JOB_LEASE_SECONDS": "3",
        "WHISPER_WINDOW_SECONDS": "30",
        "WHISPER_BEAM_SIZE": "1",
        "SLACK_SIGNING_SECRET": "",
        "MICROSOFT_APP_ID": "",
    }
    settings = Settings(
        _env_file=None,
        database_url=env["DATABASE_URL"],
        data_dir=env["DATA_DIR"],
        job_lease_seconds=3,
        serve_runs_worker=False,
        api_token="worker-test-token",
    )
    runtime = build_runtime(settings)  # the web side: no worker of its own
    audio = synthesize(SPEECH, tmp_path / "review.wav")

    async def upload() -> httpx.Response:
        transport = httpx.ASGITransport(app=runtime.app, client=("127.0.0.1", 5000))
        headers = {"Authorization": "Bearer worker-test-token"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=headers
        ) as client:
            with audio.open("rb") as f:
                return await client.post(
                    "/v1/transcriptions",
                    files={"file": ("review.wav", f)},
                    headers={"Authorization": f"Bearer {runtime.access_token}"},
                )

    assert (await upload()).status_code == 202
    engine = runtime.core.services.repo.engine

    def worker() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = worker()
    try:
        _wait(engine, lambda j: j.status == "running" and (j.progress or 0) > 0, timeout=120)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert _job(engine).status == "running"  # left behind by the dead worker

    second = worker()
    try:
        done = _wait(engine, lambda j: j.status in {"done", "failed"}, timeout=180)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert done.status == "done" and done.attempts == 2
    assert "engineers" in done.result["text"].lower()
    assert not any((tmp_path / "data" / "api").rglob("*.wav"))  # the upload is cleaned up
