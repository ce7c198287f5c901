"""Naming a recording's speakers: `@balafon speaker 1 is @kofi` (or `speaker 2 = Ama`) in
the thread of its transcript, or the menu on the transcript where the platform has one.
The transcript and recap posts are updated in place, and the named person owns their
"I'll…" items. With VOICE_PROFILES=true the voice is remembered for the workspace;
`@balafon forget my voice` (anyone) and `@balafon forget voices confirm` (channel
managers, for the whole workspace) delete what was remembered."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from bot import sentences
from bot.commands import CommandError, CommandRequest, CommandSpec, Outcome, ParseContext
from bot.features import naming
from bot.features.items.service import recap_reply_items, refresh_moved
from bot.features.transcription import KIND as TRANSCRIBE_KIND
from bot.job_kinds import JobKind, Replying
from bot.jobs import JobContext
from bot.ports import (
    ChatPlatform,
    ErrorReply,
    PeopleDirectory,
    Place,
    ReplyTarget,
    TextReply,
)
from bot.storage.base import row_id
from bot.storage.models import Job
from summarizer.errors import InputError
from summarizer.naming import clean_name, speaker_labels
from summarizer.types import Transcript

if TYPE_CHECKING:
    from bot.inbound import Inbound
    from bot.services import Services
    from bot.storage.voices import ThreadTranscript

KIND = "name-speaker"
_NAMING = re.compile(r"(\d{1,3})\s*(?:is\b|=|:|->)?\s*(.*)", re.IGNORECASE | re.DOTALL)
_ME = frozenset({"me", "myself", "i"})

USAGE = "Name a speaker in the transcript's thread: `@balafon speaker 1 is @kofi`."
NOT_IN_THREAD = (
    "I found no transcript here. Say it in the thread of the transcript: "
    "`@balafon speaker 1 is @kofi`."
)
NAMING = "Naming {label}…"
NOT_A_MEMBER = "Only people in this channel can name its speakers."
NO_TRANSCRIPT = "I found no transcript in this thread. Name speakers in the transcript's thread."
NO_LABELS = (
    "This transcript has no speaker labels, so there is nobody to name (speakers were off "
    "when it was made)."
)
UNKNOWN_LABEL = "There is no {label} in this transcript. Its speakers: {labels}."
BAD_NAME = (
    "That name has nothing I can show. Mention the person or type a name: "
    "`@balafon speaker 1 is @kofi`."
)
WHO_IS_ME = "I can't tell your name here: mention yourself (`@balafon speaker 1 is @you`)."
NAMED = "{label} of “{file}” is {name}: the transcript and recap are updated."
NAMED_NONE = "{label} of “{file}” is {name}."
VOICE_FORGOTTEN = "Your voice profile is deleted."
NO_VOICE = "I kept no voice profile of yours."
VOICES_CONFIRM = (
    "This deletes every voice profile of this workspace (the voices remembered to name "
    "speakers). Say `@balafon forget voices confirm` to go ahead."
)
VOICES_FORGOTTEN = "Deleted {count} voice profile(s) of this workspace."


@dataclass(frozen=True, kw_only=True)
class NameSpeaker:
    label: str  # "Speaker 1"
    who: str  # as typed: "@kofi", "Kofi Mensah", "me"


@dataclass(frozen=True, kw_only=True)
class ForgetVoice:
    everyone: bool = False  # the whole workspace's (managers only)
    confirmed: bool = False


class NamePayload(Replying):
    source: Place  # where it was asked; `source.thread` is the transcript's thread
    label: str
    who: str
    user_id: str | None = None  # the mentioned person
    requested_by: str


def parse(verb: str, rest: str, context: ParseContext) -> NameSpeaker | None:
    if verb not in {"speaker", "speakers"}:
        return None
    match = _NAMING.fullmatch(rest.strip())
    if match is None or not match.group(2).strip():
        raise CommandError(USAGE)
    return NameSpeaker(label=f"Speaker {int(match.group(1))}", who=match.group(2).strip())


def parse_forget(verb: str, rest: str, context: ParseContext) -> ForgetVoice | None:
    words = rest.lower().split()
    if verb != "forget" or not words:
        return None
    if words[:2] in (["my", "voice"], ["my", "voice."]):
        return ForgetVoice()
    if words[0] in {"voices", "voice"}:
        return ForgetVoice(everyone=True, confirmed=words[1:2] in (["confirm"], ["yes"]))
    return None


def _mentioned(request: CommandRequest, who: str) -> str | None:
    if who.lower() in _ME:
        return request.user_id
    return request.mentions.get(who) or request.mentions.get(who.split()[0] if who else "")


async def handle(inbound: Inbound, request: CommandRequest, command: NameSpeaker) -> Outcome:
    payload = NamePayload(
        platform=request.place.platform,
        reply=ReplyTarget(place=inbound.reply_place(request)),
        source=request.place,
        label=command.label,
        who=command.who,
        user_id=_mentioned(request, command.who),
        requested_by=request.user_id,
    )
    job, created = await asyncio.to_thread(
        inbound.services.queue.enqueue, KIND, payload.stored(), key=f"speaker:{request.event_key}"
    )
    if not created:
        return Outcome(duplicate=True, job_id=job.id)
    return Outcome(ack=NAMING.format(label=command.label), job_id=job.id)


async def handle_forget(inbound: Inbound, request: CommandRequest, command: ForgetVoice) -> Outcome:
    async def forget() -> Outcome:
        services = inbound.services
        place = replace(request.place, thread=None)
        if command.everyone:
            if not await inbound.may_manage(place, request.user_id):
                who = inbound.managers_of(place.platform)
                return Outcome(reply=ErrorReply(text=sentences.NOT_A_MANAGER.format(who=who)))
            if not command.confirmed:
                return Outcome(reply=TextReply(text=VOICES_CONFIRM))
        repo = services.repo
        workspace = await asyncio.to_thread(repo.get_workspace, place.platform, place.workspace)
        user = None if command.everyone else request.user_id
        count = (
            await asyncio.to_thread(repo.forget_voices, row_id(workspace), user)
            if workspace is not None
            else 0
        )
        await asyncio.to_thread(repo.checkpoint)  # no old pages left in SQLite's WAL
        if command.everyone:
            return Outcome(reply=TextReply(text=VOICES_FORGOTTEN.format(count=count)))
        return Outcome(reply=TextReply(text=VOICE_FORGOTTEN if count else NO_VOICE))

    return await inbound.once(request, forget)


class _Naming:
    """The `name-speaker` job: check, store the name, update the posts in place."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def run(self, job: Job, payload: NamePayload, context: JobContext) -> None:
        services, platform = self.services, self.services.platforms[payload.platform]
        job_id, target = row_id(job), payload.reply

        async def say(what: str, reply: TextReply | ErrorReply) -> None:
            await services.delivery.deliver(f"job:{job_id}:{what}", platform, target, reply)
            await services.delivery.answered(job_id, platform, target)

        channel_place = replace(payload.source, thread=None)
        if not services.is_admin(payload.platform, payload.requested_by) and not (
            await platform.is_member(channel_place, payload.requested_by)
        ):
            return await say("refused", ErrorReply(text=NOT_A_MEMBER))
        channel = await services.conversations.get_channel(channel_place)
        # Outside a thread (Teams chats have none): the conversation's latest recording.
        thread = payload.source.thread
        found = (
            await asyncio.to_thread(
                services.repo.thread_transcripts, channel, thread, kind=TRANSCRIBE_KIND
            )
            if channel is not None
            else []
        )
        if not found:
            return await say("none", ErrorReply(text=NO_TRANSCRIPT if thread else NOT_IN_THREAD))
        labelled = [(item, _labels(item)) for item in found]
        labels = list(dict.fromkeys(label for _, known in labelled for label in known))
        if payload.label not in labels:
            text = (
                UNKNOWN_LABEL.format(label=payload.label, labels=", ".join(labels))
                if labels
                else NO_LABELS
            )
            return await say("unknown", ErrorReply(text=text))
        who = await self.who(platform, payload)
        if isinstance(who, ErrorReply):
            return await say("bad-name", who)
        name, user_id = who
        updated, files = False, []
        for item, known in labelled:
            if payload.label in known:
                updated = await self.name(platform, item, payload.label, name, user_id) or updated
                files.append(item.record.file_name)
        text = (NAMED if updated else NAMED_NONE).format(
            label=payload.label, name=name, file="”, “".join(dict.fromkeys(files))
        )
        await say("named", TextReply(text=text))

    async def who(
        self, platform: ChatPlatform, payload: NamePayload
    ) -> tuple[str, str | None] | ErrorReply:
        """(display name, platform id or None) of the person named."""
        user_id = payload.user_id
        name = ""
        if user_id and isinstance(platform, PeopleDirectory):
            try:
                name = clean_name(await platform.display_name(payload.source, user_id) or "")
            except Exception:  # the name as typed will do
                name = ""
        if not user_id and payload.who.lower() in _ME:
            return ErrorReply(text=WHO_IS_ME)
        name = name or clean_name(payload.who)
        if not name:
            return ErrorReply(text=BAD_NAME)
        return name, user_id

    async def name(
        self,
        platform: ChatPlatform,
        item: ThreadTranscript,
        label: str,
        name: str,
        user_id: str | None,
    ) -> bool:
        """Store the name on one transcript, remember the voice, update its posts; whether
        a post was updated."""
        services, record = self.services, item.record
        speakers, before = await asyncio.to_thread(
            services.repo.name_speaker, row_id(record), label, name, user_id
        )
        voice = before.get("voice")
        if services.limits.voice_profiles and voice:
            await self.learn(record.workspace_id, before, (name, user_id), list(voice))
        return await self.refresh(platform, item, speakers)

    async def learn(
        self,
        workspace_id: int,
        before: dict[str, Any],
        person: tuple[str, str | None],
        voice: list[float],
    ) -> None:
        """Teach the named person's profile this voice; a person someone named it as
        before (not a guess from the voice) unlearns it."""
        repo, (name, user_id) = self.services.repo, person
        earlier = before.get("user_id") if before.get("by") != "voice" else None
        if earlier and earlier != user_id:
            await asyncio.to_thread(repo.unlearn_voice, workspace_id, earlier, voice)
        if user_id:  # named as them again: counted once (unless their profile expired)
            profile = await asyncio.to_thread(
                repo.remember_voice, workspace_id, user_id, name, voice, again=user_id == earlier
            )
            if profile.samples == 0:  # they said `forget my voice`: not even here
                await asyncio.to_thread(repo.strip_voices, workspace_id, user_id)

    async def refresh(
        self, platform: ChatPlatform, item: ThreadTranscript, speakers: dict[str, Any]
    ) -> bool:
        repo, record = self.services.repo, item.record
        target = TypeAdapter(ReplyTarget).validate_python(item.reply)
        transcript = Transcript.model_validate(record.transcript)
        base = f"job:{item.job_id}:{record.file_id}"
        updated = False
        posted = await asyncio.to_thread(repo.delivery, f"{base}:transcript")
        if posted is not None and posted.message_id:
            stem = Path(record.file_name).stem or "recording"
            reply = naming.transcript_reply(transcript, speakers, f"{stem}-transcript.txt")
            await platform.update(target, posted.message_id, reply)
            updated = True
        posted = await asyncio.to_thread(repo.delivery, f"{base}:recap")
        if posted is not None and posted.message_id:
            try:
                found, recap = await naming.named_recap(
                    self.services,
                    transcript,
                    speakers,
                    f"Recap of “{record.file_name}”",
                    recorded_at=record.recorded_at,
                )
            except InputError:
                return updated  # nothing was said: its "no speech" post stays
            stored = await asyncio.to_thread(repo.replace_recap, row_id(record), found)
            if stored is not None:  # its items recorded again: the buttons stay
                items = await recap_reply_items(self.services, stored, found)
                recap = replace(recap, items=items)
                await refresh_moved(self.services, stored)  # owners named: other posts
            await platform.update(target, posted.message_id, recap)
            updated = True
        return updated


