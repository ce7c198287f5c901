"""The core: turns adapters' requests into durable jobs and runs them.

Adapters call `handle_command` / `record_*` from their event handlers (after verifying the
request) and acknowledge the platform at once; the jobs then gather messages or media,
run the summariser and post through the platform's `ChatPlatform`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.commands import (
    CommandError,
    Digest,
    Forget,
    Help,
    Recap,
    Retention,
    Transcribe,
    Unknown,
    parse_command,
    without_own_name,
)
from bot.errors import PermanentJobError
from bot.jobs import (
    DEFAULT_QUEUE,
    TRANSCRIBE_QUEUE,
    Handler,
    JobContext,
    JobQueue,
)
from bot.metrics import TRANSCRIPTION_RTF, observe_recap
from bot.ports import (
    AckWithdrawing,
    ChannelLookup,
    ChatMessage,
    ChatPlatform,
    ErrorReply,
    FileRef,
    HistoryUnavailableError,
    MarkedPosting,
    Place,
    ProgressReply,
    RecapReply,
    Reply,
    ReplyTarget,
    TextReply,
    TranscriptReply,
)
from bot.storage.models import Channel, Job
from bot.storage.repo import Repository
from summarizer.errors import InputError, MediaError
from summarizer.pipeline import Summarizer, format_timestamp, transcript_to_conversation
from summarizer.types import Conversation, Message
from summarizer.types import Recap as RecapType

if TYPE_CHECKING:
    from bot.digests import DigestService
    from summarizer.transcribe import Transcriber
    from summarizer.types import Transcript

log = logging.getLogger(__name__)

MEDIA_PREFIXES = ("audio/", "video/")
MEDIA_SUFFIXES = {".wav", ".mp3", ".m4a", ".mp4", ".webm", ".ogg", ".opus", ".flac", ".mov", ".aac"}
DEFAULT_WINDOW = timedelta(hours=24)
# How long a command may wait for the platform to say whether a channel it names exists
# (the platform's acknowledgement waits too: Slack allows 3 s in all).
CHANNEL_LOOKUP_SECONDS = 1.0
_AUTO_TRANSCRIBE = re.compile(r"auto[- ]?transcri(?:be|ption)\s+(on|off)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class CommandRequest:
    """A command addressed to the bot, already verified and parsed out by an adapter."""

    place: Place  # where it was typed; `thread` set when typed in a thread
    user_id: str
    text: str  # the bot's mention removed, channel mentions as "#<id>"
    event_key: str  # unique per platform event: retries carry the same key
    message_id: str | None = None  # the message that carried it
    files: tuple[FileRef, ...] = ()
    via: str = "mention"  # mention, slash, shortcut, file
    response_url: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What the adapter shows right away: `ack` to the requester only, `reply` in place."""

    ack: str | None = None
    reply: Reply | None = None
    job_id: int | None = None
    duplicate: bool = False


def ack_key(job_id: int) -> str:
    """The delivery key of a job's "working on it" (see `BotCore.acknowledge`)."""
    return f"job:{job_id}:ack"


def _answered_key(job_id: int) -> str:
    return f"job:{job_id}:answered"


