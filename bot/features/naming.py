"""What the transcription job and the `speaker N is …` command share: a transcript
record's named speakers (`TranscriptRecord.speakers`: label -> {"name", "user_id", and,
with VOICE_PROFILES=true, "voice"}), its posts with those names, and voices recognised
from the workspace's profiles."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.ports import RecapReply, SpeakerChoice, TranscriptReply
from summarizer.naming import SpeakerName, apply_names, match_voices, speaker_labels
from summarizer.pipeline import transcript_to_conversation

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.models import Channel
    from summarizer.types import Recap, Transcript

MAX_MENU = 10  # speakers offered a menu on the transcript; more are named by command


def names_of(speakers: Mapping[str, Any]) -> dict[str, SpeakerName]:
    """Label -> the person it was named as, for the labels someone (or a voice) named."""
    return {
        label: SpeakerName(str(entry["name"]), entry.get("user_id"))
        for label, entry in speakers.items()
        if isinstance(entry, dict) and entry.get("name")
    }


def transcript_reply(
    transcript: Transcript, speakers: Mapping[str, Any], filename: str
) -> TranscriptReply:
    """The transcript post: named labels read as names, a menu for every label."""
    names = names_of(speakers)
    choices = tuple(
        SpeakerChoice(
            label=label,
            name=names[label].name if label in names else None,
            user_id=names[label].user_id if label in names else None,
        )
        for label in speaker_labels(transcript)[:MAX_MENU]
    )
    return TranscriptReply(
        transcript=apply_names(transcript, names), filename=filename, speakers=choices
    )


async def named_recap(
    services: Services,
    transcript: Transcript,
    speakers: Mapping[str, Any],
    title: str,
    *,
    recorded_at: datetime | None = None,
) -> tuple[Recap, RecapReply]:
    """The recording's recap with its named speakers as authors (owners of their "I'll…"
    items, mentioned); InputError when nothing was said."""
    conversation = transcript_to_conversation(
        transcript, names=names_of(speakers), recorded_at=recorded_at
    )
    recap = await services.summarize(conversation)
    return recap, RecapReply(recap=recap, title=title)


async def recognised_speakers(
    services: Services, channel: Channel, transcript: Transcript
) -> dict[str, Any]:
    """The speakers to store with a new transcript: nothing unless VOICE_PROFILES is on;
    then each label's voice, named after the workspace profile it matches (each profile
    at most once per recording)."""
    if not services.limits.voice_profiles or not transcript.voices:
        return {}
    profiles = await asyncio.to_thread(services.repo.voice_profiles, channel.workspace_id)
    by_user = {profile.user_id: profile for profile in profiles}
    matched = match_voices(
        transcript.voices, {user: profile.embedding for user, profile in by_user.items()}
    )
    speakers: dict[str, Any] = {}
    for label, voice in transcript.voices.items():
        entry: dict[str, Any] = {"voice": list(voice)}
        if label in matched:
            profile = by_user[matched[label]]
            entry |= {"name": profile.name, "user_id": profile.user_id, "by": "voice"}
        speakers[label] = entry
    return speakers
