"""What people do in the playground, turned into the core's calls (as the Slack listeners do).

- A message that mentions `@balafon` is a command: the mention is removed and the rest goes
  to `handle_command`; the answer (or "working on it", visible to the requester only) goes
  in the message's thread.
- `/recap …` is the slash command: `recap …` for the channel, answered to the requester only
  until the job posts.
- Any other message is recorded, so channel recaps find it; media shared in a channel are
  transcribed when the channel's auto-transcription is on.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from adapters.playground import replies
from adapters.playground.platform import PlaygroundPlatform, place
from adapters.playground.store import ChatLine, PlaygroundStore, StoredFile, StoreError
from bot.commands import slash_text
from bot.inbound import CommandRequest, InboundPort, Outcome, files_for_command
from bot.item_buttons import ACTIONS, VERSION
from bot.ports import (
    FileRef,
    ItemAction,
    ItemActionResult,
    ItemListReply,
    ItemView,
    Reply,
    ReplyTarget,
    TextReply,
)
from summarizer.types import ActionItem

T = TypeVar("T")
SLASH_COMMAND = "/recap"
MAX_TEXT = 10_000
ITEM_ACTIONS = frozenset(ACTIONS.values())
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][\w.-]*)")
_BOT_MENTION = re.compile(r"(?<![\w@])@balafon\b[:,]?", re.IGNORECASE)


def addresses_bot(text: str) -> bool:
    return bool(_BOT_MENTION.search(text))


def command_text(text: str) -> str:
    """The text for the core: the bot's mention removed."""
    return " ".join(_BOT_MENTION.sub(" ", text).split())


def file_key(channel: str, file_id: str) -> str:
    """One transcription per shared file, whether auto-transcription or a mention took it."""
    return f"playground:file:{channel}:{file_id}"


def _zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None
    return name


def relisted(
    stored: dict[str, Any] | None, now: tuple[ActionItem, ItemView] | None
) -> Reply | None:
    """A list message (`my items`, which the core does not keep) with one item as it is
    now; None when the message is not a list showing it."""
    listing = replies.load(stored) if stored else None
    if now is None or not isinstance(listing, ItemListReply):
        return None
    item, view = now
    groups = tuple(
        (
            heading,
            tuple(
                (item.model_copy(update={"ref": old.ref}), view) if shown.id == view.id
                else (old, shown)
                for old, shown in entries
            ),
        )
        for heading, entries in listing.groups
    )  # fmt: skip
    return replace(listing, groups=groups)


def file_ref(file: StoredFile) -> FileRef:
    return FileRef(
        id=file.id, name=file.name, mimetype=file.mimetype, size=file.size, created=file.created
    )


@dataclass(frozen=True)
class Said:
    """The stored message, and the thread the page should open to follow the bot's answer."""

    message_id: int
    open_thread: int | None = None


