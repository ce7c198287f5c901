"""Transcription of shared audio and video: `@balafon transcribe`, auto-transcription of
media shared where the bot is a member, and `@balafon auto-transcribe on|off`."""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot import sentences
from bot.commands import CommandRequest, CommandSpec, Outcome, ParseContext
from bot.delivery import LatestUpdate
from bot.features.items.service import remember_post, store_recap
from bot.features.media import ProgressThrottle
from bot.features.naming import named_recap, recognised_speakers, transcript_reply
from bot.job_kinds import JobKind, Replying
from bot.jobs import TRANSCRIBE_QUEUE, JobContext
from bot.ports import (
    ChatPlatform,
    ErrorReply,
    FileRef,
    Place,
    ProgressReply,
    ReplyTarget,
    TextReply,
)
from bot.recordings import recording_start
from bot.storage.base import row_id
from bot.storage.models import Job
from summarizer.audio import creation_time
from summarizer.errors import InputError, MediaError
from summarizer.pipeline import format_timestamp

if TYPE_CHECKING:
    from bot.inbound import Inbound
    from bot.services import Services
    from summarizer.types import Transcript

log = logging.getLogger(__name__)

KIND = "transcribe"
MEDIA_PREFIXES = ("audio/", "video/")
MEDIA_SUFFIXES = {".wav", ".mp3", ".m4a", ".mp4", ".webm", ".ogg", ".opus", ".flac", ".mov", ".aac"}
_AUTO = re.compile(r"auto[- ]?transcri(?:be|ption)\s+(on|off)", re.IGNORECASE)
TRANSCRIBE_REPLY = re.compile(r"^\s*(?:transcribe|transcript)\b", re.IGNORECASE)


def is_media(file: FileRef) -> bool:
    if file.mimetype and file.mimetype.startswith(MEDIA_PREFIXES):
        return True
    return Path(file.name).suffix.lower() in MEDIA_SUFFIXES


@dataclass(frozen=True, kw_only=True)
class Transcribe:
    pass


@dataclass(frozen=True, kw_only=True)
class AutoTranscribe:
    enabled: bool


class TranscribePayload(Replying):
    source: Place
    message_id: str | None = None
    files: list[FileRef]
    requested_by: str | None = None  # who asked (or shared it): may change its items


def parse(verb: str, rest: str, context: ParseContext) -> Transcribe | None:
    return Transcribe() if verb in {"transcribe", "transcript"} else None


def parse_auto(verb: str, rest: str, context: ParseContext) -> AutoTranscribe | None:
    if match := _AUTO.fullmatch(f"{verb} {rest}".strip()):
        return AutoTranscribe(enabled=match.group(1).lower() == "on")
    return None


async def handle(inbound: Inbound, request: CommandRequest, command: Transcribe) -> Outcome:
    return await enqueue(inbound, request)


async def handle_auto(
    inbound: Inbound, request: CommandRequest, command: AutoTranscribe
) -> Outcome:
    async def update() -> Outcome:
        conversations = inbound.services.conversations
        await conversations.update_channel(request.place, auto_transcribe=command.enabled)
        on = command.enabled
        text = sentences.AUTO_TRANSCRIBE_ON if on else sentences.AUTO_TRANSCRIBE_OFF
        return Outcome(reply=TextReply(text=text))

    return await inbound.once(request, update)


async def enqueue(inbound: Inbound, request: CommandRequest, *, quiet: bool = False) -> Outcome:
    files = request.files
    media = [f for f in files if is_media(f)]
    if not media:
        if quiet:
            return Outcome()
        if files:
            names = ", ".join(f.name for f in files)
            text = sentences.NOT_MEDIA.format(name=names)
            return await inbound.answer(request, ErrorReply(text=text))
        return await inbound.answer(request, ErrorReply(text=sentences.NO_FILES))
    payload = TranscribePayload(
        platform=request.place.platform,
        reply=ReplyTarget(place=inbound.reply_place(request)),
        source=request.place,
        message_id=request.message_id,
        files=media,
        requested_by=request.user_id or None,
    )
    job, created = await asyncio.to_thread(
        inbound.services.queue.enqueue,
        KIND,
        payload.stored(),
        key=f"transcribe:{request.event_key}",
    )
    if not created and not quiet:
        return Outcome(duplicate=True, job_id=job.id)
    return Outcome(ack=sentences.WORKING_TRANSCRIBE.format(count=len(media)), job_id=job.id)


