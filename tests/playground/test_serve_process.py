"""A real `balafon serve` process: Ctrl+C stops it cleanly (exit 0, one line, the running
job handed back to the queue), and a busy port is refused before anything starts."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from bot.jobs import JobQueue
from bot.storage.db import create_db_engine
from bot.storage.models import Job
from tests.speech import synthesize

ROOT = Path(__file__).resolve().parents[2]
# About five minutes of speech: still being transcribed when the 5 s grace is over (it is
# interrupted then, so the test does not pay for all of it).
SPEECH = " ".join(
    [
        "The quarterly review starts with the sales numbers for the northern region.",
        "Revenue grew by eight percent while costs stayed flat for the third month.",
        "The team will hire two engineers and one designer before the summer.",
    ]
    * 24
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in {"ACCESS_TOKEN", "API_TOKEN"}}
    return {
        **inherited,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "WHISPER_WINDOW_SECONDS": "30",
        "WHISPER_BEAM_SIZE": "1",
        "SLACK_SIGNING_SECRET": "",
        "MICROSOFT_APP_ID": "",
    }


class Serve:
    def __init__(self, tmp_path: Path, port: int) -> None:
        self.log = tmp_path / f"serve-{port}.log"
        self.url = f"http://127.0.0.1:{port}"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(port)],
                cwd=ROOT,
                env=_env(tmp_path),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 60) -> str:
        """The API token it printed, once /healthz answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return re.search(r"Bearer (\S+)", self.output()).group(1)
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve did not start:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    started = Serve(tmp_path, _free_port())
    yield started
    started.stop()


def _job(tmp_path: Path) -> Job:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'serve.db'}")
    try:
        with Session(engine) as session:
            return session.exec(select(Job).where(Job.kind == "api_transcription")).one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_hands_the_running_job_back(serve: Serve, tmp_path: Path) -> None:
    token = serve.wait_ready()
    audio = synthesize(SPEECH, tmp_path / "review.wav")
    with audio.open("rb") as file:
        answer = httpx.post(
            f"{serve.url}/v1/transcriptions",
            files={"file": ("review.wav", file)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 120
    while not ((job := _job(tmp_path)).status == "running" and (job.progress or 0) > 0):
        assert job.status in {"queued", "running"} and time.monotonic() < deadline, job
        time.sleep(0.2)

    pressed = time.monotonic()
    serve.process.send_signal(signal.SIGINT)  # what Ctrl+C sends
    assert serve.process.wait(timeout=60) == 0
    took = time.monotonic() - pressed
    output = serve.output()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    [stopped] = [line for line in output.splitlines() if line.startswith("balafon stopped")]
    assert "1 running job(s) went back to the queue" in stopped
    assert took < 30  # the transcription thread stopped too: nothing held the process up

    job = _job(tmp_path)
    assert (job.status, job.worker_id, job.lease_expires_at) == ("queued", None, None)
    assert job.attempts == 0  # the interrupted attempt does not count
    engine = create_db_engine(f"sqlite:///{tmp_path / 'serve.db'}")
    try:  # runnable now, by any worker: not after its lease
        assert JobQueue(engine).claim("next-start").id == job.id
    finally:
        engine.dispose()


def test_ctrl_c_on_an_idle_server_is_one_line(serve: Serve) -> None:
    serve.wait_ready()
    serve.process.send_signal(signal.SIGINT)
    assert serve.process.wait(timeout=30) == 0
    output = serve.output()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert output.rstrip().splitlines()[-1] == "balafon stopped."


def test_a_busy_port_is_refused_before_anything_starts(serve: Serve, tmp_path: Path) -> None:
    serve.wait_ready()
    port = int(serve.url.rsplit(":", 1)[1])
    with socket.socket() as taken:  # the next port is busy too: suggest a free one
        taken.bind(("127.0.0.1", port + 1))
        taken.listen()
        second = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--port", str(port)],
            cwd=ROOT,
            env=_env(tmp_path / "second"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 2
    assert second.stdout == ""
    [line] = second.stderr.splitlines()  # nothing else printed before
    suggested = re.fullmatch(rf"balafon: error: port {port} is in use; try --port (\d+)", line)
    assert suggested and int(suggested.group(1)) > port + 1, line
    assert not (tmp_path / "second").exists()  # no database, no data folder made
