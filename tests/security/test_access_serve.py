"""Issue #11, item 4, on a real `balafon serve` process on 127.0.0.1, started as the README
says (no settings at all): it prints `Open http://127.0.0.1:PORT/?token=… in your
browser`, and every request without that token is refused, relayed by a reverse proxy
or not."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
OPEN_LINE = re.compile(
    r"Open (http://127\.0\.0\.1:(\d+)/)\?token=([A-Za-z0-9_\-]{43}) in your browser"
)
CONVERSATION = {"messages": [{"author": "Ann", "text": "I will send the deck by Friday."}]}


@dataclass
class Served:
    url: str
    token: str
    data_dir: Path
    output: list[str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str, process: subprocess.Popen, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


@contextmanager
def _serve(tmp_path: Path, **settings: str) -> Iterator[tuple[int, list[str]]]:
    """`balafon serve` on 127.0.0.1 with only `settings`: its port and what it prints."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ACCESS_", "API_", "PLAYGROUND_", "SLACK_", "MICROSOFT_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        **settings,
    )
    port = _free_port()
    process = subprocess.Popen(  # in tmp_path: no .env of the checkout is read
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    threading.Thread(
        target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True
    ).start()
    try:
        if not _healthy(f"http://127.0.0.1:{port}/healthz", process):
            pytest.fail("balafon serve did not start:\n" + "".join(output))
        time.sleep(0.2)  # the reader thread catches up with what was printed before
        yield port, output
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with _serve(tmp_path) as (port, output):
        found = [m for line in output if (m := OPEN_LINE.search(line))]
        assert found, "no token URL printed:\n" + "".join(output)
        url, printed_port, token = found[0].groups()
        assert int(printed_port) == port
        yield Served(url=url, token=token, data_dir=tmp_path / "data", output=output)


def test_serve_prints_the_token_url_and_refuses_requests_without_it(served: Served) -> None:
    proxied = {"X-Forwarded-For": "198.51.100.23", "X-Forwarded-Proto": "https"}
    for headers in ({}, proxied):
        with httpx.Client(base_url=served.url, headers=headers, timeout=10) as stranger:
            page = stranger.get("/", follow_redirects=True)
            state = stranger.get("/playground/api/state")
            said = stranger.post(
                "/playground/api/messages",
                json={"channel": "general", "user": "ann", "text": "a stranger's post"},
                headers={"X-Playground": "1"},
            )
            recap = stranger.post("/v1/recaps", json=CONVERSATION)
            upload = stranger.post("/v1/transcriptions", files={"file": ("a.mp3", b"ID3")})
        assert page.status_code == 401 and "Ann" not in page.text, headers
        for refused in (state, said, recap, upload):
            assert refused.status_code == 401, (headers, refused.text)
            assert refused.json()["error"] == "unauthorized"
    assert not (served.data_dir / "api").exists() or not any((served.data_dir / "api").iterdir())

    # A browser opening the printed URL gets in; the address loses the token.
    with httpx.Client(base_url=served.url, timeout=10) as browser:
        opened = browser.get(f"/?token={served.token}", follow_redirects=True)
        assert opened.status_code == 200 and "Ann" in opened.text
        assert str(opened.url) == served.url + "playground/"
        assert [r.status_code for r in opened.history] == [303, 307]
        cookie = opened.history[0].headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        said = browser.post(
            "/playground/api/messages",
            json={"channel": "general", "user": "ann", "text": "hello"},
            headers={"X-Playground": "1", "Origin": served.url.rstrip("/")},
        )
        assert said.status_code == 201
        forged = browser.post(
            "/v1/transcriptions",
            files={"file": ("a.mp3", b"ID3")},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert forged.status_code == 403
    # And a program sends the same token as a Bearer token.
    with httpx.Client(base_url=served.url, timeout=30) as tool:
        auth = {"Authorization": f"Bearer {served.token}"}
        assert tool.post("/v1/recaps", json=CONVERSATION, headers=auth).status_code == 200


def test_a_configured_access_token_works_and_is_not_printed(tmp_path: Path) -> None:
    secret = "operator-chosen-access-token-0123456789"
    with _serve(tmp_path, ACCESS_TOKEN=secret) as (port, output):
        printed = "".join(output)
        url = f"http://127.0.0.1:{port}/"
        assert f"Open {url}?token=<ACCESS_TOKEN> in your browser" in printed
        assert secret not in printed  # it stays out of logs
        with httpx.Client(base_url=url, timeout=10) as browser:
            assert browser.get("/playground/?token=a-stale-one").status_code == 401
            opened = browser.get(f"/?token={secret}", follow_redirects=True)
            assert opened.status_code == 200 and "Ann" in opened.text
