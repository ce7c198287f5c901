"""What adapters call: `InboundPort`, and `Inbound`, the core's side of it.

An adapter verifies a platform request, turns it into one of these calls and acknowledges
the platform at once. Commands are dispatched to the feature that parsed them
(bot/features/); a retried event (same `event_key`) is a duplicate: jobs by their
idempotency key, immediate answers by the processed-events table (`claim_event`). One
database write per command keeps the platform's ack fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Protocol, runtime_checkable

from bot import sentences
from bot.commands import CommandError, CommandRequest, Help, Outcome, Unknown, parse_with
from bot.features import ALL_CAPABILITIES, COMMANDS, help_text
from bot.features.items import service as items_service
from bot.features.transcription import TRANSCRIBE_REPLY, enqueue, is_media
from bot.ports import (
    ChannelLookup,
    ChatMessage,
    ChatPlatform,
    ErrorReply,
    FileRef,
    ItemAction,
    ItemActionResult,
    Place,
    Reply,
    ReplyTarget,
    TextReply,
)
from bot.services import Services
from bot.storage.base import row_id

log = logging.getLogger(__name__)


@runtime_checkable
class HelpNotes(Protocol):
    """A platform that says what it can do (`capabilities`, see bot.features) and adds
    its own lines to the help (`help_notes`)."""

    capabilities: frozenset[str]
    help_notes: tuple[str, ...]


@runtime_checkable
class NamesManagers(Protocol):
    """A platform that says who manages a channel there (its `can_manage`'s rule), for
    "only … can change this"."""

    managers: str


class InboundPort(Protocol):
    """The calls an adapter makes into the core."""

    services: Services

    async def claim_event(self, key: str) -> bool: ...

    async def claim_media(self, files: Iterable[FileRef], key: Callable[[str], str]) -> None: ...

    async def handle_command(self, request: CommandRequest) -> Outcome: ...

    async def handle_shared_files(self, request: CommandRequest) -> Outcome: ...

    async def record_message(self, place: Place, message: ChatMessage) -> None: ...

    async def record_edit(self, place: Place, message: ChatMessage) -> None: ...

    async def record_delete(self, place: Place, message_id: str) -> None: ...

    async def record_file_deleted(self, place: Place, file_id: str) -> None: ...

    async def handle_item_action(self, action: ItemAction) -> ItemActionResult:
        """A click on an action item's button: checked (who may change it, stale cards),
        applied with its history, the item's other posts re-rendered in the background."""
        ...

    async def deliver(
        self, key: str, platform: ChatPlatform, target: ReplyTarget, reply: Reply
    ) -> str: ...

    async def acknowledge(
        self, platform: ChatPlatform, target: ReplyTarget, outcome: Outcome
    ) -> None: ...


async def find_channel(
    services: Services, place: Place, reference: str, *, timeout: float | None
) -> str | None:
    """The id of the channel `reference` names; None when the platform says there is no
    such channel; `reference` itself when the platform cannot tell (in time): then the
    recap job asks again, and checks membership as ever."""
    platform = services.platforms.get(place.platform)
    if not isinstance(platform, ChannelLookup):
        return reference
    try:
        return await asyncio.wait_for(platform.find_channel(place, reference), timeout)
    except Exception:  # timed out, or the platform failed: the job decides
        log.warning("could not look up channel %r in %s", reference, place, exc_info=True)
        return reference


async def files_for_command(
    text: str,
    files: tuple[FileRef, ...],
    thread: str | None,
    thread_files: Callable[[], Awaitable[tuple[FileRef, ...]]],
) -> tuple[FileRef, ...]:
    """`transcribe` as a reply in a thread means the recording on the thread's root."""
    if not files and thread and TRANSCRIBE_REPLY.match(text):
        return await thread_files()
    return files


class Inbound:
    def __init__(self, services: Services) -> None:
        self.services = services

    # --- what adapters call ----------------------------------------------------------------

    async def claim_event(self, key: str) -> bool:
        """Record a platform event key; False when it was seen before (a retry, or the same
        thing reaching us by another event)."""
        return await asyncio.to_thread(self.services.repo.first_time_seen, key)

    async def release_event(self, key: str) -> None:
        """Nothing was done for the event: let the platform's retry of it through."""
        await asyncio.to_thread(self.services.repo.forget_event, key)

    async def claim_media(self, files: Iterable[FileRef], key: Callable[[str], str]) -> None:
        """A command takes these files: auto-transcription must not take them a second
        time (`key(file id)` is the event key the platform's file event will carry)."""
        for file in files:
            if is_media(file):
                await self.claim_event(key(file.id))

    async def handle_command(self, request: CommandRequest) -> Outcome:
        """One platform event addressed to the bot: a job, or an answer to show at once."""
        timezone = request.timezone or self.services.limits.default_timezone
        try:
            spec, command = parse_with(
                request.text, now=self.services.clock(), timezone=timezone, specs=COMMANDS
            )
        except CommandError as exc:
            return await self.answer(request, ErrorReply(text=str(exc)))
        if spec is not None:
            return await spec.handle(self, request, command)
        help_ = self.help_for(request.place.platform)
        if isinstance(command, Unknown):
            text = sentences.UNKNOWN.format(text=command.text, help=help_)
            return await self.answer(request, TextReply(text=text))
        assert isinstance(command, Help)
        return await self.answer(request, TextReply(text=help_))

    async def handle_shared_files(self, request: CommandRequest) -> Outcome:
        """Media shared where the bot is a member: transcribe when the channel allows it."""
        if not await self.claim_event(request.event_key):
            return Outcome(duplicate=True)
        try:
            channel = await self.services.conversations.get_or_create_channel(request.place)
            if not channel.auto_transcribe:
                return Outcome()
            return await enqueue(self, request, quiet=True)
        except BaseException:
            await self.release_event(request.event_key)
            raise

    async def record_message(self, place: Place, message: ChatMessage) -> None:
        await self.services.conversations.record(place, message)

    async def record_edit(self, place: Place, message: ChatMessage) -> None:
        channel = await self.services.conversations.get_channel(place)
        showing = None
        if channel is not None:
            showing = await asyncio.to_thread(
                self.services.repo.edit_message,
                channel,
                message.id,
                message.text,
                self.services.clock(),
            )
        if showing is None:  # a message we never stored: record it as it is now
            await self.record_message(place, message)
        elif showing:  # items derived from it went: their recaps' posts show that
            why = f"items of edited message {message.id}"
            items_service.spawn(items_service.refresh_recaps(self.services, showing, why=why))

    async def record_delete(self, place: Place, message_id: str) -> None:
        channel = await self.services.conversations.get_channel(place)
        if channel is not None:  # else nothing of that channel is stored
            await asyncio.to_thread(self.services.repo.delete_message, channel, message_id)

    async def record_file_deleted(self, place: Place, file_id: str) -> None:
        """A shared file was deleted or taken off its message: its transcripts go, so the
        next recap leaves its recording out (`place.channel` is not needed)."""
        workspace = await asyncio.to_thread(
            self.services.repo.get_workspace, place.platform, place.workspace
        )
        if workspace is not None:
            await asyncio.to_thread(
                self.services.repo.delete_file_transcripts, row_id(workspace), file_id
            )

    async def handle_item_action(self, action: ItemAction) -> ItemActionResult:
        from bot.features.items.actions import handle_action

        return await handle_action(self, action)

    async def deliver(
        self, key: str, platform: ChatPlatform, target: ReplyTarget, reply: Reply
    ) -> str:
        return await self.services.delivery.deliver(key, platform, target, reply)

    async def acknowledge(
        self, platform: ChatPlatform, target: ReplyTarget, outcome: Outcome
    ) -> None:
        await self.services.delivery.acknowledge(platform, target, outcome.ack, outcome.job_id)

    # --- what command handlers share -------------------------------------------------------

    def help_for(self, platform_name: str) -> str:
        platform = self.services.platforms.get(platform_name)
        if isinstance(platform, HelpNotes):
            return help_text(platform.capabilities, platform.help_notes)
        return help_text(ALL_CAPABILITIES)

    async def answer(self, request: CommandRequest, reply: Reply) -> Outcome:
        """An immediate answer, once per event."""
        if not await self.claim_event(request.event_key):
            return Outcome(duplicate=True)
        return Outcome(reply=reply)

    async def once(
        self, request: CommandRequest, make: Callable[[], Awaitable[Outcome]]
    ) -> Outcome:
        """Do `make` once per event; if it fails, the platform's retry may do it."""
        if not await self.claim_event(request.event_key):
            return Outcome(duplicate=True)
        try:
            return await make()
        except BaseException:
            await self.release_event(request.event_key)
            raise

    def reply_place(self, request: CommandRequest) -> Place:
        """Replies go in the thread the command came from (or start one on its message)."""
        if request.via == "slash":
            return request.place
        return replace(request.place, thread=request.place.thread or request.message_id)

    async def find_channel(
        self, place: Place, reference: str, *, timeout: float | None
    ) -> str | None:
        return await find_channel(self.services, place, reference, timeout=timeout)

    def managers_of(self, platform_name: str) -> str:
        """Who may manage a channel on that platform, in words."""
        platform = self.services.platforms.get(platform_name)
        if isinstance(platform, NamesManagers):
            return platform.managers
        return sentences.MANAGERS_DEFAULT

    async def may_manage(self, place: Place, user_id: str) -> bool:
        """Whether `user_id` may change what is kept of the channel: ADMIN_USERS, else
        the platform's own answer (workspace admins, channel or team owners)."""
        if not user_id:
            return False
        if self.services.is_admin(place.platform, user_id):
            return True
        platform = self.services.platforms.get(place.platform)
        if platform is None:
            return False
        try:
            return await platform.can_manage(place, user_id)
        except Exception:  # the platform could not say: refuse, and say who can
            log.warning("could not check whether %s manages %s", user_id, place, exc_info=True)
            return False


__all__ = [
    "CommandRequest",
    "HelpNotes",
    "Inbound",
    "InboundPort",
    "Outcome",
    "files_for_command",
    "find_channel",
    "is_media",
]
