"""Request bodies are bounded while they stream in, before any handler buffers them.

Each part mounted on the app declares how large a body its paths take (`body_limits()`:
path prefix -> bytes); every other path gets `DEFAULT_LIMIT`. A body declared larger
(Content-Length) is refused before the handler runs; a body that grows past the limit
while streaming (chunked, or a lying Content-Length) is cut off: the handler's next read
is a disconnect (Starlette raises ClientDisconnect, so nothing half-read is processed)
and the client gets 413. The message that crossed the limit is dropped and nothing after
it is read, so a handler never holds more than its limit. Paths nobody declared (pages
that take no body) have their small body read before the page runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import sentences

log = logging.getLogger(__name__)

# Paths nobody declared take small bodies: health, metrics and /admin are GETs.
DEFAULT_LIMIT = 64 * 1024


@runtime_checkable
class BodyLimited(Protocol):
    """A mounted part that says how large the bodies of its paths may be."""

    def body_limits(self) -> Mapping[str, int]: ...


def collect_limits(parts: Iterable[object]) -> dict[str, int]:
    """Every part's declared limits; a prefix declared twice keeps the smaller limit."""
    limits: dict[str, int] = {}
    for part in parts:
        if isinstance(part, BodyLimited):
            for prefix, size in part.body_limits().items():
                limits[prefix] = min(size, limits.get(prefix, size))
    return limits


def _covers(prefix: str, path: str) -> bool:
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB"


class BodyLimit:
    """ASGI middleware: at most the path's limit of request body, else 413."""

    def __init__(
        self, app: ASGIApp, *, limits: Mapping[str, int], default: int = DEFAULT_LIMIT
    ) -> None:
        self.app = app
        self.default = default
        # Longest prefix first, so /v1/transcriptions wins over /v1.
        self.limits = sorted(limits.items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> tuple[int, bool]:
        """The limit for `path`, and whether an owner declared it (its errors are JSON)."""
        for prefix, size in self.limits:
            if _covers(prefix, path):
                return size, True
        return self.default, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, declared_by_owner = self.limit_for(scope.get("path", ""))
        if _declared_length(scope) > limit:
            await _refuse(send, limit, json_body=declared_by_owner)
            return
        if not declared_by_owner:
            # Pages that take no body (/admin, /metrics, health): read what little may
            # come first, so an oversized body is a 413 even if the page never reads it.
            early = await _read_up_to(receive, limit)
            if early is None:
                await _refuse(send, limit, json_body=False)
                return
            receive = _replay(early, receive)

        received = 0
        over = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal received, over
            if over:  # stop reading: the rest of the body stays with the server, unread
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the handler's answer to the cut-off body: ours replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except Exception:
            if not over or started:
                raise
            log.debug("handler stopped at the body limit of %s", scope.get("path"))
        if over and not started:
            log.info("refused a request body over %d bytes on %s", limit, scope.get("path"))
            await _refuse(send, limit, json_body=declared_by_owner)


async def _read_up_to(receive: Receive, limit: int) -> list[Message] | None:
    """The body's messages while they total at most `limit` bytes; None past it."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else 0
    return 0


async def _refuse(send: Send, limit: int, *, json_body: bool) -> None:
    text = sentences.BODY_TOO_LARGE.format(limit=_megabytes(limit))
    body: bytes
    if json_body:  # the API's problem shape: {"error": code, "message": sentence}
        body = json.dumps({"error": "too_large", "message": text}).encode()
        content_type = b"application/json"
    else:
        body = text.encode()
        content_type = b"text/plain; charset=utf-8"
    headers: list[Any] = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
