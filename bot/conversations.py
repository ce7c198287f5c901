"""Conversations as the pipeline reads them: the stored channel of a place, messages
gathered for a window (store first, platform history back-filled) with the segments of
recordings shared there, links back to the messages a recap cites, and conversion to the
summarizer's types."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.ports import ChatMessage, ChatPlatform, HistoryUnavailableError, Place
from bot.recordings import FILE_PREFIX, latest_per_file, linkable_message, segment_messages
from bot.storage.base import row_id
from bot.storage.models import Channel
from bot.storage.repo import Repository
from summarizer.naming import is_speaker_label
from summarizer.types import Conversation, Message, Recap

log = logging.getLogger(__name__)
MAX_LINKS = 30


def to_conversation(chat: Iterable[ChatMessage]) -> Conversation:
    """People's messages with text, as the summarizer's conversation. A recording's speaker
    label nobody named (no platform id behind it) is marked unnamed: it owns no item."""
    messages = [
        Message(author=m.author_name, author_id=m.author_id, text=m.text, at=m.at, ref=m.id)
        for m in chat
        if not m.from_bot and m.text.strip()
    ]
    unnamed = {m.author for m in messages if not m.author_id and is_speaker_label(m.author)}
    return Conversation(messages=messages, unnamed=sorted(unnamed))


class Conversations:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        # Channel windows this process has filled from platform history: channel id -> since.
        self._synced_since: dict[int, datetime] = {}

    # Reads use `get_channel`; `get_or_create_channel` is for where a message, command or
    # result arrives; `update_channel` writes a setting.

    async def get_channel(self, place: Place) -> Channel | None:
        """The stored channel of `place`, if the bot has ever stored one (never writes)."""

        def lookup() -> Channel | None:
            workspace = self.repo.get_workspace(place.platform, place.workspace)
            if workspace is None:
                return None
            return self.repo.get_channel(row_id(workspace), place.channel)

        return await asyncio.to_thread(lookup)

    async def get_or_create_channel(self, place: Place) -> Channel:
        """The stored channel of `place`, created on first sight."""

        def lookup() -> Channel:
            workspace = self.repo.get_or_create_workspace(place.platform, place.workspace)
            return self.repo.get_or_create_channel(row_id(workspace), place.channel)

        return await asyncio.to_thread(lookup)

    async def update_channel(self, place: Place, **fields: Any) -> Channel:
        """Change the settings of `place`'s channel (auto-transcribe, retention…)."""

        def write() -> Channel:
            workspace = self.repo.get_or_create_workspace(place.platform, place.workspace)
            return self.repo.update_channel(row_id(workspace), place.channel, **fields)

        return await asyncio.to_thread(write)

    def forget_window(self, channel_id: int) -> None:
        """The channel was emptied: the next window is filled from history again."""
        self._synced_since.pop(channel_id, None)

    async def record(self, place: Place, message: ChatMessage) -> None:
        if message.from_bot or not message.text.strip():
            return
        channel = await self.get_or_create_channel(place)
        await asyncio.to_thread(
            self.repo.upsert_message,
            channel,
            external_id=message.id,
            thread_id=message.thread,
            author_id=message.author_id,
            author_name=message.author_name,
            text=message.text,
            sent_at=message.at,
        )

    async def gather(
        self, platform: ChatPlatform, source: Place, since: datetime | None, until: datetime
    ) -> list[ChatMessage]:
        """Thread: from the platform. Channel window: from the store, after filling it from
        platform history once per process and channel (edits and deletes applied). A
        platform that cannot read history (Teams without Graph) is answered from the store.
        """
        channel = await self.get_or_create_channel(source)
        chat = await self._chat(platform, source, channel, since, until)
        spoken = await self.recordings(channel, since, until, thread=source.thread)
        return sorted([*chat, *spoken], key=lambda m: m.at) if spoken else chat

    async def recordings(
        self,
        channel: Channel,
        since: datetime | None,
        until: datetime | None,
        *,
        thread: str | None = None,
    ) -> list[ChatMessage]:
        """Segments of the recordings shared in the channel (or thread) that fall inside the
        window, as messages at recorded_at + segment start (bot/recordings.py)."""
        records = await asyncio.to_thread(
            self.repo.transcripts, channel, since=since, until=until, thread=thread
        )
        return [
            message
            for record in latest_per_file(records)
            for message in segment_messages(record, since=since, until=until)
        ]

    async def _chat(
        self,
        platform: ChatPlatform,
        source: Place,
        channel: Channel,
        since: datetime | None,
        until: datetime,
    ) -> list[ChatMessage]:
        channel_id = row_id(channel)
        try:
            if source.thread is not None:
                return await platform.fetch_messages(source)
            synced = self._synced_since.get(channel_id)
            if synced is None or since is None or since < synced:
                await self._fill_from_history(platform, source, channel, since, until)
                if since is not None:
                    self._synced_since[channel_id] = min(since, synced or since)
        except HistoryUnavailableError:
            log.info("no platform history for %s; recapping stored messages", source)
        rows = await asyncio.to_thread(
            self.repo.messages, channel, since=since, until=until, thread=source.thread
        )
        return [
            ChatMessage(
                id=row.external_id,
                author_id=row.author_id,
                author_name=row.author_name,
                text=row.text,
                at=row.sent_at,
                thread=row.thread_id,
            )
            for row in rows
        ]

    async def _fill_from_history(
        self,
        platform: ChatPlatform,
        source: Place,
        channel: Channel,
        since: datetime | None,
        until: datetime,
    ) -> None:
        fetched = await platform.fetch_messages(source, oldest=since, latest=until)
        stored = await asyncio.to_thread(self.repo.messages, channel, since=since, until=until)
        live = {m.id for m in fetched}
        for row in stored:
            if row.external_id not in live:  # deleted while we were not listening
                await asyncio.to_thread(self.repo.delete_message, channel, row.external_id)
        for message in fetched:
            await self.record(source, message)

    @staticmethod
    async def links(platform: ChatPlatform, source: Place, recap: Recap) -> dict[str, str]:
        """Permalinks of the messages the recap's items cite (at most MAX_LINKS)."""
        refs = {
            ref
            for group in (recap.action_items, recap.decisions, recap.open_questions)
            for ref in (item.ref for item in group)
            if ref
        }
        links: dict[str, str] = {}
        for ref in sorted(refs)[:MAX_LINKS]:
            message = linkable_message(ref)  # a moment of a recording: its message
            if message.startswith(FILE_PREFIX):
                continue  # shared by no message (a meeting): nothing to link to
            try:
                if url := await platform.permalink(source, message):
                    links[ref] = url
            except Exception:  # a missing link must not cost the user the recap
                log.warning("no permalink for %s", ref, exc_info=True)
        return links


__all__ = ["Conversations", "to_conversation"]