def _lower_priority(niceness: int = 10) -> None:
    """Make the calling thread (and threads it starts) yield the CPU to request handling."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        log.debug("could not lower the priority of the media thread", exc_info=True)


def is_media(file: FileRef) -> bool:
    if file.mimetype and file.mimetype.startswith(MEDIA_PREFIXES):
        return True
    return Path(file.name).suffix.lower() in MEDIA_SUFFIXES


def _place(data: dict[str, Any]) -> Place:
    return Place(**data)


def _target(data: dict[str, Any]) -> ReplyTarget:
    return ReplyTarget(
        place=_place(data["place"]),
        ephemeral_to=data.get("ephemeral_to"),
        response_url=data.get("response_url"),
    )


def _target_data(target: ReplyTarget) -> dict[str, Any]:
    return {
        "place": asdict(target.place),
        "ephemeral_to": target.ephemeral_to,
        "response_url": target.response_url,
    }


class LatestUpdate:
    """Progress updates of one message, posted one at a time in the order offered: while
    one is on its way only the newest waits (older ones are skipped). `close` waits for the
    one on its way and drops the rest, so that nothing lands after the final state."""

    def __init__(self, platform: ChatPlatform, target: ReplyTarget, message_id: str) -> None:
        self._platform, self._target, self._message_id = platform, target, message_id
        self._waiting: Reply | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._run())

    def offer(self, reply: Reply) -> None:
        """On the event loop (`loop.call_soon_threadsafe(updates.offer, reply)`)."""
        if not self._closed:
            self._waiting = reply
            self._wake.set()

    async def close(self) -> None:
        self._closed = True
        self._waiting = None
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            reply, self._waiting = self._waiting, None
            if reply is None:
                if self._closed:
                    return
                continue
            try:
                await self._platform.update(self._target, self._message_id, reply)
            except Exception:  # a lost progress update must not cost the transcript
                log.warning("could not update progress message %s", self._message_id, exc_info=True)


class BotCore:
    def __init__(
        self,
        *,
        repo: Repository,
        queue: JobQueue,
        summarizer: Summarizer,
        transcriber_factory: Callable[[], Transcriber],
        max_media_bytes: int,
        default_timezone: str = "UTC",
        work_dir: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        media_workers: int = 2,
        admin_users: Collection[str] = (),
    ) -> None:
        self.repo = repo
        self.queue = queue
        self.summarizer = summarizer
        self.platforms: dict[str, ChatPlatform] = {}
        self.max_media_bytes = max_media_bytes
        self.default_timezone = default_timezone
        self.work_dir = work_dir
        self.clock = clock
        # ADMIN_USERS: `user id` or `platform:user id`; they manage every channel.
        self.admin_users = frozenset(u.strip() for u in admin_users if u.strip())
        self._transcriber_factory = transcriber_factory
        self._transcriber: Transcriber | None = None
        self._transcriber_lock = threading.Lock()
        # Transcription is CPU-bound for minutes; its threads (and the model's, which start
        # from them) run at a lower priority so that acks and replies stay fast meanwhile.
        self._media_executor = ThreadPoolExecutor(
            max_workers=media_workers, thread_name_prefix="media", initializer=_lower_priority
        )
        self.digests: DigestService | None = None  # set by DigestService itself
        # Job kind -> handler; the worker reads this dict, so kinds added later run too.
        self.handlers: dict[str, Handler] = {}
        # Job kind -> the queue it runs on (`balafon worker --queue …`).
        self.job_queues: dict[str, str] = {}
        # Run by the hourly retention sweep after the core's own (the API's expiry):
        # each deletes what has expired at the given time and returns counts by kind.
        self.sweepers: list[Callable[[datetime], dict[str, int]]] = []
        self.add_handler("recap", self.run_recap)
        self.add_handler("transcribe", self.run_transcribe, queue=TRANSCRIBE_QUEUE)
        # Channel windows this process has filled from platform history: (channel id, since).
        self._synced_since: dict[int, datetime] = {}

    def register(self, platform: ChatPlatform) -> None:
        self.platforms[platform.name] = platform

    def add_handler(self, kind: str, handler: Handler, *, queue: str = DEFAULT_QUEUE) -> None:
        """Let an adapter or service run its own job kind on the core's workers; media work
        goes on TRANSCRIBE_QUEUE."""
        self.handlers[kind] = handler
        self.job_queues[kind] = queue

    def queue_of(self, kind: str) -> str:
        return self.job_queues.get(kind, DEFAULT_QUEUE)

    def kinds_on(self, queues: Collection[str]) -> list[str]:
        """The job kinds a worker serving `queues` takes."""
        return [kind for kind in self.handlers if self.queue_of(kind) in queues]

    def _transcriber_instance(self) -> Transcriber:
        with self._transcriber_lock:  # one model per process, loaded on first use
            if self._transcriber is None:
                self._transcriber = self._transcriber_factory()
            return self._transcriber

    # --- inbound ----------------------------------------------------------------------

    async def _channel(self, place: Place) -> Channel:
        def lookup() -> Channel:
            workspace = self.repo.workspace(place.platform, place.workspace)
            return self.repo.channel(workspace.id, place.channel)

        return await asyncio.to_thread(lookup)

    async def claim(self, key: str) -> bool:
        """Record a platform event key; False when it was seen before (a retry, or the same
        thing reaching us by another event)."""
        return await asyncio.to_thread(self.repo.first_time_seen, key)

    async def handle_command(self, request: CommandRequest) -> Outcome:
        """One platform event addressed to the bot: a job, or an answer to show at once.

        A retried event (same `event_key`) is a duplicate: jobs by their idempotency key,
        immediate answers by the processed-events table. One database write per command
        keeps the platform's ack fast.
        """
        if match := _AUTO_TRANSCRIBE.fullmatch(without_own_name(request.text)):
            enabled = match.group(1).lower() == "on"
            return await self._once(request, lambda: self._set_auto_transcribe(request, enabled))
        try:
            command = parse_command(
                request.text,
                now=self.clock(),
                timezone=request.timezone or self.default_timezone,
            )
        except CommandError as exc:
            return await self._answer(request, ErrorReply(text=str(exc)))
        if isinstance(command, Help):
            return await self._answer(request, TextReply(text=messages.HELP))
        if isinstance(command, Unknown):
            return await self._answer(
                request, TextReply(text=messages.UNKNOWN.format(text=command.text))
            )
        if isinstance(command, Transcribe):
            return await self._enqueue_transcription(request, request.files)
        if isinstance(command, Digest):
            return await self._once(request, lambda: self._digest(request, command))
        if isinstance(command, Forget | Retention):
            return await self._once(request, lambda: self._governance(request, command))
        assert isinstance(command, Recap)
        return await self._enqueue_recap(request, command)

    async def _once(
        self, request: CommandRequest, make: Callable[[], Awaitable[Outcome]]
    ) -> Outcome:
        if not await self.claim(request.event_key):
            return Outcome(duplicate=True)
        try:
            return await make()
        except BaseException:
            # Nothing was done: let the platform's retry of this event through.
            await asyncio.to_thread(self.repo.forget_event, request.event_key)
            raise

    async def _digest(self, request: CommandRequest, command: Digest) -> Outcome:
        if self.digests is None:
            return Outcome(reply=ErrorReply(text=messages.DIGESTS_DISABLED))
        text = await self.digests.command(request.place, request.user_id, command)
        return Outcome(reply=TextReply(text=text))

    async def may_manage(self, place: Place, user_id: str) -> bool:
        """Whether `user_id` may change what is kept of the channel: ADMIN_USERS, else
        the platform's own answer (workspace admins, channel or team owners)."""
        if not user_id:
            return False
        if user_id in self.admin_users or f"{place.platform}:{user_id}" in self.admin_users:
            return True
        platform = self.platforms.get(place.platform)
        if platform is None:
            return False
        try:
            return await platform.can_manage(place, user_id)
        except Exception:  # the platform could not say: refuse, and say who can
            log.warning("could not check whether %s manages %s", user_id, place, exc_info=True)
            return False

    async def _governance(self, request: CommandRequest, command: Forget | Retention) -> Outcome:
        place = Place(**{**asdict(request.place), "thread": None})
        if not await self.may_manage(place, request.user_id):
            who = messages.MANAGERS.get(place.platform, messages.MANAGERS_DEFAULT)
            return Outcome(reply=ErrorReply(text=messages.NOT_A_MANAGER.format(who=who)))
        channel = await self._channel(place)
        if isinstance(command, Retention):
            await asyncio.to_thread(
                self.repo.channel,
                channel.workspace_id,
                channel.external_id,
                retention_days=command.days,
            )
            text = (
                messages.RETENTION_SET.format(days=command.days)
                if command.days
                else messages.RETENTION_OFF
            )
            return Outcome(reply=TextReply(text=text))
        if not command.confirmed:
            return Outcome(reply=TextReply(text=messages.FORGET_CONFIRM))
        subscription = (
            await asyncio.to_thread(self.digests.find, channel.id) if self.digests else None
        )
        counts = await asyncio.to_thread(self.repo.forget_channel, channel)
        platform = self.platforms.get(place.platform)
        if platform is not None:
            await platform.forget(place)  # what the adapter keeps itself (playground files)
        await asyncio.to_thread(self.repo.checkpoint)  # no old pages left in SQLite's WAL
        self._synced_since.pop(channel.id, None)
        if subscription is not None:
            self.digests.changed(subscription.id)  # the scheduler drops its job
        return Outcome(reply=TextReply(text=messages.FORGOTTEN.format(**counts)))

    async def _answer(self, request: CommandRequest, reply: Reply) -> Outcome:
        if not await self.claim(request.event_key):
            return Outcome(duplicate=True)
        return Outcome(reply=reply)

    async def _set_auto_transcribe(self, request: CommandRequest, enabled: bool) -> Outcome:
        place = request.place

        def update() -> None:
            workspace = self.repo.workspace(place.platform, place.workspace)
            self.repo.channel(workspace.id, place.channel, auto_transcribe=enabled)

        await asyncio.to_thread(update)
        text = messages.AUTO_TRANSCRIBE_ON if enabled else messages.AUTO_TRANSCRIBE_OFF
        return Outcome(reply=TextReply(text=text))

    def _reply_place(self, request: CommandRequest) -> Place:
        """Replies go in the thread the command came from (or start one on its message)."""
        if request.via == "slash":
            return request.place
        thread = request.place.thread or request.message_id
        return Place(**{**asdict(request.place), "thread": thread})

    async def _find_channel(
        self, place: Place, reference: str, *, timeout: float | None
    ) -> str | None:
        """The id of the channel `reference` names; None when the platform says there is
        no such channel; `reference` itself when the platform cannot tell (in time): then
        the recap job asks again, and checks membership as ever."""
        platform = self.platforms.get(place.platform)
        if not isinstance(platform, ChannelLookup):
            return reference
        try:
            return await asyncio.wait_for(platform.find_channel(place, reference), timeout)
        except Exception:  # timed out, or the platform failed: the job decides
            log.warning("could not look up channel %r in %s", reference, place, exc_info=True)
            return reference

    async def _enqueue_recap(self, request: CommandRequest, command: Recap) -> Outcome:
        if command.channel:  # `recap 7d #nope`: say so now, not from a job
            found = await self._find_channel(
                request.place, command.channel, timeout=CHANNEL_LOOKUP_SECONDS
            )
            if found is None:
                text = messages.NO_SUCH_CHANNEL.format(channel=command.channel)
                return await self._answer(request, ErrorReply(text=text))
            command = replace(command, channel=found)
        now = self.clock()
        other = command.channel and command.channel != request.place.channel
        in_thread = request.place.thread is not None and command.since is None and not other
        source = Place(
            platform=request.place.platform,
            workspace=request.place.workspace,
            channel=command.channel or request.place.channel,
            thread=request.place.thread if in_thread else None,
        )
        target = ReplyTarget(
            place=self._reply_place(request),
            ephemeral_to=request.user_id if other else None,
            # A slash command's reply address also works where the bot cannot post.
            response_url=request.response_url if other or request.via == "slash" else None,
        )
        since = None if in_thread else (command.since or now - DEFAULT_WINDOW)
        payload = {
            "platform": request.place.platform,
            "source": asdict(source),
            "since": since.isoformat() if since else None,
            "until": now.isoformat(),
            "window_text": command.window_text,
            "requested_by": request.user_id,
            "reply": _target_data(target),
        }
        job, created = await asyncio.to_thread(
            self.queue.enqueue, "recap", payload, key=f"recap:{request.event_key}"
        )
        if not created:
            return Outcome(duplicate=True, job_id=job.id)
        where = messages.RECAP_IN_THREAD if target.place.thread else messages.RECAP_IN_CHANNEL
        if target.ephemeral_to:
            where = messages.RECAP_ONLY_YOU.format(where=where)
        return Outcome(ack=messages.WORKING_RECAP.format(where=where), job_id=job.id)

    async def _enqueue_transcription(
        self, request: CommandRequest, files: tuple[FileRef, ...], *, quiet: bool = False
    ) -> Outcome:
        media = [f for f in files if is_media(f)]
        if not media:
            if quiet:
                return Outcome()
            if files:
                names = ", ".join(f.name for f in files)
                return await self._answer(
                    request, ErrorReply(text=messages.NOT_MEDIA.format(name=names))
                )
            return await self._answer(request, ErrorReply(text=messages.NO_FILES))
        target = ReplyTarget(place=self._reply_place(request))
        payload = {
            "platform": request.place.platform,
            "source": asdict(request.place),
            "message_id": request.message_id,
            "files": [asdict(f) for f in media],
            "reply": _target_data(target),
        }
        job, created = await asyncio.to_thread(
            self.queue.enqueue, "transcribe", payload, key=f"transcribe:{request.event_key}"
        )
        if not created and not quiet:
            return Outcome(duplicate=True, job_id=job.id)
        return Outcome(ack=messages.WORKING_TRANSCRIBE.format(count=len(media)), job_id=job.id)

    async def handle_shared_files(self, request: CommandRequest) -> Outcome:
        """Media shared where the bot is a member: transcribe when the channel allows it."""
        if not await self.claim(request.event_key):
            return Outcome(duplicate=True)
        try:
            channel = await self._channel(request.place)
            if not channel.auto_transcribe:
                return Outcome()
            return await self._enqueue_transcription(request, request.files, quiet=True)
        except BaseException:
            await asyncio.to_thread(self.repo.forget_event, request.event_key)
            raise

    async def record_message(self, place: Place, message: ChatMessage) -> None:
        if message.from_bot or not message.text.strip():
            return
        channel = await self._channel(place)
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

    async def record_edit(self, place: Place, message: ChatMessage) -> None:
        channel = await self._channel(place)
        found = await asyncio.to_thread(
            self.repo.edit_message, channel, message.id, message.text, self.clock()
        )
        if not found:
            await self.record_message(place, message)

    async def record_delete(self, place: Place, message_id: str) -> None:
        channel = await self._channel(place)
        await asyncio.to_thread(self.repo.delete_message, channel, message_id)

    # --- delivery ---------------------------------------------------------------------

    async def summarize(self, conversation: Conversation) -> RecapType:
        """Recap off the event loop, counting LLM tokens and fallbacks (InputError, from the
        summariser, when there is nothing to recap)."""
        recap = await asyncio.to_thread(self.summarizer.recap, conversation)
        observe_recap(recap)
        return recap

    async def deliver(
        self, key: str, platform: ChatPlatform, target: ReplyTarget, reply: Reply
    ) -> str:
        """Post once per key: a retried job finds the earlier post and does not repeat it.

        A platform that marks its posts with their key (Slack: message metadata) gets a
        pending record first. A retry that finds it still pending (the process died after
        the platform accepted the post, before its id was stored) has the platform look for
        the marked post instead of posting again.
        """
        existing = await asyncio.to_thread(self.repo.delivery, key)
        if existing is not None and existing.message_id:
            return existing.message_id
        if isinstance(platform, MarkedPosting):
            if existing is None:
                await asyncio.to_thread(
                    self.repo.begin_delivery, key, platform.name, target.place.channel
                )
            since = existing.created_at if existing is not None else None
            message_id = await platform.post_marked(target, reply, key=key, since=since)
        else:
            message_id = await platform.post(target, reply)
        await asyncio.to_thread(
            self.repo.record_delivery, key, platform.name, target.place.channel, message_id
        )
        return message_id

    async def acknowledge(
        self, platform: ChatPlatform, target: ReplyTarget, outcome: Outcome
    ) -> None:
        """Post the requester's "working on it" (`outcome.ack`) at `target`. A platform
        that can withdraw it has it withdrawn once the job has answered, also when the job
        was quicker than this post: each side writes its mark, then looks for the other's."""
        if not outcome.ack:
            return
        reply = TextReply(text=outcome.ack)
        if outcome.job_id is None or not isinstance(platform, AckWithdrawing):
            await platform.post(target, reply)
            return
        message_id = await self.deliver(ack_key(outcome.job_id), platform, target, reply)
        if await asyncio.to_thread(self.repo.delivery, _answered_key(outcome.job_id)):
            await platform.withdraw(target, message_id)

    async def _answered(self, job: Job, platform: ChatPlatform) -> None:
        """The job posted its result (or its failure): its "working on it" goes."""
        if not isinstance(platform, AckWithdrawing):
            return
        target = _target(job.payload["reply"])
        key = _answered_key(job.id)
        await asyncio.to_thread(self.repo.begin_delivery, key, platform.name, target.place.channel)
        ack = await asyncio.to_thread(self.repo.delivery, ack_key(job.id))
        if ack is not None and ack.message_id:
            await platform.withdraw(target, ack.message_id)

    async def on_job_failed(self, job: Job, reason: str, *, user_facing: bool) -> None:
        """Tell the requester; `reason` is shown only when it was written for people."""
        payload = job.payload
        platform = self.platforms.get(payload.get("platform", ""))
        if platform is None or "reply" not in payload:
            return
        if user_facing:
            text = messages.JOB_FAILED.format(kind=job.kind, reason=reason)
        else:
            text = messages.JOB_GAVE_UP.format(kind=job.kind, job_id=job.id)
        try:
            await self.deliver(
                f"job:{job.id}:failed", platform, _target(payload["reply"]), ErrorReply(text=text)
            )
            await self._answered(job, platform)
        except Exception:
            log.exception("could not tell the user that job %s failed", job.id)

    # --- recap ------------------------------------------------------------------------

    async def _gather(
        self, platform: ChatPlatform, source: Place, since: datetime | None, until: datetime
    ) -> list[ChatMessage]:
        """Thread: from the platform. Channel window: from the store, after filling it from
        platform history once per process and channel (edits and deletes applied). A
        platform that cannot read history (Teams without Graph) is answered from the store.
        """
        channel = await self._channel(source)
        try:
            if source.thread is not None:
                return await platform.fetch_messages(source)
            synced = self._synced_since.get(channel.id)
            if synced is None or since is None or since < synced:
                await self._fill_from_history(platform, source, channel, since, until)
                if since is not None:
                    self._synced_since[channel.id] = min(since, synced or since)
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
            await self.record_message(source, message)

    async def run_recap(self, job: Job, context: JobContext) -> None:
        payload = job.payload
        platform = self.platforms[payload["platform"]]
        source = _place(payload["source"])
        target = _target(payload["reply"])
        requester = payload["requested_by"]
        if target.place.channel != source.channel:
            found = await self._find_channel(source, source.channel, timeout=None)
            if found is None:  # a name the command could not check in time
                text = messages.NO_SUCH_CHANNEL.format(channel=source.channel)
                await self.deliver(f"job:{job.id}:refused", platform, target, ErrorReply(text=text))
                return
            source = replace(source, channel=found)
        if target.place.channel != source.channel and not await platform.is_member(
            source, requester
        ):
            await self.deliver(
                f"job:{job.id}:refused",
                platform,
                target,
                ErrorReply(text=messages.NOT_A_MEMBER.format(channel=source.channel)),
            )
            await self._answered(job, platform)
            return
        since = datetime.fromisoformat(payload["since"]) if payload.get("since") else None
        until = datetime.fromisoformat(payload["until"])
        chat = [m for m in await self._gather(platform, source, since, until) if not m.from_bot]
        conversation = Conversation(
            messages=[
                Message(author=m.author_name, author_id=m.author_id, text=m.text, at=m.at, ref=m.id)
                for m in chat
                if m.text.strip()
            ]
        )
        if not conversation.messages:
            where = "in this thread" if source.thread else "in that window"
            await self.deliver(
                f"job:{job.id}:empty",
                platform,
                target,
                TextReply(text=messages.NOTHING_TO_RECAP.format(where=where)),
            )
            await self._answered(job, platform)
            return
        await asyncio.to_thread(context.progress, job, 0.3)  # a database write: off the loop
        recap = await self.summarize(conversation)
        links = await self._links(platform, source, recap)
        title = self._recap_title(source, payload.get("window_text"))
        if await asyncio.to_thread(self.queue.get, job.id) is None:
            return  # the channel was forgotten while it ran: post and keep nothing
        await self.deliver(
            f"job:{job.id}:recap",
            platform,
            target,
            RecapReply(recap=recap, title=title, links=links),
        )
        await self._answered(job, platform)
        channel = await self._channel(source)
        await asyncio.to_thread(
            self.repo.save_recap,
            channel,
            recap,
            thread_id=source.thread,
            window_start=since,
            window_end=until,
            job_id=job.id,
        )

    @staticmethod
    def _recap_title(source: Place, window_text: str | None) -> str:
        if source.thread:
            return "Thread recap"
        return f"Recap of <#{source.channel}>" + (f" ({window_text})" if window_text else "")

    async def _links(self, platform: ChatPlatform, source: Place, recap: Any) -> dict[str, str]:
        refs = {
            ref
            for group in (recap.action_items, recap.decisions, recap.open_questions)
            for ref in (item.ref for item in group)
            if ref
        }
        links: dict[str, str] = {}
        for ref in sorted(refs)[:30]:
            try:
                if url := await platform.permalink(source, ref):
                    links[ref] = url
            except Exception:  # a missing link must not cost the user the recap
                log.warning("no permalink for %s", ref, exc_info=True)
        return links

    # --- transcription ----------------------------------------------------------------

    async def run_transcribe(self, job: Job, context: JobContext) -> None:
        payload = job.payload
        platform = self.platforms[payload["platform"]]
        source = _place(payload["source"])
        target = _target(payload["reply"])
        for data in payload["files"]:
            await self._transcribe_file(job, context, platform, source, target, FileRef(**data))
        await self._answered(job, platform)

    async def _transcribe_file(
        self,
        job: Job,
        context: JobContext,
        platform: ChatPlatform,
        source: Place,
        target: ReplyTarget,
        file: FileRef,
    ) -> None:
        key = f"job:{job.id}:{file.id}"
        if file.size is not None and file.size > self.max_media_bytes:
            text = messages.TOO_LARGE.format(
                name=file.name,
                size=round(file.size / 2**20, 1),
                limit=round(self.max_media_bytes / 2**20),
            )
            await self.deliver(f"{key}:too-large", platform, target, ErrorReply(text=text))
            return
        done = await asyncio.to_thread(self.repo.delivery, f"{key}:recap")
        if done is not None and done.message_id:
            return  # finished on an earlier attempt
        # `files_are_local`: the platform keeps uploads on this machine; nothing is downloaded.
        local = getattr(platform, "files_are_local", False)
        fetching = messages.RECEIVING if local else messages.DOWNLOADING
        progress_id = await self.deliver(
            f"{key}:progress",
            platform,
            target,
            ProgressReply(text=fetching.format(name=file.name), fraction=0.0),
        )
        try:
            with tempfile.TemporaryDirectory(dir=self.work_dir) as folder:
                path = await platform.download(
                    source,
                    file,
                    Path(folder) / Path(file.name).name,
                    max_bytes=self.max_media_bytes,
                )
                transcript = await self._transcribe_with_progress(
                    job, context, platform, target, progress_id, file, path
                )
        except MediaError as exc:
            text = messages.MEDIA_FAILED.format(name=file.name, reason=exc)
            await platform.update(target, progress_id, ErrorReply(text=text))
            return
        channel = await self._channel(source)
        saved = await asyncio.to_thread(
            self.repo.save_transcript,
            channel,
            for_job=job.id,
            source_message_id=job.payload.get("message_id"),
            file_id=file.id,
            file_name=file.name,
            language=transcript.language,
            duration_seconds=transcript.duration,
            transcript=transcript.model_dump(mode="json"),
        )
        if saved is None:  # the channel was forgotten meanwhile: keep and post nothing more
            log.info("job %s was cancelled by `forget`; its transcript is dropped", job.id)
            return
        stem = Path(file.name).stem or "recording"
        await self.deliver(
            f"{key}:transcript",
            platform,
            target,
            TranscriptReply(transcript=transcript, filename=f"{stem}-transcript.txt"),
        )
        try:
            recap = await self.summarize(transcript_to_conversation(transcript))
        except InputError:
            await self.deliver(
                f"{key}:recap",
                platform,
                target,
                TextReply(text=messages.NO_SPEECH.format(name=file.name)),
            )
        else:
            await self.deliver(
                f"{key}:recap",
                platform,
                target,
                RecapReply(recap=recap, title=f"Recap of “{file.name}”"),
            )
            await asyncio.to_thread(self.repo.save_recap, channel, recap, job_id=job.id)
        done = messages.TRANSCRIBED.format(
            name=file.name, duration=format_timestamp(transcript.duration)
        )
        await platform.update(target, progress_id, ProgressReply(text=done, fraction=1.0))

    async def _transcribe_with_progress(
        self,
        job: Job,
        context: JobContext,
        platform: ChatPlatform,
        target: ReplyTarget,
        progress_id: str,
        file: FileRef,
        path: Path,
    ) -> Transcript:
        loop = asyncio.get_running_loop()
        last = {"fraction": 0.0, "at": 0.0}
        label = messages.TRANSCRIBING.format(name=file.name)
        updates = LatestUpdate(platform, target, progress_id)

        def on_progress(fraction: float) -> None:
            # Called from the transcription thread: throttle, then hand over to the loop.
            now = time.monotonic()
            if fraction < 1.0 and fraction - last["fraction"] < 0.1 and now - last["at"] < 5:
                return
            last.update(fraction=fraction, at=now)
            context.progress(job, fraction)
            reply = ProgressReply(text=label, fraction=fraction)
            loop.call_soon_threadsafe(updates.offer, reply)

        await platform.update(target, progress_id, ProgressReply(text=label, fraction=0.0))
        try:
            return await self.transcribe_file(path, on_progress=on_progress)
        finally:
            await updates.close()  # before anyone posts the final state

    async def transcribe_file(
        self, path: Path, *, on_progress: Callable[[float], None] | None = None
    ) -> Transcript:
        """Transcribe on the media threads (one model per process, low priority), counting
        the real-time factor; `on_progress` runs on the transcription thread."""

        def work() -> Transcript:
            started = time.perf_counter()
            transcript = self._transcriber_instance().transcribe(path, on_progress=on_progress)
            if transcript.duration:
                TRANSCRIPTION_RTF.observe((time.perf_counter() - started) / transcript.duration)
            return transcript

        return await asyncio.get_running_loop().run_in_executor(self._media_executor, work)


__all__ = ["BotCore", "CommandRequest", "Outcome", "PermanentJobError", "ack_key", "is_media"]
