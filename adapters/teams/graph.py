"""Microsoft Graph over httpx: channel and chat history, meeting transcripts and recordings.

App-only tokens per customer tenant (`TokenSource`), retries on 429 and 5xx honouring
Retry-After, and pagination through `@odata.nextLink`. Only the Graph host ever receives
a Graph token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from adapters.teams import sentences
from adapters.teams.credentials import TokenSource
from adapters.teams.downloads import under
from adapters.teams.text import to_plain
from bot.downloads import stream_to_file
from bot.ports import ChatMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0
MAX_PAGES = 50
PAGE_SIZE = 50
# The only Graph resource downloaded as a file: a meeting recording the bot looked up.
RECORDING_PATH = re.compile(r"users/[^/?#]+/onlineMeetings/[^/?#]+/recordings/[^/?#]+/content")


class GraphError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Graph answered HTTP {status}: {message}")
        self.status = status


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def chat_message(raw: dict[str, Any]) -> ChatMessage | None:
    """A Graph chatMessage as the core's message; None for system events and deletions."""
    if raw.get("messageType", "message") != "message" or raw.get("deletedDateTime"):
        return None
    sender = raw.get("from") or {}
    user = sender.get("user") or {}
    app = sender.get("application") or {}
    body = raw.get("body") or {}
    content = body.get("content") or ""
    text = to_plain(content) if body.get("contentType", "html") == "html" else content.strip()
    at = parse_time(raw.get("createdDateTime"))
    if at is None:
        return None
    return ChatMessage(
        id=str(raw["id"]),
        author_id=user.get("id"),
        author_name=user.get("displayName") or app.get("displayName") or "unknown",
        text=text,
        at=at,
        thread=raw.get("replyToId") or None,
        from_bot=bool(app) and not user,
    )


class GraphClient:
    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenSource,
        authority_for: Callable[[str], str],
        scope: str,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.authority_for = authority_for  # tenant id -> MSAL authority
        self.scope = scope
        self._timeout, self._verify, self._trust_env = timeout, verify, trust_env
        self.http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        if self.http is None:
            self.http = httpx.AsyncClient(
                timeout=self._timeout, verify=self._verify, trust_env=self._trust_env
            )

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def owns(self, url: str) -> bool:
        """`url` is under the Graph base URL (origin and path prefix, not a string prefix)."""
        return under(url, self.base_url)

    async def _send(self, tenant: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request with retries; the response is open (stream) and must be closed."""
        await self.open()
        assert self.http is not None
        if not self.owns(url):
            raise GraphError(400, f"refusing to send a Graph token to {urlsplit(url).netloc}")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            token = await self.tokens.token(self.authority_for(tenant), self.scope)
            request = self.http.build_request(
                method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
            try:
                response = await self.http.send(request, stream=True, follow_redirects=True)
            except httpx.TransportError as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("Graph %s %s: %s; retrying", method, url, exc)
                await asyncio.sleep(min(2**attempt, MAX_RETRY_AFTER))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                await response.aclose()
                if attempt == MAX_ATTEMPTS:
                    raise GraphError(response.status_code, "still failing after retries")
                await asyncio.sleep(self._delay(response, attempt))
                continue
            if response.status_code >= 400:
                await response.aread()
                await response.aclose()
                raise GraphError(response.status_code, _error(response))
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _delay(response: httpx.Response, attempt: int) -> float:
        try:
            return min(float(response.headers.get("retry-after", "")), MAX_RETRY_AFTER)
        except ValueError:
            return min(2.0**attempt, MAX_RETRY_AFTER)

    async def get_json(self, tenant: str, path: str, **params: Any) -> dict[str, Any]:
        response = await self._send(tenant, "GET", self.url(path), params=params or None)
        try:
            await response.aread()
            return response.json()
        finally:
            await response.aclose()

    async def get_text(self, tenant: str, path: str, **params: Any) -> str:
        response = await self._send(tenant, "GET", self.url(path), params=params or None)
        try:
            await response.aread()
            return response.text
        finally:
            await response.aclose()

    async def pages(self, tenant: str, path: str, **params: Any) -> AsyncIterator[list[dict]]:
        page = await self.get_json(tenant, path, **params)
        for _ in range(MAX_PAGES):
            yield page.get("value") or []
            link = page.get("@odata.nextLink")
            if not link:
                return
            page = await self.get_json(tenant, link)

    async def download(self, tenant: str, url: str, dest: Path, *, max_bytes: int) -> Path:
        response = await self._send(tenant, "GET", self.url(url))
        try:
            return await stream_to_file(
                response, dest, max_bytes=max_bytes, too_large=sentences.DOWNLOAD_TOO_LARGE
            )
        finally:
            await response.aclose()

    # --- history ----------------------------------------------------------------------

    async def thread(self, tenant: str, team: str, channel: str, root: str) -> list[dict[str, Any]]:
        base = f"teams/{quote(team)}/channels/{quote(channel)}/messages/{quote(root)}"
        found = [await self.get_json(tenant, base)]
        async for page in self.pages(tenant, f"{base}/replies", **{"$top": PAGE_SIZE}):
            found.extend(page)
        return found

    async def channel(
        self, tenant: str, team: str, channel: str, oldest: datetime | None
    ) -> list[dict[str, Any]]:
        """Channel posts with their replies; pages stop once a page is entirely older."""
        path = f"teams/{quote(team)}/channels/{quote(channel)}/messages"
        found: list[dict[str, Any]] = []
        async for page in self.pages(tenant, path, **{"$top": PAGE_SIZE, "$expand": "replies"}):
            recent = False
            for root in page:
                replies = root.pop("replies", None) or []
                found.append(root)
                found.extend(replies)
                stamps = [
                    parse_time(m.get("lastModifiedDateTime") or m.get("createdDateTime"))
                    for m in [root, *replies]
                ]
                recent = recent or oldest is None or any(t and t >= oldest for t in stamps)
            if not recent:
                break
        return found

    async def chat(self, tenant: str, chat: str, oldest: datetime | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"$top": PAGE_SIZE, "$orderby": "createdDateTime desc"}
        if oldest is not None:
            params["$filter"] = f"createdDateTime gt {graph_time(oldest)}"
        found: list[dict[str, Any]] = []
        async for page in self.pages(tenant, f"chats/{quote(chat)}/messages", **params):
            found.extend(page)
        return found

    # --- meetings ---------------------------------------------------------------------

    def meeting_path(self, organizer: str, meeting: str) -> str:
        return f"users/{quote(organizer)}/onlineMeetings/{quote(meeting)}"

    async def transcripts(self, tenant: str, organizer: str, meeting: str) -> list[dict]:
        found = await self.get_json(tenant, f"{self.meeting_path(organizer, meeting)}/transcripts")
        return found.get("value") or []

    async def transcript_vtt(self, tenant: str, organizer: str, meeting: str, ident: str) -> str:
        path = f"{self.meeting_path(organizer, meeting)}/transcripts/{quote(ident)}/content"
        return await self.get_text(tenant, path, **{"$format": "text/vtt"})

    async def recordings(self, tenant: str, organizer: str, meeting: str) -> list[dict]:
        found = await self.get_json(tenant, f"{self.meeting_path(organizer, meeting)}/recordings")
        return found.get("value") or []

    def recording_path(self, organizer: str, meeting: str, ident: str) -> str:
        return f"{self.meeting_path(organizer, meeting)}/recordings/{quote(ident)}/content"


def _error(response: httpx.Response) -> str:
    try:
        return (response.json().get("error") or {}).get("message") or response.text[:200]
    except Exception:
        return response.text[:200]
