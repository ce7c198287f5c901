"""Issue #11, item 3: request bodies are bounded while they stream, on every endpoint.

A real `balafon serve` (Slack, Teams in anonymous mode, the API, the playground, /admin)
gets a 200 MB chunked body, generated as it is sent and without Content-Length, on each
of its endpoints: each answers 413 before the client has sent it all, the server's peak
memory stays flat, and nothing is stored. Before the fix, `/slack/events` read the whole
body before checking the signature and `/api/messages` read it whole before its check.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.security.edge_support import MB, Server, serve, stream_chunked

TOTAL = 200 * MB
FLAT = 50 * MB  # allowed growth of the server's peak memory over all the attacks
SIGNING_SECRET = "edge-signing-secret"
ADMIN_TOKEN = "edge-admin-token"
ACCESS_TOKEN = "edge-access-token"
AUTH = {"Authorization": "Bearer " + ACCESS_TOKEN}  # the API and the playground take it
MULTIPART = "multipart/form-data; boundary=edgeboundary"
FILE_PART = (
    b"--edgeboundary\r\n"
    b'Content-Disposition: form-data; name="file"; filename="big.wav"\r\n'
    b"Content-Type: audio/wav\r\n\r\n"
)
JSON = {"Content-Type": "application/json"}
PLAYGROUND = {"X-Playground": "1", **AUTH}

# (path, headers, first bytes of the body)
TARGETS = [
    ("/slack/events", JSON, b'{"type": "event_callback", "event": {"text": "'),
    ("/api/messages", JSON, b'{"type": "message", "text": "'),
    ("/v1/recaps", {**JSON, **AUTH}, b'{"messages": [{"author": "Ann", "text": "'),
    ("/v1/transcriptions", {"Content-Type": MULTIPART, **AUTH}, FILE_PART),
    ("/playground/api/messages", {**JSON, **PLAYGROUND}, b'{"channel": "general", "text": "'),
    ("/playground/api/uploads", {"Content-Type": MULTIPART, **PLAYGROUND}, FILE_PART),
    ("/admin", {"Authorization": "Bearer " + ADMIN_TOKEN}, b""),
]


def _peak_rss(server: Server) -> int:
    """The process's high-water mark of resident memory (VmHWM), in bytes."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    dead = f"http://127.0.0.1:{_closed_port()}/api/"  # no Slack to talk to: none needed
    with serve(
        tmp_path_factory.mktemp("edge-bodies"),
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN="xoxb-edge-token",
        SLACK_API_URL=dead,
        TEAMS_ANONYMOUS="true",
        ADMIN_TOKEN=ADMIN_TOKEN,
        ACCESS_TOKEN=ACCESS_TOKEN,
        MAX_MEDIA_MB="20",  # uploads: 20 MB + form overhead, well under the 200 MB sent
    ) as running:
        # Warm every endpoint with a small body, so that what is measured after is the
        # attack, not first-use imports.
        for path, headers, prefix in TARGETS:
            stream_chunked(running.port, path, total=16, headers=headers, prefix=prefix[:16])
        yield running


def _closed_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_endpoint_refuses_a_200_mb_chunked_body_with_flat_memory(server: Server) -> None:
    rows, files = server.rows(), server.files()
    before = _peak_rss(server)
    for path, headers, prefix in TARGETS:
        answer = stream_chunked(server.port, path, total=TOTAL, headers=headers, prefix=prefix)
        assert answer.status == 413, (path, answer.head, answer.body[:300])
        assert answer.sent < TOTAL, path  # answered mid-stream, not after reading it all
        grown = _peak_rss(server) - before
        assert grown < FLAT, f"{path}: peak memory grew by {grown / MB:.0f} MB"
    assert server.rows() == rows  # no job, message, event or upload recorded
    assert server.files() == files  # no upload kept


def test_the_api_keeps_its_documented_error_shape(server: Server) -> None:
    answer = stream_chunked(
        server.port, "/v1/recaps", total=TOTAL, headers={**JSON, **AUTH}, prefix=b"{"
    )
    assert answer.status == 413
    assert httpx.Response(413, content=answer.body).json()["error"] == "too_large"


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server: Server) -> None:
    for path in ("/slack/events", "/api/messages", "/v1/recaps", "/admin"):
        with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {10 * 2**30}\r\n\r\n".encode()
            )
            head = sock.recv(65536).decode("latin-1")  # no body byte sent
        assert head.startswith("HTTP/1.1 413"), (path, head)


def test_slack_still_checks_the_signature_of_small_bodies(server: Server) -> None:
    answer = httpx.post(
        f"{server.url}/slack/events",
        content=b'{"type": "url_verification", "challenge": "x"}',
        headers={**JSON, "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"},
    )
    assert answer.status_code == 401
    unsigned = stream_chunked(server.port, "/slack/events", total=100_000, headers=JSON)
    assert unsigned.status == 401  # under the limit: read, then refused for its signature


# --- the middleware on its own: what the handler sees, and a response already started ---


async def _run(app, messages: list[dict]) -> list[dict]:

    from bot.body_limit import BodyLimit

    sent: list[dict] = []
    pending = list(messages)

    async def receive() -> dict:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/hook", "headers": []}
    limited = BodyLimit(app, limits={"/hook": 10})
    await limited(scope, receive, send)
    return sent


def _chunks(*parts: bytes) -> list[dict]:
    return [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]


@pytest.mark.anyio
async def test_the_handler_sees_a_disconnect_never_a_truncated_body() -> None:
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import PlainTextResponse

    seen: list[object] = []

    async def app(scope, receive, send) -> None:
        try:
            seen.append(await Request(scope, receive).body())
        except ClientDisconnect:
            seen.append("disconnect")
        await PlainTextResponse("processed")(scope, receive, send)  # dropped: 413 instead

    sent = await _run(app, _chunks(b"12345", b"67890", b"X"))
    assert seen == ["disconnect"]
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert b"processed" not in b"".join(m.get("body", b"") for m in sent)


@pytest.mark.anyio
async def test_a_response_already_started_is_not_started_twice() -> None:
    got: list[dict] = []

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        got.extend([await receive(), await receive(), await receive()])
        await send({"type": "http.response.body", "body": b"done"})

    sent = await _run(app, _chunks(b"12345", b"67890", b"X"))
    assert [m["type"] for m in got] == ["http.request", "http.request", "http.disconnect"]
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [200]


@pytest.mark.anyio
async def test_a_body_of_exactly_the_limit_goes_through() -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    async def app(scope, receive, send) -> None:
        body = await Request(scope, receive).body()
        await Response(body, status_code=200)(scope, receive, send)

    sent = await _run(app, _chunks(b"12345", b"67890"))
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"1234567890"
