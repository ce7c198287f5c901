"""Recordings as part of their conversation: when a recording started, its segments as
the channel's messages, and how a recap cites a moment in it.

A segment is cited as `<source message id>@<seconds>` (the message that shared the file),
or `file:<file id>@<seconds>` when no message shared it (a Teams meeting); renderers show
it as `t=1:23`, linked to the message where the platform has a permalink.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.ports import ChatMessage
from summarizer.pipeline import format_timestamp
from summarizer.types import Transcript

if TYPE_CHECKING:
    from bot.storage.models import TranscriptRecord

_REF = re.compile(r"(?P<source>.+)@(?P<seconds>\d+)")
FILE_PREFIX = "file:"
# A container tag later than this after the share is a wrong clock, not the start.
_TAG_SLACK = timedelta(hours=1)


def recording_start(
    *,
    shared: datetime | None,
    duration: float,
    tagged: datetime | None = None,
    given: datetime | None = None,
    fallback: datetime | None = None,
) -> datetime | None:
    """When a recording started. `given`: a start someone stated (`--recorded-at`, the API's
    `recorded_at`, a meeting's start) wins. Then the container's `creation_time` tag, when
    it is plausible (not after the share). Otherwise an upload or share time (`shared`,
    else `fallback`: when the job was queued) is taken as the END of the recording, since
    people share a recording once it is made: start = shared - duration."""
    if given is not None:
        return given
    end = shared or fallback
    if tagged is not None and (end is None or tagged <= end + _TAG_SLACK):
        return tagged
    return end - timedelta(seconds=max(0.0, duration)) if end is not None else None


def recording_ref(source: str, seconds: float) -> str:
    return f"{source}@{int(seconds)}"


def parse_recording_ref(ref: str | None) -> tuple[str, int] | None:
    """(source message id or `file:<id>`, seconds) of a segment citation, else None."""
    match = _REF.fullmatch(ref or "")
    return (match["source"], int(match["seconds"])) if match else None


def source_label(ref: str | None) -> str:
    """What a citation's link says: `t=1:23` for a moment in a recording, else "source"."""
    found = parse_recording_ref(ref)
    return f"t={format_timestamp(found[1])}" if found else "source"


def linkable_message(ref: str) -> str:
    """The message whose permalink a citation links to (for a segment: the recording's)."""
    found = parse_recording_ref(ref)
    return found[0] if found else ref


def segment_messages(
    record: TranscriptRecord,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ChatMessage]:
    """A stored transcript's segments as messages at recorded_at + start (those inside the
    window), by the speaker's given name, else its label, else nobody."""
    if record.recorded_at is None:
        return []
    transcript = Transcript.model_validate(record.transcript)
    source = record.source_message_id or f"{FILE_PREFIX}{record.file_id}"
    messages = []
    for segment in transcript.segments:
        at = record.recorded_at + timedelta(seconds=segment.start)
        if not segment.text.strip() or (since and at < since) or (until and at > until):
            continue
        named = record.speakers.get(segment.speaker or "") or {}
        messages.append(
            ChatMessage(
                id=recording_ref(source, segment.start),
                author_id=named.get("user_id"),
                author_name=named.get("name") or segment.speaker or "",
                text=segment.text.strip(),
                at=at,
                thread=record.thread_id,
            )
        )
    return messages


def latest_per_file(records: Iterable[TranscriptRecord]) -> list[TranscriptRecord]:
    """One transcript per file: a file transcribed twice counts once (the newest)."""
    newest: dict[str, TranscriptRecord] = {}
    for record in records:
        kept = newest.get(record.file_id)
        if kept is None or (record.id or 0) > (kept.id or 0):
            newest[record.file_id] = record
    return list(newest.values())


__all__ = [
    "FILE_PREFIX",
    "latest_per_file",
    "linkable_message",
    "parse_recording_ref",
    "recording_ref",
    "recording_start",
    "segment_messages",
    "source_label",
]
