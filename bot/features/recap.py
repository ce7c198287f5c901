"""Recaps of a thread or a channel window: `@balafon recap [window] [#channel]`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import sentences
from bot.commands import (
    CommandRequest,
    CommandSpec,
    Outcome,
    ParseContext,
    channel_mention,
    parse_since,
)
from bot.conversations import to_conversation
from bot.features.items.service import remember_post, store_recap
from bot.job_kinds import JobKind, Replying
from bot.jobs import JobContext
from bot.ports import ErrorReply, Place, RecapReply, ReplyTarget, TextReply
from bot.storage.base import row_id
from bot.storage.models import Job

if TYPE_CHECKING:
    from bot.inbound import Inbound
    from bot.services import Services

KIND = "recap"
DEFAULT_WINDOW = timedelta(hours=24)
# How long a command may wait for the platform to say whether a channel it names exists
# (the platform's acknowledgement waits too: Slack allows 3 s in all).
CHANNEL_LOOKUP_SECONDS = 1.0
VERBS = frozenset({"recap", "summarize", "summarise", "summary", "tldr"})  # as people type them


@dataclass(frozen=True, kw_only=True)
class RecapCommand:
    """Recap the current thread (no window) or a channel window, maybe of another channel."""

    since: datetime | None = None
    channel: str | None = None  # another channel's id
    window_text: str | None = None  # as the user wrote it, for the reply's title


class RecapPayload(Replying):
    source: Place
    since: datetime | None = None
    until: datetime
    window_text: str | None = None
    requested_by: str


def parse(verb: str, rest: str, context: ParseContext) -> RecapCommand | None:
    if verb not in VERBS or rest.split()[:1] in (["digest"], ["digests"]):
        return None  # `recap digest …` is the digests' command
    channel, rest = channel_mention(rest)
    if not rest.strip():
        return RecapCommand(channel=channel)
    since = parse_since(rest, context.now)
    return RecapCommand(since=since, channel=channel, window_text=rest.strip())


async def handle(inbound: Inbound, request: CommandRequest, command: RecapCommand) -> Outcome:
    if command.channel:  # `recap 7d #nope`: say so now, not from a job
        found = await inbound.find_channel(
            request.place, command.channel, timeout=CHANNEL_LOOKUP_SECONDS
        )
        if found is None:
            text = sentences.NO_SUCH_CHANNEL.format(channel=command.channel)
            return await inbound.answer(request, ErrorReply(text=text))
        command = replace(command, channel=found)
    now = inbound.services.clock()
    other = bool(command.channel) and command.channel != request.place.channel
    in_thread = request.place.thread is not None and command.since is None and not other
    source = replace(
        request.place,
        channel=command.channel or request.place.channel,
        thread=request.place.thread if in_thread else None,
    )
    target = ReplyTarget(
        place=inbound.reply_place(request),
        ephemeral_to=request.user_id if other else None,
        # A slash command's reply address also works where the bot cannot post.
        response_url=request.response_url if other or request.via == "slash" else None,
    )
    payload = RecapPayload(
        platform=request.place.platform,
        reply=target,
        source=source,
        since=None if in_thread else (command.since or now - DEFAULT_WINDOW),
        until=now,
        window_text=command.window_text,
        requested_by=request.user_id,
    )
    job, created = await asyncio.to_thread(
        inbound.services.queue.enqueue, KIND, payload.stored(), key=f"recap:{request.event_key}"
    )
    if not created:
        return Outcome(duplicate=True, job_id=job.id)
    where = sentences.RECAP_IN_THREAD if target.place.thread else sentences.RECAP_IN_CHANNEL
    if target.ephemeral_to:
        where = sentences.RECAP_ONLY_YOU.format(where=where)
    return Outcome(ack=sentences.WORKING_RECAP.format(where=where), job_id=job.id)


def recap_title(source: Place, window_text: str | None) -> str:
    if source.thread:
        return "Thread recap"
    return f"Recap of <#{source.channel}>" + (f" ({window_text})" if window_text else "")


def job_kind(services: Services) -> JobKind[RecapPayload]:
    from bot.inbound import find_channel

    delivery, conversations = services.delivery, services.conversations

    async def run(job: Job, payload: RecapPayload, context: JobContext) -> None:
        platform = services.platforms[payload.platform]
        source, target, job_id = payload.source, payload.reply, row_id(job)
        if target.place.channel != source.channel:
            found = await find_channel(services, source, source.channel, timeout=None)
            if found is None:  # a name the command could not check in time
                text = sentences.NO_SUCH_CHANNEL.format(channel=source.channel)
                await delivery.deliver(
                    f"job:{job_id}:refused", platform, target, ErrorReply(text=text)
                )
                await delivery.answered(job_id, platform, target)  # the ack can go
                return
            source = replace(source, channel=found)
        if target.place.channel != source.channel and not await platform.is_member(
            source, payload.requested_by
        ):
            text = sentences.NOT_A_MEMBER.format(channel=source.channel)
            await delivery.deliver(f"job:{job_id}:refused", platform, target, ErrorReply(text=text))
            await delivery.answered(job_id, platform, target)
            return
        chat = await conversations.gather(platform, source, payload.since, payload.until)
        conversation = to_conversation(chat)
        if not conversation.messages:
            where = "in this thread" if source.thread else "in that window"
            text = sentences.NOTHING_TO_RECAP.format(where=where)
            await delivery.deliver(f"job:{job_id}:empty", platform, target, TextReply(text=text))
            await delivery.answered(job_id, platform, target)
            return
        await asyncio.to_thread(context.progress, job, 0.3)  # a database write: off the loop
        recap = await services.summarize(conversation)
        links = await conversations.links(platform, source, recap)
        title = recap_title(source, payload.window_text)
        if await asyncio.to_thread(services.queue.get, job_id) is None:
            return  # the channel was forgotten while it ran: post and keep nothing
        # Stored first, so the post carries its items' buttons (a retry posts the same).
        channel = await conversations.get_or_create_channel(source)
        row, recap, items = await store_recap(
            services,
            channel,
            recap,
            thread_id=source.thread,
            window_start=payload.since,
            window_end=payload.until,
            job_id=job_id,
            requested_by=payload.requested_by,
        )
        if row is None:
            return
        reply = RecapReply(recap=recap, title=title, links=links, items=items)
        message_id = await delivery.deliver(f"job:{job_id}:recap", platform, target, reply)
        await remember_post(services, row, target, message_id, reply)
        await delivery.answered(job_id, platform, target)

    return JobKind(KIND, RecapPayload, run)


COMMANDS = (
    CommandSpec(
        "recap",
        parse,
        handle,
        help="• `@balafon recap` in a thread — recap the thread: summary, decisions, action "
        "items, open questions.\n"
        "• `@balafon recap` in a channel — recap the last 24 hours; or a window: "
        "`@balafon recap 7d`, `@balafon recap since Monday`, `@balafon recap since 2026-11-01`.",
    ),
    CommandSpec(
        "recap-other-channel",
        lambda verb, rest, context: None,  # parsed above; here for its help line
        handle,
        help="• `@balafon recap 24h #other-channel` — recap another channel you are a member "
        "of (only you see it).",
        needs=frozenset({"other_channels"}),
    ),
)
