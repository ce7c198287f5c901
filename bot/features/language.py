"""`@balafon language fr|auto`: the spoken language of a channel's recordings.

Stored on the channel (`Channel.language`: a Whisper code, "auto" = detect, None = the
server's WHISPER_LANGUAGE); the transcription job passes it to the media runner.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import sentences
from bot.commands import CommandRequest, CommandSpec, Outcome, ParseContext
from bot.ports import ErrorReply, TextReply
from summarizer.languages import language_name, normalize_language

if TYPE_CHECKING:
    from bot.inbound import Inbound

_ARGUMENT = re.compile(r"(?:is\s+|=\s*)?([A-Za-z][A-Za-z -]{0,30})", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class SetLanguage:
    given: str  # as typed: "fr", "French", "auto"


def parse(verb: str, rest: str, context: ParseContext) -> SetLanguage | None:
    if verb != "language":
        return None
    match = _ARGUMENT.fullmatch(rest.strip())
    return SetLanguage(given=match.group(1).strip()) if match else None


async def handle(inbound: Inbound, request: CommandRequest, command: SetLanguage) -> Outcome:
    try:
        code = normalize_language(command.given)
    except ValueError:
        text = sentences.LANGUAGE_UNKNOWN.format(given=command.given)
        return await inbound.answer(request, ErrorReply(text=text))

    async def update() -> Outcome:
        # "auto" is stored, not None: it overrides a server-wide WHISPER_LANGUAGE too.
        stored = code or "auto"
        await inbound.services.conversations.update_channel(request.place, language=stored)
        if code is None:
            return Outcome(reply=TextReply(text=sentences.LANGUAGE_AUTO))
        name = language_name(code)
        text = sentences.LANGUAGE_SET.format(name=name)
        if code != "en" and await asyncio.to_thread(_english_only, inbound):
            text += sentences.LANGUAGE_NEEDS_MULTILINGUAL.format(name=name)
        return Outcome(reply=TextReply(text=text))

    return await inbound.once(request, update)


def _english_only(inbound: Inbound) -> bool:
    return inbound.services.media.transcriber().english_only


COMMANDS = (
    CommandSpec(
        "language",
        parse,
        handle,
        help="• `@balafon language fr` — the language spoken in this channel's recordings "
        "(`@balafon language auto` detects it).",
    ),
)
