"""The core's `ChatPlatform` on Slack's Web API (slack_sdk's AsyncWebClient).

Every call goes through a client that retries 429s after Retry-After, 5xx and dropped
connections. History is paginated; display names come from `users.info`, cached.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import blocks
from adapters.slack.auth import BotIdentity, Workspaces
from adapters.slack.hosts import TokenHosts
from adapters.slack.text import (
    addresses,
    datetime_to_ts,
    mentioned_users,
    to_plain,
    ts_to_datetime,
)
from bot import sentences as messages
from bot.errors import PermanentJobError, TransientJobError
from bot.ports import ChatMessage, FileRef, Place, Reply, ReplyTarget, TranscriptReply
from summarizer.errors import MediaError, MediaTooLargeError

log = logging.getLogger(__name__)

# Message subtypes that are conversation; joins, topic changes, huddles etc. are not.
CONVERSATION_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message", "bot_message"}
NOT_READABLE = {"not_in_channel", "channel_not_found", "missing_scope"}
MAX_REDIRECTS = 5  # file downloads: each hop is checked like the first URL
MAX_PAGES = 100
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{4,}")  # what Slack's channel ids look like
MAX_THREADS = 200  # threads of a channel window whose replies are fetched
NAME_TTL = 3600.0


def retry_handlers() -> list[AsyncRetryHandler]:
    """Retry what Slack asks to retry: 429 after Retry-After, 500/503, dropped connections."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
    ]


# Message metadata marking a post with its delivery key (see `post_marked`).
MARK_EVENT = "balafon_delivery"
# How far before a delivery began its retry looks for its post (clocks differ a little).
MARK_MARGIN = timedelta(minutes=2)


def mark(key: str, part: int) -> dict[str, Any]:
    return {"event_type": MARK_EVENT, "event_payload": {"key": key, "part": part}}


@dataclass
class Marked:
    """What a retried delivery finds already posted: message ids by part, or the file."""

    parts: dict[int, str] = field(default_factory=dict)
    file_id: str | None = None


def file_ref(raw: dict[str, Any]) -> FileRef:
    return FileRef(
        id=raw["id"],
        name=raw.get("name") or raw.get("title") or raw["id"],
        mimetype=raw.get("mimetype"),
        size=raw.get("size"),
        url=raw.get("url_private_download") or raw.get("url_private"),
    )


