"""`@balafon status`: what the bot does in this channel (auto-transcription, digest,
retention, and the engine that writes recaps)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot import sentences
from bot.commands import CommandRequest, CommandSpec, Outcome, ParseContext
from bot.features.digests.service import next_slot, schedule_of
from bot.ports import TextReply
from bot.storage.base import row_id
from bot.storage.models import Channel

if TYPE_CHECKING:
    from bot.inbound import Inbound


@dataclass(frozen=True, kw_only=True)
class Status:
    pass


def parse(verb: str, rest: str, context: ParseContext) -> Status | None:
    return Status() if verb == "status" and not rest.strip() else None


async def handle(inbound: Inbound, request: CommandRequest, command: Status) -> Outcome:
    services = inbound.services
    place = replace(request.place, thread=None)
    # A read: a channel never stored reads as a new row would, and gets no row for asking.
    stored = await services.conversations.get_channel(place)
    channel = stored or Channel(workspace_id=0, external_id=place.channel)
    digest = sentences.STATUS_NO_DIGEST if services.digests else sentences.STATUS_DIGESTS_OFF
    if services.digests is not None and stored is not None:
        subscription = await asyncio.to_thread(services.digests.find, row_id(stored))
        if subscription is not None and subscription.active:
            schedule = schedule_of(subscription)
            digest = sentences.DIGEST_STATUS.format(
                when=schedule.describe(),
                next=f"{next_slot(schedule, services.clock()):%a %d %b, %H:%M}",
            )
    default_days = services.limits.retention_days
    if channel.retention_days:
        retention = sentences.STATUS_RETENTION_DAYS.format(days=channel.retention_days)
    elif default_days:
        retention = sentences.STATUS_RETENTION_DEFAULT.format(days=default_days)
    else:
        retention = sentences.STATUS_RETENTION_FOREVER
    engine = services.summarizer.engine
    if engine == "offline":
        engine_text = sentences.STATUS_OFFLINE
    elif services.summarizer.llm_setup_error:  # every recap falls back: say what they get
        engine_text = sentences.STATUS_LLM_BROKEN.format(model=engine)
    else:
        engine_text = sentences.STATUS_LLM.format(model=engine)
    text = sentences.STATUS.format(
        auto=sentences.STATUS_AUTO_ON if channel.auto_transcribe else sentences.STATUS_AUTO_OFF,
        digest=digest,
        retention=retention,
        engine=engine_text,
    )
    return await inbound.answer(request, TextReply(text=text))


COMMANDS = (
    CommandSpec(
        "status",
        parse,
        handle,
        help="• `@balafon status` — what I do in this channel: auto-transcription, digest, "
        "retention, and what writes the recaps.",
    ),
)
