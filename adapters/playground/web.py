"""The playground's HTTP side: the page, a small JSON API for it, uploads, files, and the
live stream (server-sent events replaying the store's change log).

All of it answers only a browser that opened the URL `balafon serve` prints (its
`?token=` sets a cookie) or a program sending that token as `Authorization: Bearer`,
wherever the request comes from: a reverse proxy in front changes nothing. Requests from
other web sites are refused by the app (bot/access.py), and every request that changes
something must also carry the `X-Playground` header, which no other site can make a
browser send here without a CORS preflight that is never granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from html import escape
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.playground import render, replies
from adapters.playground.item_routes import ItemRoutes
from adapters.playground.store import StoreError
from bot.access import TOKEN_PARAMETER, bearer, has_cookie, login, matches
from bot.http import (
    FORM_OVERHEAD,
    BodyTooLargeError,
    megabytes,
    problem,
    read_body,
    read_form,
    safe_filename,
    save_upload,
)
from bot.ports import TranscriptReply
from summarizer.transcript_formats import render_transcript

if TYPE_CHECKING:
    from adapters.playground.adapter import PlaygroundAdapter

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
PAGE = HERE / "templates" / "index.html"
LOCKED_PAGE = HERE / "templates" / "locked.html"
BASE = "/playground"
API = f"{BASE}/api"
WRITE_HEADER = "x-playground"
MAX_JSON = 64 * 1024
# A stream ends after this and the browser reconnects where it left off (Last-Event-ID):
# a server shutting down waits for open responses, so none may last long.
STREAM_SECONDS = 25.0
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 2.0  # also catches changes made by another process (a separate worker)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MEDIA_KINDS = ("audio/", "video/")
UPLOAD_KEY = re.compile(r"[A-Za-z0-9-]{16,64}")
LOCKED = (
    "Open the address that `balafon serve` printed when it started "
    "(http://127.0.0.1:8000/?token=…); the token changes at each start unless ACCESS_TOKEN "
    "is set. Programs send it as `Authorization: Bearer <token>`."
)
LOCKED_TITLE = "This playground needs its access token"
STALE_TITLE = "That link's token is not this server's"

Endpoint = Callable[[Request], Awaitable[Response]]


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class Web:
    def __init__(self, adapter: PlaygroundAdapter) -> None:
        self.adapter = adapter
        self.store = adapter.store
        self.inbound = adapter.inbound
        self._page = Template(PAGE.read_text(encoding="utf-8"))
        self._locked_page = Template(LOCKED_PAGE.read_text(encoding="utf-8"))
        self.items = ItemRoutes(self)

    def routes(self) -> Sequence[BaseRoute]:
        local, write, door = self._local, self._write, self._door
        return [
            Route("/", door(self.home), methods=["GET"]),
            Route(BASE, door(self.home), methods=["GET"]),
            Route(f"{BASE}/", door(self.page), methods=["GET"]),
            Mount(f"{BASE}/static", app=StaticFiles(directory=STATIC), name="playground-static"),
            Route(f"{API}/state", local(self.state), methods=["GET"]),
            Route(f"{API}/users", write(self.add_user), methods=["POST"]),
            Route(f"{API}/channels", write(self.add_channel), methods=["POST"]),
            Route(f"{API}/channels/{{channel}}/messages", local(self.channel), methods=["GET"]),
            Route(f"{API}/messages", write(self.say), methods=["POST"]),
            Route(f"{API}/messages/{{id:int}}", write(self.edit), methods=["PATCH"]),
            Route(f"{API}/messages/{{id:int}}", write(self.delete), methods=["DELETE"]),
            Route(
                f"{API}/messages/{{id:int}}/transcript.txt", local(self.transcript), methods=["GET"]
            ),
            Route(f"{API}/uploads", write(self.upload), methods=["POST"]),
            Route(f"{API}/items/{{id:int}}/actions", write(self.items.act), methods=["POST"]),
            Route(f"{API}/files/{{id}}", local(self.file), methods=["GET"]),
            Route(f"{API}/events", local(self.events), methods=["GET"]),
        ]

    def body_limits(self) -> dict[str, int]:
        """Bodies read at most (bot/body_limit.py): uploads a recording, the rest JSON."""
        uploads = self.adapter.core.services.max_media_bytes + FORM_OVERHEAD
        return {f"{API}/uploads": uploads, BASE: MAX_JSON}

    # --- guards -----------------------------------------------------------------------

    def _allowed(self, request: Request) -> bool:
        token = self.adapter.access_token
        return has_cookie(request, token) or matches(bearer(request.headers), token)

    def _local(self, endpoint: Endpoint) -> Endpoint:
        """Only with the access token (cookie or Bearer): a 401 without it, and no data."""

        async def guarded(request: Request) -> Response:
            if not self._allowed(request):
                return problem(401, "unauthorized", LOCKED)
            return await endpoint(request)

        return guarded

    def _door(self, endpoint: Endpoint) -> Endpoint:
        """A page: `?token=` logs the browser in (cookie, then the same URL without it);
        without the token, a page that says where to find it."""

        async def guarded(request: Request) -> Response:
            if TOKEN_PARAMETER in request.query_params:
                return login(request, self.adapter.access_token) or self._locked(STALE_TITLE)
            if not self._allowed(request):
                return self._locked(LOCKED_TITLE)
            return await endpoint(request)

        return guarded

    def _locked(self, title: str) -> Response:
        detail = escape(LOCKED.replace("`", ""))
        page = self._locked_page.safe_substitute(title=escape(title), detail=detail)
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
        return HTMLResponse(page, status_code=401, headers=headers)

    def _write(self, endpoint: Endpoint) -> Endpoint:
        async def checked(request: Request) -> Response:
            if request.headers.get(WRITE_HEADER) != "1":
                return problem(403, "forbidden", "Changes come from the playground page only.")
            return await endpoint(request)

        return self._local(checked)

    async def read_json(self, request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await read_body(request, MAX_JSON))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting too
            raise StoreError("The request is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise StoreError("The request must be a JSON object.")
        return data

    @staticmethod
    def refused(exc: Exception) -> Response:
        if isinstance(exc, BodyTooLargeError):
            return problem(413, "too_large", "That request is too large.")
        return problem(400, "invalid", str(exc))

    # --- page and directory -----------------------------------------------------------

    async def home(self, _: Request) -> Response:
        return RedirectResponse(f"{BASE}/", status_code=307)

    async def _directory(self) -> dict[str, Any]:
        people = await asyncio.to_thread(self.store.users)
        channels = await asyncio.to_thread(self.store.channels)
        return {
            "users": [{**p, "color": render.color(p["id"])} for p in people],
            "channels": channels,
            "max_upload_bytes": self.adapter.core.services.max_media_bytes,
        }

    async def page(self, _: Request) -> Response:
        state = json.dumps(await self._directory()).replace("<", "\\u003c")
        return HTMLResponse(self._page.safe_substitute(state=state), headers=SECURITY_HEADERS)

    async def state(self, _: Request) -> Response:
        return JSONResponse(await self._directory())

    async def add_user(self, request: Request) -> Response:
        try:
            data = await self.read_json(request)
            user = await asyncio.to_thread(self.store.add_user, str(data.get("name") or ""))
        except (StoreError, BodyTooLargeError) as exc:
            return self.refused(exc)
        self.adapter.changes.notify()
        return JSONResponse({**user, "color": render.color(user["id"])}, status_code=201)

    async def add_channel(self, request: Request) -> Response:
        try:
            data = await self.read_json(request)
            channel = await asyncio.to_thread(self.store.add_channel, str(data.get("name") or ""))
        except (StoreError, BodyTooLargeError) as exc:
            return self.refused(exc)
        self.adapter.changes.notify()
        return JSONResponse(channel, status_code=201)

    # --- messages ---------------------------------------------------------------------

    async def channel(self, request: Request) -> Response:
        channel = request.path_params["channel"]
        if not await asyncio.to_thread(self.store.has_channel, channel):
            return problem(404, "not_found", f"There is no channel #{channel}.")
        viewer = request.query_params.get("user") or None
        last = await asyncio.to_thread(self.store.last_event)  # before reading: no gap
        rows = await asyncio.to_thread(self.store.channel_messages, channel, viewer)
        return JSONResponse(
            {"messages": [render.message_json(r) for r in rows], "last_event": last}
        )

    async def _answer(self, message_id: int, open_thread: int | None, status: int) -> Response:
        row = await asyncio.to_thread(self.store.message, message_id)
        assert row is not None
        body = {"message": render.message_json(row), "open_thread": open_thread}
        return JSONResponse(body, status_code=status)

    async def say(self, request: Request) -> Response:
        try:
            data = await self.read_json(request)
            said = await self.inbound.say(
                channel=str(data.get("channel") or ""),
                user=str(data.get("user") or ""),
                text=str(data.get("text") or ""),
                thread=_int(data.get("thread")),
                timezone=data.get("timezone") if isinstance(data.get("timezone"), str) else None,
            )
        except (StoreError, BodyTooLargeError) as exc:
            return self.refused(exc)
        return await self._answer(said.message_id, said.open_thread, 201)

    async def edit(self, request: Request) -> Response:
        message_id = request.path_params["id"]
        try:
            data = await self.read_json(request)
            await self.inbound.edit(
                user=str(data.get("user") or ""),
                message_id=message_id,
                text=str(data.get("text") or ""),
            )
        except (StoreError, BodyTooLargeError) as exc:
            return self.refused(exc)
        return await self._answer(message_id, None, 200)

    async def delete(self, request: Request) -> Response:
        message_id = request.path_params["id"]
        try:
            user = request.query_params.get("user") or ""
            await self.inbound.delete(user=user, message_id=message_id)
        except StoreError as exc:
            return self.refused(exc)
        return await self._answer(message_id, None, 200)

    async def transcript(self, request: Request) -> Response:
        row = await asyncio.to_thread(self.store.message, request.path_params["id"])
        reply = replies.load(row.reply) if row is not None and row.reply else None
        if row is None or row.visible_to or not isinstance(reply, TranscriptReply):
            return problem(404, "not_found", "That message holds no transcript.")
        text = render_transcript(reply.transcript, "txt", timestamps=True)
        disposition = f'attachment; filename="{safe_filename(reply.filename, "transcript.txt")}"'
        return PlainTextResponse(text, headers={"Content-Disposition": disposition})

    # --- files ------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        limit = self.adapter.core.services.max_media_bytes
        too_large = f"That file is over the {megabytes(limit)} limit for recordings."
        try:
            form = await read_form(request, limit + FORM_OVERHEAD)
        except BodyTooLargeError:
            return problem(413, "too_large", too_large)
        except ValueError as exc:
            return problem(400, "invalid", f"The upload could not be read: {exc}.")
        key = str(form.get("upload") or "")
        if key and not UPLOAD_KEY.fullmatch(key):
            await form.close()
            return problem(400, "invalid", "That upload key is not one the page makes.")
        # The page names each attachment: sending it again (Enter twice, a retry) shares it
        # once, and the answer is the message that holds it.
        file_id = hashlib.sha256(f"upload:{key}".encode()).hexdigest()[:32] if key else None
        if file_id is not None:
            earlier = await self._earlier_upload(file_id, key)
            if earlier is not None:
                await form.close()
                return earlier
        file_id = file_id or uuid.uuid4().hex
        path = self.adapter.file_path(file_id)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                await self._release(key)
                return problem(400, "invalid", "Choose a file to upload.")
            size = await save_upload(upload, path)
            if size > limit:
                path.unlink(missing_ok=True)
                await self._release(key)
                return problem(413, "too_large", too_large)
            said = await self.inbound.share(
                channel=str(form.get("channel") or ""),
                user=str(form.get("user") or ""),
                text=str(form.get("text") or ""),
                thread=_int(form.get("thread")),
                timezone=str(form.get("timezone") or "") or None,
                file_id=file_id,
                name=safe_filename(upload.filename),
                mimetype=(upload.content_type or "").split(";")[0].strip() or None,
                size=size,
            )
        except StoreError as exc:
            path.unlink(missing_ok=True)
            await self._release(key)
            return self.refused(exc)
        finally:
            await form.close()
        return await self._answer(said.message_id, said.open_thread, 201)

    async def _earlier_upload(self, file_id: str, key: str) -> Response | None:
        """The answer to an attachment sent before (None: this is its first time)."""
        stored = await asyncio.to_thread(self.store.file, file_id)
        if stored is not None:
            return await self._answer(stored.message_id, None, 200)
        if not await self.adapter.core.claim_event(f"playground:upload:{key}"):
            return problem(409, "conflict", "That file is already being sent.")
        return None

    async def _release(self, key: str) -> None:
        """A refused upload may be sent again with the same key."""
        if key:
            await asyncio.to_thread(
                self.adapter.core.services.repo.forget_event, f"playground:upload:{key}"
            )

    async def file(self, request: Request) -> Response:
        stored = await asyncio.to_thread(self.store.file, request.path_params["id"])
        path = self.adapter.file_path(stored.id) if stored else None
        if stored is None or path is None or not path.is_file():
            return problem(404, "not_found", "That file is not here any more.")
        # Only audio and video play in the page; anything else is a download, never HTML
        # interpreted on our origin.
        playable = (stored.mimetype or "").startswith(MEDIA_KINDS)
        return FileResponse(
            path,
            media_type=stored.mimetype if playable else "application/octet-stream",
            filename=stored.name,
            content_disposition_type="inline" if playable else "attachment",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    # --- the live stream --------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        viewer = request.query_params.get("user") or None
        after = _int(request.headers.get("last-event-id")) or _int(
            request.query_params.get("after")
        )
        if after is None:
            after = await asyncio.to_thread(self.store.last_event)
        return StreamingResponse(
            self._stream(after, viewer),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, after: int, viewer: str | None) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        changed = self.adapter.changes.subscribe()
        ends_at = loop.time() + STREAM_SECONDS
        quiet_since = loop.time()
        try:
            yield "retry: 1000\n\n"
            while loop.time() < ends_at and not self.adapter.closing:
                changed.clear()
                batch = await asyncio.to_thread(self.store.events_after, after)
                if batch:
                    for event_id, payload in await asyncio.to_thread(self._payloads, batch, viewer):
                        yield f"id: {event_id}\ndata: {json.dumps(payload)}\n\n"
                    after = batch[-1]["id"]
                    quiet_since = loop.time()
                    continue
                if loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                    yield ": still here\n\n"
                    quiet_since = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), POLL_SECONDS)
        finally:
            self.adapter.changes.unsubscribe(changed)

    def _payloads(
        self, batch: list[dict[str, Any]], viewer: str | None
    ) -> list[tuple[int, dict[str, Any]]]:
        """One payload per changed message (its latest state), in the order of its last
        change (`gone` when it was withdrawn); a new person or channel asks the page to
        reload the directory."""
        latest: dict[Any, int] = {}
        for event in batch:
            key = event["message_id"] if event["kind"] == "message" else event["kind"]
            latest.pop(key, None)
            latest[key] = event["id"]
        out: list[tuple[int, dict[str, Any]]] = []
        for key, event_id in latest.items():
            if key in {"user", "channel"}:
                out.append((event_id, {"type": "directory"}))
                continue
            row = self.store.message(key)
            if row is None:  # withdrawn (an acknowledgement): the pages drop it
                out.append((event_id, {"type": "gone", "id": key}))
                continue
            if row.visible_to and row.visible_to != viewer:
                continue
            out.append((event_id, {"type": "message", "message": render.message_json(row)}))
        return out
