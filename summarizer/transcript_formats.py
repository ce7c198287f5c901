"""Render a `Transcript` as plain text, SubRip (.srt), WebVTT (.vtt) or JSON.

Pure functions: the bot attaches the result as a file, the CLI prints it.
"""

from __future__ import annotations

import re

from summarizer.types import Segment, Transcript

FORMATS = ("txt", "srt", "vtt", "json")

# What to upload each format as.
MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}

_BLANK_LINES = re.compile(r"\s*\n\s*")


def render_transcript(transcript: Transcript, fmt: str, *, timestamps: bool = False) -> str:
    """Render `transcript` as "txt", "srt", "vtt" or "json"; any other `fmt` is a ValueError.

    txt is plain text as Whisper writes it: one line per segment ("Speaker: text" when the
    speaker is known), no times unless `timestamps` asks for a "[m:ss] " prefix; srt and vtt
    are subtitle files any player or editor reads; json is the full model (words included).
    """
    kind = fmt.strip().lower().lstrip(".")
    if kind == "txt":
        return render_txt(transcript, timestamps=timestamps)
    if kind == "srt":
        return render_srt(transcript)
    if kind == "vtt":
        return render_vtt(transcript)
    if kind == "json":
        return transcript.model_dump_json()
    raise ValueError(f"Unknown transcript format {fmt!r}; use one of: {', '.join(FORMATS)}.")


def render_txt(transcript: Transcript, *, timestamps: bool = False) -> str:
    lines = []
    for segment in _cues(transcript):
        time = f"[{clock(segment.start)}] " if timestamps else ""
        speaker = f"{segment.speaker}: " if segment.speaker else ""
        lines.append(f"{time}{speaker}{_one_line(segment.text)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_srt(transcript: Transcript) -> str:
    cues = []
    for number, segment in enumerate(_cues(transcript), start=1):
        start, end = _span(segment)
        speaker = f"{segment.speaker}: " if segment.speaker else ""
        cues.append(
            f"{number}\n{srt_timestamp(start)} --> {srt_timestamp(end)}\n"
            f"{speaker}{_one_line(segment.text)}\n"
        )
    return "\n".join(cues)


def render_vtt(transcript: Transcript) -> str:
    cues = ["WEBVTT\n"]
    for segment in _cues(transcript):
        start, end = _span(segment)
        text = _vtt_escape(_one_line(segment.text))
        if segment.speaker:
            text = f"<v {_vtt_escape(segment.speaker)}>{text}"
        cues.append(f"{vtt_timestamp(start)} --> {vtt_timestamp(end)}\n{text}\n")
    return "\n".join(cues)


def srt_timestamp(seconds: float) -> str:
    """SubRip time: "HH:MM:SS,mmm" (comma before the milliseconds)."""
    hours, minutes, secs, millis = _split_time(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def vtt_timestamp(seconds: float) -> str:
    """WebVTT time: "HH:MM:SS.mmm" (a dot before the milliseconds)."""
    hours, minutes, secs, millis = _split_time(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def clock(seconds: float) -> str:
    """A reader's time: "m:ss", or "h:mm:ss" past the hour (as players show it)."""
    hours, minutes, secs, _ = _split_time(seconds)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _split_time(seconds: float) -> tuple[int, int, int, int]:
    # Round once, in whole milliseconds, so 59.9996 s becomes 00:01:00.000, not 00:00:60.000.
    total_ms = max(0, round(seconds * 1000))
    total_s, millis = divmod(total_ms, 1000)
    minutes_total, secs = divmod(total_s, 60)
    hours, minutes = divmod(minutes_total, 60)
    return hours, minutes, secs, millis


def _cues(transcript: Transcript) -> list[Segment]:
    return [s for s in transcript.segments if s.text.strip()]


def _span(segment: Segment) -> tuple[float, float]:
    """Start and end with end > start (players drop empty or reversed cues)."""
    start = max(0.0, segment.start)
    return start, max(segment.end, start + 0.001)


def _one_line(text: str) -> str:
    # A blank line ends a cue in SRT and WebVTT, so a cue's text must not contain one.
    return _BLANK_LINES.sub(" ", text.strip())


def _vtt_escape(text: str) -> str:
    # "-->" may not appear in a cue; & and < start entities and tags.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
