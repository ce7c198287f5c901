# ruff: noqa: F811  (the Slack harness's fixtures are imported, then named as parameters)
"""Issue #11 item 6: after `forget confirm` no copy of the channel is left anywhere.

Through the real ASGI app against the fake Slack on 127.0.0.1: a message, a shared
recording whose name and download URL carry a marker (transcribed, recapped), a channel
recap, a digest, and a second recording still queued when the channel is forgotten. Then
every column of every table (SQLAlchemy's inspector: all tables, all columns) is read, and
on SQLite the raw bytes of the database file and of its `-wal` file: the marker is gone.
An API transcription (not a channel's) keeps its result until API_RESULT_HOURS, then the
hourly sweep deletes it, with its upload. PostgreSQL: every table is scanned as well; its
dead tuples until VACUUM are out of scope (docs/security.md says so).
"""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters.slack import SlackAdapter
from bot.api import JOB_KIND, HttpApi
from bot.app import create_app
from bot.inbound import Inbound
from bot.main import build_services
from bot.scheduler import sweep
from bot.storage.models import Job
from summarizer.pipeline import Summarizer
from summarizer.types import Segment, Transcript
from tests.security.data_support import files_with as _files
from tests.security.data_support import raw_with as _raw
from tests.security.data_support import tables_with as _where
from tests.slack.conftest import (  # noqa: F401  (fixtures)
    ANN,
    GENERAL,
    Harness,
    fake,
    make_settings,
    payload,
)

pytestmark = pytest.mark.anyio
MARK = "mk" + uuid.uuid4().hex[:16]  # in the channel's data
API_MARK = "ak" + uuid.uuid4().hex[:16]  # in an API upload
TOKEN = "s3cret-api-token"


class NameTranscriber:
    """Stands in for the Whisper model: "hears" the file's name, so that the transcript,
    and the recap made from it, carry the marker the name carries. With `gate` set, it
    waits for it (a long transcription still running)."""

    started = threading.Event()
    gate: threading.Event | None = None

    def transcribe(self, path: Path, on_progress: Any = None) -> Transcript:
        NameTranscriber.started.set()
        if NameTranscriber.gate is not None:
            NameTranscriber.gate.wait(30)
        said = f"I will send the {path.stem} report to legal by Friday."
        return Transcript(segments=[Segment(start=0, end=4, text=said)], duration=4, language="en")


def _silent_wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(b"\0\0" * int(16_000 * seconds))
    return out.getvalue()


class Clock:
    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
async def bot(
    engine: Engine, fake: Any, tmp_path: Path
) -> AsyncIterator[tuple[Harness, httpx.AsyncClient, Clock]]:
    clock = Clock()
    core = Inbound(
        build_services(
            engine=engine,
            summarizer=Summarizer(),
            transcriber_factory=NameTranscriber,
            max_media_bytes=5 * 2**20,
            work_dir=tmp_path,
            clock=clock,
        )
    )
    adapter = SlackAdapter(settings=make_settings(fake, tmp_path), core=core)
    core.services.register(adapter)
    api = HttpApi(core=core.services, upload_dir=tmp_path / "api", token=TOKEN, result_hours=24)
    worker = core.services.worker(worker_id="test")
    app = create_app(adapters=[adapter, api], worker=None)
    async with app.router.lifespan_context(app):
        harness = Harness(fake=fake, adapter=adapter, core=core, worker=worker, app=app)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=headers
        ) as client:
            try:
                yield harness, client, clock
            finally:
                await harness.http.aclose()


async def _share(slack: Harness, name: str) -> dict[str, Any]:
    """Ann uploads a recording into #general (Slack's `file_share` message event)."""
    file = slack.fake.add_file(name, b"\x00\x00\x00\x18ftypM4A " * 64, "audio/mp4")
    message = slack.fake.add_message(GENERAL, ANN, "", subtype="file_share", files=[file])
    envelope = payload("message_file_share.json")
    envelope["event"].update(message, channel=GENERAL, event_ts=message["ts"])
    envelope["event_id"] = f"Ev{file['id']}"
    assert (await slack.send(envelope)).status_code == 200
    return file