class _Transcription:
    """The `transcribe` job: each file downloaded, transcribed with progress, posted."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.delivery = services.delivery

    async def run(self, job: Job, payload: TranscribePayload, context: JobContext) -> None:
        platform = self.services.platforms[payload.platform]
        for file in payload.files:
            await self.file(job, payload, context, platform, file)
        await self.delivery.answered(row_id(job), platform, payload.reply)

    async def file(
        self,
        job: Job,
        payload: TranscribePayload,
        context: JobContext,
        platform: ChatPlatform,
        file: FileRef,
    ) -> None:
        services, deliver, target = self.services, self.delivery.deliver, payload.reply
        key, limit = f"job:{job.id}:{file.id}", services.limits.max_media_bytes
        if file.size is not None and file.size > limit:
            text = sentences.TOO_LARGE.format(
                name=file.name, size=round(file.size / 2**20, 1), limit=round(limit / 2**20)
            )
            await deliver(f"{key}:too-large", platform, target, ErrorReply(text=text))
            return
        done = await asyncio.to_thread(services.repo.delivery, f"{key}:recap")
        if done is not None and done.message_id:
            return  # finished on an earlier attempt
        # `files_are_local`: the platform keeps uploads on this machine; nothing is downloaded.
        local = getattr(platform, "files_are_local", False)
        fetching = sentences.RECEIVING if local else sentences.DOWNLOADING
        start = ProgressReply(text=fetching.format(name=file.name), fraction=0.0)
        progress_id = await deliver(f"{key}:progress", platform, target, start)
        try:
            # The channel's `language` setting, if any, overrides WHISPER_LANGUAGE.
            known = await services.conversations.get_channel(payload.source)
            language = known.language if known is not None else None
            with tempfile.TemporaryDirectory(dir=services.limits.work_dir) as folder:
                dest = Path(folder) / Path(file.name).name
                path = await platform.download(payload.source, file, dest, max_bytes=limit)
                transcript = await self.transcribe(
                    job, context, platform, target, progress_id, file, path, language
                )
                tagged = await asyncio.to_thread(creation_time, path)
        except MediaError as exc:
            text = sentences.MEDIA_FAILED.format(name=file.name, reason=exc)
            await platform.update(target, progress_id, ErrorReply(text=text))
            return
        # A share time is the recording's end; the job's creation stands in for it when the
        # platform gave none (bot/recordings.py).
        recorded_at = recording_start(
            shared=file.created,
            duration=transcript.duration,
            tagged=tagged,
            fallback=job.created_at,
        )
        channel = await services.conversations.get_or_create_channel(payload.source)
        speakers = await recognised_speakers(services, channel, transcript)
        saved = await asyncio.to_thread(
            services.repo.save_transcript,
            channel,
            for_job=job.id,
            source_message_id=payload.message_id,
            file_id=file.id,
            file_name=file.name,
            language=transcript.language,
            duration_seconds=transcript.duration,
            transcript=transcript.model_dump(mode="json"),
            recorded_at=recorded_at,
            thread_id=payload.source.thread,
            speakers=speakers,
        )
        if saved is None:  # the channel was forgotten meanwhile: keep and post nothing more
            log.info("job %s was cancelled by forget; its transcript is dropped", job.id)
            return
        stem = Path(file.name).stem or "recording"
        reply = transcript_reply(transcript, speakers, f"{stem}-transcript.txt")
        await deliver(f"{key}:transcript", platform, target, reply)
        try:
            recap, reply_recap = await named_recap(
                services, transcript, speakers, f"Recap of “{file.name}”", recorded_at=recorded_at
            )
        except InputError:
            text = sentences.NO_SPEECH.format(name=file.name)
            await deliver(f"{key}:recap", platform, target, TextReply(text=text))
        else:
            # Stored first, so the post carries its items' buttons.
            row, recap, items = await store_recap(
                services,
                channel,
                recap,
                reuse_job=False,  # one recap per file of the job
                job_id=job.id,
                transcript_id=row_id(saved),  # naming its speakers later replaces it
                thread_id=payload.source.thread,
                requested_by=payload.requested_by,
            )
            reply_recap = replace(reply_recap, items=items)
            message_id = await deliver(f"{key}:recap", platform, target, reply_recap)
            await remember_post(services, row, target, message_id, reply_recap)
        text = sentences.TRANSCRIBED.format(
            name=file.name, duration=format_timestamp(transcript.duration)
        )
        await platform.update(target, progress_id, ProgressReply(text=text, fraction=1.0))

    async def transcribe(
        self,
        job: Job,
        context: JobContext,
        platform: ChatPlatform,
        target: ReplyTarget,
        progress_id: str,
        file: FileRef,
        path: Path,
        language: str | None = None,
    ) -> Transcript:
        loop = asyncio.get_running_loop()
        throttle = ProgressThrottle(step=0.1, seconds=5)
        label = sentences.TRANSCRIBING.format(name=file.name)
        updates = LatestUpdate(platform, target, progress_id)

        def on_progress(fraction: float) -> None:
            # Called from the transcription thread: throttle, then hand over to the loop.
            if not throttle.due(fraction):
                return
            context.progress(job, fraction)
            loop.call_soon_threadsafe(updates.offer, ProgressReply(text=label, fraction=fraction))

        await platform.update(target, progress_id, ProgressReply(text=label, fraction=0.0))
        try:
            return await self.services.media.transcribe(
                path, on_progress=on_progress, language=language, speakers=file.participants
            )
        finally:
            await updates.close()  # before anyone posts the final state


def job_kind(services: Services) -> JobKind[TranscribePayload]:
    return JobKind(KIND, TranscribePayload, _Transcription(services).run, queue=TRANSCRIBE_QUEUE)


COMMANDS = (
    CommandSpec(
        "transcribe",
        parse,
        handle,
        help="• `@balafon transcribe` on a message with an audio or video file — transcript, "
        "recap and action items.",
    ),
    CommandSpec(
        "auto-transcribe",
        parse_auto,
        handle_auto,
        help="• Share audio or video in a channel where I am a member and I transcribe it for "
        "you (`@balafon auto-transcribe off` stops that in a channel, "
        "`@balafon auto-transcribe on` turns it back on).",
    ),
)
