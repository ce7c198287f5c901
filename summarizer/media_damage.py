"""Telling a damaged or cut-off recording from a complete one.

FFmpeg ends a damaged or cut-off file quietly, as players do; the reader of a transcript
should still learn that part of the recording is missing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarizer.audio import MediaInfo

# Demuxers whose duration is stated by the file (not estimated from its bit rate, as for
# ADTS AAC): audio that ends well before it means the file is damaged or cut off.
_STATED_DURATION = frozenset({"flac", "matroska", "webm", "mov", "mp4", "m4a", "mp3", "aiff"})
_OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, segment table, body


def damage_note(info: MediaInfo, read_seconds: float) -> str | None:
    """A note for the reader when only part of `info`'s file could be decoded, else None.

    FFmpeg ends a damaged or cut-off file quietly, as players do. It shows when the audio
    read (`read_seconds`) falls short of the duration the file states (WAV and MP3 headers,
    FLAC, WebM, Matroska, MP4), or, for Ogg (which states none), when the file stops
    without its end-of-stream page: how a voice note cut short by a failed upload looks.
    """
    read = _clock_time(read_seconds)
    kinds = set(info.format_name.split(","))
    stated = info.duration if kinds & _STATED_DURATION else None
    if "wav" in kinds:  # FFmpeg clamps a WAV's duration to the bytes there: ask the header
        stated = _wav_declared_seconds(info.path)
    if stated and stated - read_seconds > max(2.0, stated / 20):
        return (
            f"Only the first {read} of {_clock_time(stated)} could be read; "
            "the rest of the file is missing or damaged."
        )
    if "ogg" in kinds and _ogg_cut_off(info.path):
        return f"Only the first {read} could be read; the rest of the file is missing or damaged."
    return None


def _wav_declared_seconds(path: str) -> float | None:
    """The length a WAV's header states (data chunk size / byte rate), or None when it
    states none (0 or 0xFFFFFFFF: a recorder that did not know the length yet)."""
    with open(path, "rb") as file:
        head = file.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    byte_rate = None
    offset = 12
    while offset + 8 <= len(head):
        chunk, size = (
            head[offset : offset + 4],
            int.from_bytes(head[offset + 4 : offset + 8], "little"),
        )
        if chunk == b"fmt " and offset + 20 <= len(head):
            byte_rate = int.from_bytes(head[offset + 16 : offset + 20], "little")
        elif chunk == b"data":
            if not byte_rate or size in (0, 0xFFFFFFFF):
                return None
            return size / byte_rate
        offset += 8 + size + (size & 1)
    return None


def _ogg_cut_off(path: str) -> bool:
    """The file's last Ogg page is incomplete, or not marked as the end of the stream."""
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        file.seek(max(0, size - _OGG_MAX_PAGE))  # the last page starts in there
        tail = file.read()
    start = tail.rfind(b"OggS")
    while start >= 0:
        header = tail[start : start + 27]
        if len(header) == 27 and header[4] == 0:  # capture pattern, then version 0
            table = tail[start + 27 : start + 27 + header[26]]
            end = start + 27 + len(table) + sum(table)
            return len(table) < header[26] or end > len(tail) or not header[5] & 0x04
        start = tail.rfind(b"OggS", 0, start)
    return False  # no page found: not ours to judge


def _clock_time(seconds: float) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
