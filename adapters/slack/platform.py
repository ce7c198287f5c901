"""The core's `ChatPlatform` on Slack's Web API (slack_sdk's AsyncWebClient).

Every call goes through a client that retries 429s after Retry-After, 5xx and dropped
connections. History is paginated; display names come from `users.info`, cached.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import sentences
from adapters.slack.auth import BotIdentity
from adapters.slack.posting import NOT_READABLE
from adapters.slack.private import SlackPrivate
from adapters.slack.text import (
    addresses,
    datetime_to_ts,
    mentioned_users,
    to_plain,
    ts_to_datetime,
)
from bot.downloads import DownloadSentences, save_response
from bot.errors import PermanentJobError
from bot.ports import ChatMessage, FileRef, Place
from summarizer.errors import MediaError

log = logging.getLogger(__name__)

# Message subtypes that are conversation; joins, topic changes, huddles etc. are not.
CONVERSATION_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message", "bot_message"}
MAX_REDIRECTS = 5  # file downloads: each hop is checked like the first URL
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{4,}")  # what Slack's channel ids look like
MAX_THREADS = 200  # threads of a channel window whose replies are fetched
NAME_TTL = 3600.0
DOWNLOAD_SENTENCES = DownloadSentences(
    refused=sentences.DOWNLOAD_FAILED,
    not_media=sentences.DOWNLOAD_REFUSED,  # Slack's login page
    too_large=sentences.DOWNLOAD_TOO_LARGE,
)


def file_ref(raw: dict[str, Any]) -> FileRef:
    created = raw.get("created")
    return FileRef(
        id=raw["id"],
        name=raw.get("name") or raw.get("title") or raw["id"],
        mimetype=raw.get("mimetype"),
        size=raw.get("size"),
        url=raw.get("url_private_download") or raw.get("url_private"),
        # When the file was uploaded (epoch seconds): the recording's end, for its dates.
        created=datetime.fromtimestamp(created, UTC) if isinstance(created, int | float) else None,
    )


class SlackPlatform(SlackPrivate):
    """Talks to Slack for the core: posts, edits, history, files, permalinks, membership."""

    name = "slack"
    managers = sentences.MANAGERS

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

    async def display_name(self, place: Place, user_id: str) -> str | None:
        """For people named in a command (`speaker 1 is @kofi`)."""
        name, _ = await self.person(place.workspace, user_id)
        return name

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
                text = sentences.NOT_IN_CHANNEL.format(channel=place.channel)
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

    async def is_direct(self, place: Place) -> bool:
        return place.channel.startswith("D")

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
            raise MediaError(sentences.NO_FILE_URL)
        headers = {"Authorization": f"Bearer {me.token}"}
        timeout = httpx.Timeout(60.0, connect=10.0)
        async with httpx.AsyncClient(follow_redirects=False, timeout=timeout) as http:
            response = await self._follow(http, url, headers)
            try:
                return await save_response(
                    response, dest, max_bytes=max_bytes, sentences=DOWNLOAD_SENTENCES
                )
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
                raise MediaError(sentences.NO_FILE_URL)
        raise MediaError(sentences.NO_FILE_URL)