class Inbound:
    def __init__(self, *, core: InboundPort, platform: PlaygroundPlatform) -> None:
        self.core = core
        self.platform = platform
        self.store: PlaygroundStore = platform.store

    async def _db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(function, *args, **kwargs)

    async def _check(
        self, channel: str, user: str, text: str, thread: int | None
    ) -> tuple[str, int | None]:
        """The author's name and the thread's root; StoreError for anything unknown."""
        person = await self._db(self.store.user, user)
        if person is None:
            raise StoreError(f"Nobody called “{user}” is in the playground.")
        if not await self._db(self.store.has_channel, channel):
            raise StoreError(f"There is no channel #{channel}.")
        if len(text) > MAX_TEXT:
            raise StoreError(f"A message holds at most {MAX_TEXT} characters.")
        if thread is not None:
            thread = await self._db(self.store.thread_root, channel, thread)
        return person["name"], thread

    # --- typing -----------------------------------------------------------------------

    async def say(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        thread: int | None = None,
        timezone: str | None = None,
    ) -> Said:
        text = text.strip()
        if not text:
            raise StoreError("Type a message first.")
        name, thread = await self._check(channel, user, text, thread)
        if text.startswith("/"):
            return await self._slash(channel, user, name, text, _zone(timezone))
        kind = "command" if addresses_bot(text) else "message"
        message_id = await self._db(
            self.store.add_message,
            channel_id=channel,
            kind=kind,
            author_id=user,
            author_name=name,
            text=text,
            thread_id=thread,
        )
        self.platform.changes.notify()
        if kind == "message":
            await self._record(message_id)
            return Said(message_id)

        async def thread_files() -> tuple[FileRef, ...]:
            root = await self._db(self.store.message, thread)  # the recording is up there
            return tuple(file_ref(f) for f in root.files) if root else ()

        files = await files_for_command(
            command_text(text), (), str(thread) if thread else None, thread_files
        )
        return await self._mention(channel, user, text, message_id, thread, files, timezone)

    async def _slash(
        self, channel: str, user: str, name: str, text: str, timezone: str | None
    ) -> Said:
        word, _, rest = text.partition(" ")
        if word.lower() != SLASH_COMMAND:
            raise StoreError(f"{word} is not a command here. Try /recap or /recap help.")
        # Slack shows nobody the command itself; here its author sees what they typed.
        message_id = await self._db(
            self.store.add_message,
            channel_id=channel,
            kind="command",
            author_id=user,
            author_name=name,
            text=text,
            visible_to=user,
        )
        self.platform.changes.notify()
        request = CommandRequest(
            place=place(channel),
            user_id=user,
            text=slash_text(rest.strip()),
            event_key=f"playground:{message_id}",
            via="slash",
            timezone=timezone,
        )
        outcome = await self.core.handle_command(request)
        only_you = ReplyTarget(place=place(channel), ephemeral_to=user)
        if outcome.reply is not None:
            await self.platform.post(only_you, outcome.reply)
        else:
            await self.core.acknowledge(self.platform, only_you, outcome)
        return Said(message_id)

    async def _mention(
        self,
        channel: str,
        user: str,
        text: str,
        message_id: int,
        thread: int | None,
        files: tuple[FileRef, ...],
        timezone: str | None,
    ) -> Said:
        await self.core.claim_media(files, lambda file_id: file_key(channel, file_id))
        key = f"playground:{message_id}"
        request = CommandRequest(
            place=place(channel, thread),
            user_id=user,
            text=command_text(text),
            event_key=key,
            message_id=str(message_id),
            files=files,
            via="mention",
            timezone=_zone(timezone),
            mentions=await self._mentions(text),
        )
        outcome = await self.core.handle_command(request)
        answer_thread = thread or message_id
        await self._show(outcome, ReplyTarget(place=place(channel, answer_thread)), user, key)
        return Said(message_id, open_thread=answer_thread)

    async def _mentions(self, text: str) -> dict[str, str]:
        """`@kofi` -> "kofi" for each person of the playground the text mentions."""
        words = {match.group(1) for match in _MENTION.finditer(text)}
        if not words:
            return {}
        people = {user["id"] for user in await self._db(self.store.users)}
        return {f"@{word}": word.lower() for word in words if word.lower() in people}

    async def _show(self, outcome: Outcome, target: ReplyTarget, user: str, key: str) -> None:
        """The core's immediate answer in the thread, or its "working on it" to the
        requester only (until the job answers)."""
        if outcome.duplicate:
            return
        if outcome.reply is not None:
            await self.core.deliver(f"{key}:reply", self.platform, target, outcome.reply)
        else:  # withdrawn once the job has answered
            await self.core.acknowledge(self.platform, replace(target, ephemeral_to=user), outcome)

    async def _record(self, message_id: int) -> None:
        row = await self._db(self.store.message, message_id)
        if row is not None:
            chat = self.platform.chat_message(row)
            await self.core.record_message(place(row.channel_id), chat)

    # --- uploads ----------------------------------------------------------------------

    async def share(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        file_id: str,
        name: str,
        mimetype: str | None,
        size: int,
        thread: int | None = None,
        timezone: str | None = None,
    ) -> Said:
        """A file (already saved as `platform.file_path(file_id)`) shared with a caption."""
        text = text.strip()
        author, thread = await self._check(channel, user, text, thread)
        kind = "command" if addresses_bot(text) else "message"
        message_id = await self._db(
            self.store.add_message,
            channel_id=channel,
            kind=kind,
            author_id=user,
            author_name=author,
            text=text,
            thread_id=thread,
        )
        stored = await self._db(
            self.store.add_file,
            file_id=file_id,
            message_id=message_id,
            name=name,
            mimetype=mimetype,
            size=size,
        )
        self.platform.changes.notify()
        if kind == "command":
            return await self._mention(
                channel, user, text, message_id, thread, (file_ref(stored),), timezone
            )
        if text:
            await self._record(message_id)
        outcome = await self.core.handle_shared_files(
            CommandRequest(
                place=place(channel, thread),
                user_id=user,
                text="",
                event_key=file_key(channel, file_id),
                message_id=str(message_id),
                files=(file_ref(stored),),
                via="file",
            )
        )
        return Said(message_id, open_thread=(thread or message_id) if outcome.job_id else None)

    # --- edits and deletes ------------------------------------------------------------

    async def _own(self, user: str, message_id: int) -> ChatLine:
        row = await self._db(self.store.message, message_id)
        if row is None or row.deleted_at is not None:
            raise StoreError("That message does not exist any more.")
        if row.author_id != user:
            raise StoreError("You can only change your own messages.")
        return row

    async def edit(self, *, user: str, message_id: int, text: str) -> None:
        row = await self._own(user, message_id)
        text = text.strip()
        if row.kind != "message":
            raise StoreError("Commands to balafon cannot be edited; send a new one.")
        if not text or len(text) > MAX_TEXT:
            raise StoreError(f"A message holds 1 to {MAX_TEXT} characters.")
        await self._db(self.store.edit, message_id, text)
        self.platform.changes.notify()
        edited = await self._db(self.store.message, message_id)
        if edited is not None:  # else forgotten for good meanwhile: nothing left to record
            await self.core.record_edit(place(row.channel_id), self.platform.chat_message(edited))

    async def delete(self, *, user: str, message_id: int) -> None:
        row = await self._own(user, message_id)
        removed = await self._db(self.store.delete, message_id)
        for file in removed:
            await self._db(Path.unlink, self.platform.file_path(file.id), True)
        self.platform.changes.notify()
        await self.core.record_delete(place(row.channel_id), str(message_id))

    # --- action item buttons ----------------------------------------------------------

    async def item_action(
        self,
        *,
        user: str,
        item_id: int,
        action: str,
        version: str,
        message_id: int,
        owner: str | None = None,
        key: str | None = None,
    ) -> ItemActionResult:
        """A checkbox, menu or button of an item on the bot's message `message_id`: the
        core applies it; the message is re-rendered for every page, and a notice (refused,
        stale) goes to the clicker alone."""
        if await self._db(self.store.user, user) is None:
            raise StoreError(f"Nobody called “{user}” is in the playground.")
        row = await self._db(self.store.message, message_id)
        if row is None or row.kind != "bot" or row.deleted_at or row.visible_to not in (None, user):
            raise StoreError("That message does not exist any more.")
        if action not in ITEM_ACTIONS or not VERSION.fullmatch(version) or item_id <= 0:
            raise StoreError("That is not an action item button.")
        owner_name = None
        if action == "reassign":
            person = await self._db(self.store.user, owner or "")
            if person is None:
                raise StoreError("Pick someone of the playground.")
            owner_name = person["name"]
        where = place(row.channel_id, row.thread_id)
        click = ItemAction(
            place=where,
            user_id=user,
            item_id=item_id,
            action=action,
            event_key=f"playground:item:{key or uuid.uuid4().hex}",
            owner_id=owner if action == "reassign" else None,
            owner_name=owner_name,
            version=version,
            message_id=str(message_id),
        )
        result = await self.core.handle_item_action(click)
        shown = result.reply or relisted(row.reply, result.item)
        if shown is not None:
            await self.platform.update(ReplyTarget(place=where), str(message_id), shown)
        if result.notice:
            only_you = ReplyTarget(place=where, ephemeral_to=user)
            await self.platform.post(only_you, TextReply(text=result.notice))
        return result