class SlackPlatform:
    """Talks to Slack for the core: posts, edits, history, files, permalinks, membership."""

    name = "slack"

    def __init__(self, *, api_url: str, workspaces: Workspaces) -> None:
        self.api_url = api_url
        self.workspaces = workspaces
        self.session: aiohttp.ClientSession | None = None
        self.client = self._new_client(None)  # tokenless: OAuth exchange, Socket Mode
        self._clients: dict[str, AsyncWebClient] = {}
        self._people: dict[tuple[str, str], tuple[float, asyncio.Future]] = {}
        self.hosts = TokenHosts(api_url)  # ValueError for a non-https API URL

    def _new_client(self, token: str | None) -> AsyncWebClient:
        return AsyncWebClient(
            token=token,
            base_url=self.api_url,
            session=self.session,
            retry_handlers=retry_handlers(),
        )

    async def open(self) -> None:
        """One HTTP connection pool for all Web API calls (made on the running loop)."""
        if self.session is None:
            self.session = aiohttp.ClientSession()
            self.client.session = self.session
            for client in self._clients.values():
                client.session = self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
            self.client.session = None
            self._clients.clear()

    def client_for(self, token: str) -> AsyncWebClient:
        client = self._clients.get(token)
        if client is None:
            if len(self._clients) > 1000:  # rotated tokens: forget the old ones
                self._clients.clear()
            client = self._clients[token] = self._new_client(token)
        return client

    async def me(self, team_id: str) -> tuple[BotIdentity, AsyncWebClient]:
        identity = await self.workspaces.identity(team_id)
        return identity, self.client_for(identity.token)

    # --- people -----------------------------------------------------------------------

    async def person(self, team_id: str, user_id: str) -> tuple[str, str | None]:
        """(display name, time zone) of a user; one users.info per user and hour, even when
        many events ask at once."""
        key = (team_id, user_id)
        cached = self._people.get(key)
        if cached is None or cached[0] < time.monotonic():
            lookup = asyncio.ensure_future(self._lookup_person(team_id, user_id))
            cached = self._people[key] = (time.monotonic() + NAME_TTL, lookup)
        try:
            return await asyncio.shield(cached[1])
        except Exception:
            self._people.pop(key, None)
            raise

    async def _lookup_person(self, team_id: str, user_id: str) -> tuple[str, str | None]:
        _, client = await self.me(team_id)
        try:
            user = (await client.users_info(user=user_id))["user"]
        except SlackApiError as exc:
            log.warning("users.info %s: %s", user_id, exc.response.get("error"))
            return user_id, None
        profile = user.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or user_id
        )
        return name, user.get("tz")

    async def names(self, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
        return {uid: (await self.person(team_id, uid))[0] for uid in sorted(set(user_ids))}

    async def chat_messages(self, team_id: str, raws: list[dict[str, Any]]) -> list[ChatMessage]:
        """Slack message objects as the core's messages (plain text, names resolved)."""
        me, _ = await self.me(team_id)
        wanted = [
            r
            for r in raws
            if r.get("subtype") in CONVERSATION_SUBTYPES
            and not addresses(r.get("text", ""), me.bot_user_id)  # commands to the bot
        ]
        ids = set()
        for raw in wanted:
            ids |= mentioned_users(raw.get("text", ""))
            if raw.get("user") and not raw.get("bot_id"):
                ids.add(raw["user"])
        names = await self.names(team_id, ids)
        return [self.chat_message(raw, names, me) for raw in wanted]

    @staticmethod
    def chat_message(raw: dict[str, Any], names: dict[str, str], me: BotIdentity) -> ChatMessage:
        user = raw.get("user")
        from_bot = bool(
            (user and user == me.bot_user_id) or (raw.get("bot_id") and raw["bot_id"] == me.bot_id)
        )
        author = (
            names.get(user or "")
            or raw.get("username")
            or (raw.get("bot_profile") or {}).get("name")
            or user
            or "unknown"
        )
        thread = raw.get("thread_ts")
        return ChatMessage(
            id=raw["ts"],
            author_id=user,
            author_name=author,
            text=to_plain(raw.get("text", ""), names),
            at=ts_to_datetime(raw["ts"]),
            thread=thread if thread and thread != raw["ts"] else None,
            files=tuple(file_ref(f) for f in raw.get("files", []) if f.get("id")),
            from_bot=from_bot,
        )

    # --- reading ----------------------------------------------------------------------

    @staticmethod
    async def _pages(
        method: Callable[..., Awaitable[Any]], key: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(MAX_PAGES):
            page = await method(**kwargs, **({"cursor": cursor} if cursor else {}))
            items.extend(page.get(key) or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return items

    async def fetch_messages(
        self,
        place: Place,
        *,
        oldest: datetime | None = None,
        latest: datetime | None = None,
    ) -> list[ChatMessage]:
        _, client = await self.me(place.workspace)
        window = {
            "oldest": datetime_to_ts(oldest) if oldest else None,
            "latest": datetime_to_ts(latest) if latest else None,
        }
        try:
            if place.thread:
                raws = await self._pages(
                    client.conversations_replies,
                    "messages",
                    channel=place.channel,
                    ts=place.thread,
                    limit=200,
                )
            else:
                raws = await self._pages(
                    client.conversations_history,
                    "messages",
                    channel=place.channel,
                    inclusive=True,
                    limit=200,
                    **window,
                )
                raws += await self._thread_replies(client, place.channel, raws, oldest)
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_READABLE:
                text = messages.SLACK_NOT_IN_CHANNEL.format(channel=place.channel)
                raise PermanentJobError(text) from exc
            raise
        found = await self.chat_messages(place.workspace, raws)
        if not place.thread:
            found = [
                m
                for m in found
                if (oldest is None or m.at >= oldest) and (latest is None or m.at <= latest)
            ]
        return sorted(found, key=lambda m: m.at)

    async def _thread_replies(
        self,
        client: AsyncWebClient,
        channel: str,
        roots: list[dict[str, Any]],
        oldest: datetime | None,
    ) -> list[dict[str, Any]]:
        """Replies in the window's threads: channel history holds only the roots."""
        since = oldest.timestamp() if oldest else 0.0
        threads = [
            r["ts"]
            for r in roots
            if r.get("reply_count") and float(r.get("latest_reply") or r["ts"]) >= since
        ]
        if len(threads) > MAX_THREADS:
            log.warning("channel %s: only the last %d threads are read", channel, MAX_THREADS)
            threads = threads[:MAX_THREADS]  # history is newest first
        replies: list[dict[str, Any]] = []
        for ts in threads:
            found = await self._pages(
                client.conversations_replies, "messages", channel=channel, ts=ts, limit=200
            )
            replies.extend(r for r in found if r.get("ts") != ts)
        return replies

    async def thread_root(self, place: Place) -> dict[str, Any] | None:
        """The first message of `place.thread` (to find the recording a reply refers to)."""
        if not place.thread:
            return None
        _, client = await self.me(place.workspace)
        found = await client.conversations_replies(channel=place.channel, ts=place.thread, limit=1)
        return next(iter(found.get("messages") or []), None)

    async def file_info(self, team_id: str, file_id: str) -> dict[str, Any]:
        _, client = await self.me(team_id)
        return (await client.files_info(file=file_id))["file"]

    async def permalink(self, place: Place, message_id: str) -> str | None:
        _, client = await self.me(place.workspace)
        found = await client.chat_getPermalink(channel=place.channel, message_ts=message_id)
        return found.get("permalink")

    async def find_channel(self, place: Place, reference: str) -> str | None:
        """A channel id (`<#C…|name>` in a command): `conversations.info`; a name (`#name`
        that Slack did not turn into a link, so probably none): `conversations.list`.
        None when Slack knows no such channel, or none the bot may see (a private channel
        it is not in); SlackApiError when Slack cannot say."""
        _, client = await self.me(place.workspace)
        if CHANNEL_ID.fullmatch(reference):
            try:
                found = await client.conversations_info(channel=reference)
            except SlackApiError as exc:
                if exc.response.get("error") == "channel_not_found":
                    return None
                raise
            return (found.get("channel") or {}).get("id") or reference
        name = reference.lstrip("#").lower()
        for channel in await self._pages(
            client.conversations_list,
            "channels",
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=1000,
        ):
            if name in (channel.get("name"), channel.get("name_normalized")):
                return channel["id"]
        return None

    async def is_member(self, place: Place, user_id: str) -> bool:
        _, client = await self.me(place.workspace)
        try:
            members = await self._pages(
                client.conversations_members, "members", channel=place.channel, limit=1000
            )
        except SlackApiError as exc:
            log.info("conversations.members %s: %s", place.channel, exc.response.get("error"))
            return False  # when in doubt, refuse
        return user_id in members

    async def can_manage(self, place: Place, user_id: str) -> bool:
        """Workspace admins and owners (`users.info`, asked afresh: rights can be revoked)
        manage every channel; a direct message is its one person's. Slack's channel
        managers are not readable by a bot, so ADMIN_USERS names them. Guests, people of
        another organisation (Slack Connect) and errors: no."""
        if place.channel.startswith("D"):
            return bool(user_id)
        _, client = await self.me(place.workspace)
        try:
            user = (await client.users_info(user=user_id))["user"]
        except SlackApiError as exc:
            log.info("users.info %s: %s", user_id, exc.response.get("error"))
            return False
        if user.get("deleted") or user.get("is_bot") or user.get("is_restricted"):
            return False
        if user.get("is_ultra_restricted") or user.get("team_id") not in (None, place.workspace):
            return False
        return any(user.get(flag) is True for flag in ("is_admin", "is_owner", "is_primary_owner"))

    async def forget(self, place: Place) -> None:
        """Nothing to do: this adapter keeps nothing of a channel (the core keeps its copies,
        deleted by `forget`; the messages in Slack are the workspace's)."""

    # --- files ------------------------------------------------------------------------

    async def download(self, place: Place, file: FileRef, dest: Path, *, max_bytes: int) -> Path:
        me, _ = await self.me(place.workspace)
        url = file.url
        if not url:
            info = await self.file_info(place.workspace, file.id)
            url = info.get("url_private_download") or info.get("url_private")
        if not url or not self.hosts.may_receive_token(url):
            raise MediaError(messages.SLACK_NO_FILE_URL)
        limit_mb = round(max_bytes / 2**20)
        headers = {"Authorization": f"Bearer {me.token}"}
        timeout = httpx.Timeout(60.0, connect=10.0)
        async with httpx.AsyncClient(follow_redirects=False, timeout=timeout) as http:
            response = await self._follow(http, url, headers)
            try:
                return await self._save(response, dest, max_bytes, limit_mb)
            finally:
                await response.aclose()

    async def _follow(
        self, http: httpx.AsyncClient, url: str, headers: dict[str, str]
    ) -> httpx.Response:
        """GET with the token, following redirects only to hosts that may receive it."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await http.send(http.build_request("GET", url, headers=headers), stream=True)
            if not response.is_redirect:
                return response
            await response.aclose()
            url = str(response.url.join(response.headers.get("location", "")))
            if not self.hosts.may_receive_token(url):
                log.warning("file download redirected off Slack's file hosts: refused")
                raise MediaError(messages.SLACK_NO_FILE_URL)
        raise MediaError(messages.SLACK_NO_FILE_URL)

    @staticmethod
    async def _save(response: httpx.Response, dest: Path, max_bytes: int, limit_mb: int) -> Path:
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientJobError(f"file download: HTTP {response.status_code}")  # retried
        if response.status_code >= 400:
            text = messages.SLACK_DOWNLOAD_FAILED.format(status=response.status_code)
            raise MediaError(text)
        if response.headers.get("content-type", "").startswith("text/html"):
            raise MediaError(messages.SLACK_DOWNLOAD_REFUSED)  # Slack's login page
        if int(response.headers.get("content-length") or 0) > max_bytes:
            raise MediaTooLargeError(messages.SLACK_DOWNLOAD_TOO_LARGE.format(limit=limit_mb))
        size = 0
        with dest.open("wb") as out:
            async for chunk in response.aiter_bytes(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLargeError(
                        messages.SLACK_DOWNLOAD_TOO_LARGE.format(limit=limit_mb)
                    )
                out.write(chunk)
        return dest

    # --- writing ----------------------------------------------------------------------

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        return await self._post(target, reply)

    async def _post(
        self,
        target: ReplyTarget,
        reply: Reply,
        *,
        key: str | None = None,
        earlier: Marked | None = None,
    ) -> str:
        """Post `reply`; with `key`, each message carries it in its metadata, and the
        parts (or the file) found in `earlier` are not posted again."""
        place = target.place
        _, client = await self.me(place.workspace)
        if isinstance(reply, TranscriptReply) and not target.ephemeral_to:
            text = blocks.transcript_text(reply)
            if len(text) > blocks.INLINE_TRANSCRIPT_CHARS:
                if earlier is not None and earlier.file_id:
                    return f"file:{earlier.file_id}"
                return await self._upload(client, place, reply, text)
        payloads = blocks.render(reply)
        if target.ephemeral_to:  # cannot carry a file: the first messages only
            return await self._post_ephemeral(client, target, payloads[: blocks.MAX_MESSAGES])
        overflow = len(payloads) > blocks.MAX_MESSAGES
        if overflow:  # a few messages in the thread, then the whole reply as a file
            payloads = payloads[: blocks.MAX_MESSAGES - 1]
        first: str | None = None
        for part, payload in enumerate(payloads):
            if earlier is not None and part in earlier.parts:
                first = first or earlier.parts[part]
                continue
            try:
                found = await client.chat_postMessage(
                    channel=place.channel,
                    thread_ts=place.thread,
                    unfurl_links=False,
                    unfurl_media=False,
                    **({"metadata": mark(key, part)} if key else {}),
                    **payload,
                )
            except SlackApiError as exc:
                if exc.response.get("error") in NOT_READABLE and target.response_url:
                    # A slash command in a channel the bot is not in: answer through it.
                    await self._respond(target.response_url, payloads, "in_channel")
                    return f"response:{target.response_url[-24:]}"
                raise
            first = first or found["ts"]
        if overflow and not (earlier is not None and earlier.file_id):
            name, text = blocks.overflow_file(reply)
            await self._upload_text(client, place, name, text, messages.SLACK_REST_IN_FILE)
        assert first is not None
        return first

    async def _post_ephemeral(
        self, client: AsyncWebClient, target: ReplyTarget, payloads: list[blocks.Message]
    ) -> str:
        if target.response_url:
            await self._respond(target.response_url, payloads, "ephemeral")
            return f"ephemeral:{target.response_url[-24:]}"
        first = None
        for payload in payloads:
            found = await client.chat_postEphemeral(
                channel=target.place.channel,
                user=target.ephemeral_to,
                thread_ts=target.place.thread,
                **payload,
            )
            first = first or found.get("message_ts")
        return f"ephemeral:{first}"

    async def _respond(self, url: str, payloads: list[blocks.Message], response_type: str) -> None:
        if not self.hosts.is_slack(url):
            raise PermanentJobError("The reply address Slack gave is not a Slack address.")
        hook = AsyncWebhookClient(url, session=self.session, retry_handlers=retry_handlers())
        for payload in payloads:
            answer = await hook.send(response_type=response_type, replace_original=False, **payload)
            if answer.status_code >= 400:
                raise RuntimeError(f"response_url: HTTP {answer.status_code} {answer.body}")

    async def _upload(
        self, client: AsyncWebClient, place: Place, reply: TranscriptReply, text: str
    ) -> str:
        """A long transcript goes into the thread as a text file."""
        comment = blocks.transcript_summary(reply)
        return await self._upload_text(client, place, reply.filename, text, comment)

    async def _upload_text(
        self, client: AsyncWebClient, place: Place, filename: str, text: str, comment: str
    ) -> str:
        found = await client.files_upload_v2(
            channel=place.channel,
            thread_ts=place.thread,
            content=text,
            filename=filename,
            title=filename,
            initial_comment=blocks.guard(comment),
        )
        return f"file:{found['file']['id']}"

    async def update(self, target: ReplyTarget, message_id: str, reply: Reply) -> None:
        if ":" in message_id:  # ephemeral posts and files cannot be edited
            await self.post(target, reply)
            return
        _, client = await self.me(target.place.workspace)
        payload = blocks.render(reply)[0]
        await client.chat_update(channel=target.place.channel, ts=message_id, **payload)

    # --- marked posts: a delivery retried after a crash finds what was posted -----------

    async def post_marked(
        self, target: ReplyTarget, reply: Reply, *, key: str, since: datetime | None
    ) -> str:
        """Post with the delivery key in each message's metadata. On a retried delivery
        (`since` set), first read the thread (or the channel) from shortly before `since`
        and skip what the bot already posted under that key."""
        earlier = None
        if since is not None and not target.ephemeral_to:
            try:
                earlier = await self._find_marked(target, key, reply, since)
            except SlackApiError as exc:  # unreadable: a duplicate beats a lost reply
                log.warning("cannot look for delivery %s: %s", key, exc.response.get("error"))
        return await self._post(target, reply, key=key, earlier=earlier)

    async def _find_marked(
        self, target: ReplyTarget, key: str, reply: Reply, since: datetime
    ) -> Marked:
        place = target.place
        me, client = await self.me(place.workspace)
        oldest = datetime_to_ts(since - MARK_MARGIN)
        if place.thread:
            raws = await self._pages(
                client.conversations_replies,
                "messages",
                channel=place.channel,
                ts=place.thread,
                oldest=oldest,
                include_all_metadata=True,
                limit=200,
            )
        else:
            raws = await self._pages(
                client.conversations_history,
                "messages",
                channel=place.channel,
                oldest=oldest,
                include_all_metadata=True,
                limit=200,
            )
        found = Marked()
        filename = blocks.overflow_file(reply)[0]
        for raw in raws:
            mine = (me.bot_id and raw.get("bot_id") == me.bot_id) or (
                me.bot_user_id and raw.get("user") == me.bot_user_id
            )
            if not mine or float(raw.get("ts") or 0) < float(oldest):
                continue
            meta = raw.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == MARK_EVENT and payload.get("key") == key:
                found.parts.setdefault(int(payload.get("part") or 0), raw["ts"])
            # Uploads carry no metadata: a file of the same name the bot shared here since
            # the delivery began is taken to be it.
            for file in raw.get("files") or []:
                if filename and file.get("name") == filename and not found.file_id:
                    found.file_id = file.get("id")
        return found