async def test_forget_leaves_no_copy_in_any_table_or_file(bot, tmp_path: Path) -> None:
    slack, api, clock = bot
    engine = slack.core.services.repo.engine
    slack.fake.add_user(ANN, "Ann", admin=True)  # she may forget (item 8)
    await slack.say(GENERAL, ANN, f"I will send the {MARK} contract to legal by Friday.")
    await _share(slack, f"{MARK}-standup.m4a")  # transcribed: transcript, recap, items
    await slack.settle()
    await slack.mention(GENERAL, ANN, "recap 24h")
    await slack.mention(GENERAL, ANN, "digest daily 09:00")
    upload = await api.post(  # a real (silent) recording: the API probes uploads at once
        "/v1/transcriptions", files={"file": (f"{API_MARK}.wav", _silent_wav())}
    )
    assert upload.status_code == 202, upload.text
    await slack.settle()
    # A second recording arrives; its job is still queued when the channel is forgotten.
    queued = await _share(slack, f"{MARK}-later.m4a")
    await slack.adapter.settle()
    with Session(engine) as session:
        statuses = sorted(j.status for j in session.exec(select(Job)).all() if MARK in str(j))
    assert statuses == ["done", "queued"]
    where = set(_where(engine, MARK))
    assert {"messages.text", "transcripts.file_name", "transcripts.transcript"} <= where
    assert {"recaps.recap", "action_items.task", "jobs.payload"} <= where

    posts_before = len(slack.fake.posts(GENERAL))
    await slack.mention(GENERAL, ANN, "forget confirm")
    await slack.adapter.settle()  # the reply is posted (and recorded) after the deletion
    [done] = [p for p in slack.fake.posts(GENERAL)[posts_before:] if "Done" in p.get("text", "")]
    assert "jobs" in done["text"]

    assert _where(engine, MARK) == []
    assert _raw(engine, MARK) == []
    assert _files(tmp_path, MARK) == []
    # The queued job is gone: nothing runs, nothing is downloaded or posted afterwards.
    posts_after = len(slack.fake.posts(GENERAL))
    assert await slack.worker.drain() == 0
    assert len(slack.fake.posts(GENERAL)) == posts_after
    assert queued["id"] not in {c.args["file"] for c in slack.fake.called("files.download")}
    assert (
        slack.core.services.digests is not None
        and slack.core.services.digests.active_subscriptions() == []
    )

    # The API's result is no channel's: kept until API_RESULT_HOURS, then swept with its file.
    job_url = upload.json()["url"]
    assert (await api.get(job_url)).json()["result"]["text"].count(API_MARK) == 1
    assert _where(engine, API_MARK) == ["jobs.payload", "jobs.result"]
    assert sweep(slack.core.services.digests)["api_results"] == 0  # not yet
    clock.ahead = timedelta(hours=24, minutes=1)
    assert sweep(slack.core.services.digests)["api_results"] == 1
    gone = await api.get(job_url)
    assert gone.status_code == 410 and gone.json()["error"] == "expired"
    assert _where(engine, API_MARK) == []
    assert _raw(engine, API_MARK) == []
    assert _files(tmp_path, API_MARK) == []
    assert sweep(slack.core.services.digests)["api_results"] == 0  # once


async def test_retention_sweeps_jobs_and_expired_uploads(bot, tmp_path: Path) -> None:
    """RETENTION_DAYS / `retention N` cover jobs too; a failed API job's upload, left on
    disk, goes API_RESULT_HOURS after it failed."""
    slack, api, clock = bot
    engine = slack.core.services.repo.engine
    slack.fake.add_user(ANN, "Ann", admin=True)
    await _share(slack, f"{MARK}-retro.m4a")
    await slack.settle()
    await slack.mention(GENERAL, ANN, "retention 2")
    await slack.adapter.settle()
    assert "jobs.payload" in _where(engine, MARK)
    # An upload whose job failed for good (its worker kept dying mid-run) stays on disk …
    upload = await api.post(
        "/v1/transcriptions", files={"file": (f"{API_MARK}.wav", _silent_wav())}
    )
    with Session(engine) as session:
        job = session.exec(select(Job).where(Job.kind == JOB_KIND)).one()
        job.status, job.finished_at = "failed", datetime.now(UTC)
        session.add(job)
        session.commit()
    assert _files(tmp_path / "api", API_MARK)

    clock.ahead = timedelta(days=1)
    counts = sweep(slack.core.services.digests)
    assert counts["jobs"] == 0 and counts["api_results"] == 1
    assert _files(tmp_path / "api", API_MARK) == []  # … until API_RESULT_HOURS
    assert (await api.get(upload.json()["url"])).status_code == 410
    clock.ahead = timedelta(days=2, minutes=1)
    assert sweep(slack.core.services.digests)["jobs"] >= 1
    assert _where(engine, MARK) == [] and _raw(engine, MARK) == []


async def test_a_job_running_when_the_channel_is_forgotten_stores_and_posts_nothing(
    bot,
) -> None:
    slack, _, _ = bot
    engine = slack.core.services.repo.engine
    slack.fake.add_user(ANN, "Ann", admin=True)
    NameTranscriber.started.clear()
    NameTranscriber.gate = threading.Event()
    try:
        await _share(slack, f"{MARK}-long-meeting.m4a")
        await slack.adapter.settle()
        running = asyncio.create_task(slack.worker.run_once())
        for _ in range(300):  # until the model is busy with it
            if NameTranscriber.started.is_set():
                break
            await asyncio.sleep(0.05)
        assert NameTranscriber.started.is_set()
        await slack.mention(GENERAL, ANN, "forget confirm")
        await slack.adapter.settle()
        posted = len(slack.fake.posts(GENERAL))
        updated = len(slack.fake.called("chat.update"))
        NameTranscriber.gate.set()
        await running
    finally:
        NameTranscriber.gate = None
    assert len(slack.fake.posts(GENERAL)) == posted  # no transcript, no recap posted
    assert len(slack.fake.called("chat.update")) == updated  # not even "Transcribed …"
    assert _where(engine, MARK) == []
    assert _raw(engine, MARK) == []
