"""Teams meeting transcripts (WebVTT with `<v Speaker>` voice tags) as a `Transcript`."""

from __future__ import annotations

import html
import re

from summarizer.types import Segment, Transcript

_TIMING = re.compile(
    r"^\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.]+)?\s+([^>]*)>")
_TAGS = re.compile(r"</?[^>]+>")


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return (
        int(hours or 0) * 3600
        + int(minutes) * 60
        + int(seconds)
        + int(fraction.ljust(3, "0")) / 1000
    )


def parse_vtt(text: str, *, source: str | None = "teams") -> Transcript:
    """Cues in order; consecutive cues of the same speaker stay separate segments."""
    segments: list[Segment] = []
    for cue in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line for line in cue.split("\n") if line.strip()]
        timing_at = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if timing_at is None:
            continue  # the header, NOTE and STYLE blocks
        match = _TIMING.match(lines[timing_at])
        assert match is not None
        start = _seconds(*match.group(1, 2, 3, 4))
        end = _seconds(*match.group(5, 6, 7, 8))
        payload = " ".join(lines[timing_at + 1 :])
        voice = _VOICE.search(payload)
        speaker = html.unescape(voice.group(1).strip()) if voice else None
        words = html.unescape(_TAGS.sub("", payload)).strip()
        if words:
            segments.append(
                Segment(start=start, end=max(end, start), text=words, speaker=speaker or None)
            )
    duration = max((s.end for s in segments), default=0.0)
    return Transcript(segments=segments, duration=duration, source=source)
