"""The core's `ChatPlatform` on the playground's own store.

Posting writes a message row (and a change-log event) and wakes the live streams; history
is read back from the same rows, so the playground is a platform like any other to the
core: it never learns that no Slack or Teams is involved.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path

from adapters.playground import replies
from adapters.playground.private import PlaygroundPrivate
from adapters.playground.store import BOT_ID, BOT_NAME, ChatLine, PlaygroundStore, slug
from bot.errors import PermanentJobError
from bot.ports import ChatMessage, FileRef, Place, Reply, ReplyTarget
from summarizer.errors import MediaError, MediaTooLargeError

PLATFORM = "playground"
WORKSPACE = "local"


def place(channel: str, thread: int | str | None = None) -> Place:
    return Place(
        platform=PLATFORM,
        workspace=WORKSPACE,
        channel=channel,
        thread=str(thread) if thread is not None else None,
    )


def permalink(channel: str, message_id: int | str) -> str:
    return f"/playground/?channel={channel}&message={message_id}"


def _message_id(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class Changes:
    """Wakes the live streams of this process when the store changed."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters.add(event)
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        self._waiters.discard(event)

    def notify(self) -> None:
        for event in self._waiters:
            event.set()


class PlaygroundPlatform(PlaygroundPrivate):
    name = PLATFORM
    files_are_local = True  # uploads are on this machine: "Receiving", not "Downloading"

    def __init__(self, *, store: PlaygroundStore, files_dir: Path) -> None:
        self.store = store
        self.files_dir = files_dir
        self.changes = Changes()

    def file_path(self, file_id: str) -> Path:
        return self.files_dir / file_id

    # --- writing ----------------------------------------------------------------------

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        where = target.place
        if not await asyncio.to_thread(self.store.has_channel, where.channel):
            raise PermanentJobError(f"There is no channel #{where.channel} in the playground.")
        message_id = await asyncio.to_thread(
            self.store.add_message,
            channel_id=where.channel,
            kind="bot",
            author_id=BOT_ID,
            author_name=BOT_NAME,
            text=replies.plain_text(reply),
            thread_id=_message_id(where.thread),
            reply=replies.dump(reply),
            visible_to=target.ephemeral_to,
        )
        self.changes.notify()
        return str(message_id)

    async def update(self, target: ReplyTarget, message_id: str, reply: Reply) -> None:
        found = _message_id(message_id)
        if found is None:
            return
        await asyncio.to_thread(
            self.store.set_reply, found, replies.dump(reply), replies.plain_text(reply)
        )
        self.changes.notify()

    async def withdraw(self, target: ReplyTarget, message_id: str) -> None:
        """The requester's "working on it", once the job has answered (bot.ports)."""
        found = _message_id(message_id)
        if found is not None and await asyncio.to_thread(self.store.withdraw, found):
            self.changes.notify()

    # --- reading ----------------------------------------------------------------------

    @staticmethod
    def chat_message(row: ChatLine) -> ChatMessage:
        return ChatMessage(
            id=str(row.id),
            author_id=row.author_id,
            author_name=row.author_name,
            text=row.text,
            at=row.created_at,
            thread=str(row.thread_id) if row.thread_id else None,
            files=tuple(
                FileRef(id=f.id, name=f.name, mimetype=f.mimetype, size=f.size, created=f.created)
                for f in row.files
            ),
            from_bot=row.from_bot,
        )

    async def fetch_messages(
        self, place: Place, *, oldest: datetime | None = None, latest: datetime | None = None
    ) -> list[ChatMessage]:
        """The conversation: people's messages and the bot's public posts, not the commands
        addressed to the bot (as on Slack), not anyone's ephemeral view."""
        thread = _message_id(place.thread)
        if place.thread is not None and thread is None:
            return []
        rows = await asyncio.to_thread(
            self.store.history, place.channel, thread_id=thread, oldest=oldest, latest=latest
        )
        return [self.chat_message(row) for row in rows if row.kind != "command"]

    async def download(self, place: Place, file: FileRef, dest: Path, *, max_bytes: int) -> Path:
        stored = await asyncio.to_thread(self.store.file, file.id)
        source = self.file_path(file.id)
        if stored is None or stored.channel_id != place.channel or not source.is_file():
            raise MediaError("the file is no longer in the playground (was it deleted?).")
        if source.stat().st_size > max_bytes:
            raise MediaTooLargeError(f"it is larger than the {max_bytes // 2**20} MB limit.")
        await asyncio.to_thread(shutil.copyfile, source, dest)
        return dest

    async def permalink(self, place: Place, message_id: str) -> str | None:
        return permalink(place.channel, message_id) if message_id.isdigit() else None

    async def find_channel(self, place: Place, reference: str) -> str | None:
        """Channel ids are their names (`#design`), as typed or in any case."""
        channel = slug(reference)
        return channel if await asyncio.to_thread(self.store.has_channel, channel) else None

    async def is_member(self, place: Place, user_id: str) -> bool:
        """Every person of the playground is in every channel (it is one local team)."""
        user = await asyncio.to_thread(self.store.user, user_id)
        return user is not None and await asyncio.to_thread(self.store.has_channel, place.channel)

    async def display_name(self, place: Place, user_id: str) -> str | None:
        """For people named in a command (`speaker 1 is @kofi`)."""
        user = await asyncio.to_thread(self.store.user, user_id)
        return user["name"] if user else None

    async def can_manage(self, place: Place, user_id: str) -> bool:
        """Everyone manages every channel: the playground is one person's local sandbox
        (only this machine, with the access token, reaches it), with no roles to honour."""
        return await self.is_member(place, user_id)

    async def forget(self, place: Place) -> None:
        """The playground keeps the chat itself: `forget` clears the channel's messages
        (tombstones) and deletes its uploaded files from DATA_DIR/playground."""
        gone = await asyncio.to_thread(self.store.forget_channel, place.channel)
        for stored in gone:
            await asyncio.to_thread(self.file_path(stored.id).unlink, missing_ok=True)
        self.changes.notify()
