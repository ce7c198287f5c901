"""Readable transcript segments from timed words.

faster-whisper's batched pipeline returns segments of up to 30 s; subtitles and "at 12:34"
references need shorter ones. Words are regrouped at sentence ends and pauses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from summarizer.types import Segment, Word

# Readable segments: a segment ends at a sentence end, before a pause of PAUSE_SECONDS, and
# is never longer than MAX_SEGMENT_SECONDS (subtitle guidance is about 7 s; 15 s keeps
# whole clauses together while a transcript reference still lands near the words).
MAX_SEGMENT_SECONDS = 15.0
PAUSE_SECONDS = 1.0
_SENTENCE_END = re.compile(r"[.!?…。！？]['\")\]”’]*$")
_CLAUSE_END = re.compile(r"[,;:，、；：]['\")\]”’]*$")
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "jr.", "sr."}
)


def split_words(
    words: Sequence[Word],
    *,
    max_seconds: float = MAX_SEGMENT_SECONDS,
    pause_seconds: float = PAUSE_SECONDS,
) -> list[Segment]:
    """Group timed words into readable segments.

    A segment ends after a sentence end, before a pause of `pause_seconds` or more, and
    never spans more than `max_seconds`: an over-long run is split at its best break (a
    clause end or the longest gap between words). Whisper's words keep their leading space,
    so a segment's text is the words joined as they are.
    """
    segments: list[Segment] = []
    current: list[Word] = []
    for word in words:
        if current and word.start - current[-1].end >= pause_seconds:
            segments.append(_segment(current))
            current = []
        while current and word.end - current[0].start > max_seconds:
            cut = _best_break(current)
            segments.append(_segment(current[:cut]))
            current = current[cut:]
        current.append(word)
        if _ends_sentence(word.word):
            segments.append(_segment(current))
            current = []
    if current:
        segments.append(_segment(current))
    return [s for s in segments if s.text]


def _ends_sentence(word: str) -> bool:
    token = word.strip()
    return bool(_SENTENCE_END.search(token)) and token.lower() not in _ABBREVIATIONS


def _best_break(words: Sequence[Word]) -> int:
    """Index to split an over-long run at: after a clause end or at the widest gap."""
    if len(words) < 2:
        return len(words)
    best, best_score = len(words) - 1, -1.0
    for i in range(1, len(words)):
        gap = max(0.0, words[i].start - words[i - 1].end)
        score = gap + (0.5 if _CLAUSE_END.search(words[i - 1].word.strip()) else 0.0)
        score += 0.01 * i / len(words)  # on a tie, keep the first part longer
        if score > best_score:
            best, best_score = i, score
    return best


def _segment(words: Sequence[Word]) -> Segment:
    return Segment(
        start=words[0].start,
        end=max(w.end for w in words),
        text="".join(w.word for w in words).strip(),
        words=list(words),
    )


def monotonic_segments(segments: list[Segment]) -> list[Segment]:
    """Make segment starts non-decreasing (word alignment can overlap a chunk boundary)."""
    previous = 0.0
    for segment in segments:
        if segment.start < previous:
            segment.start = previous
        if segment.end < segment.start:
            segment.end = segment.start
        previous = segment.start
    return segments