def _labels(item: ThreadTranscript) -> list[str]:
    return speaker_labels(Transcript.model_validate(item.record.transcript))


def job_kind(services: Services) -> JobKind[NamePayload]:
    return JobKind(KIND, NamePayload, _Naming(services).run)


def sweeper(services: Services) -> Callable[[datetime], dict[str, int]]:
    """For the hourly retention sweep: with VOICE_PROFILES off, no voice stays (profiles
    and the voices kept with transcripts); on, a profile nobody refreshed by naming its
    voice for RETENTION_DAYS goes."""

    def sweep(now: datetime) -> dict[str, int]:
        limits = services.limits
        if not limits.voice_profiles:
            return {"voice_profiles": services.repo.purge_voices(before=None)}
        if limits.retention_days:
            before = now - timedelta(days=limits.retention_days)
            return {"voice_profiles": services.repo.purge_voices(before=before)}
        return {}

    return sweep


COMMANDS = (
    CommandSpec(
        "speaker",
        parse,
        handle,
        help="• `@balafon speaker 1 is @kofi` in a transcript's thread — name a speaker: the "
        "transcript and recap are updated, and what they said they'd do is theirs "
        "(`@balafon forget my voice` deletes your voice profile, where voices are remembered).",
    ),
    CommandSpec("forget-voice", parse_forget, handle_forget),
)
