"""Speaker labels on a transcript: each word takes the speaker of the turn it overlaps most,
segments are split where the speaker changes, and labels are "Speaker 1", "Speaker 2", …
in order of first appearance.

One voice only still gets "Speaker 1": it is true, it makes the output uniform, and it is
what "speaker 1 is @kofi" names. If the voice encoder's weights are missing or diarization
fails, the transcript is returned as it was, with a note saying speakers are off and why.
"""

from __future__ import annotations

import logging
import os
import threading

import numpy as np

from summarizer.speakers.diarize import Turn, diarize, diarize_file
from summarizer.speakers.encoder import VoiceEncoder, WeightsError
from summarizer.types import Segment, Transcript, Word

log = logging.getLogger(__name__)

_lock = threading.Lock()
_encoder: VoiceEncoder | None = None


def default_encoder() -> VoiceEncoder:
    """The bundled encoder, loaded once per process (WeightsError when unreadable)."""
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = VoiceEncoder.load()
        return _encoder


def label_speakers(
    transcript: Transcript,
    source: str | os.PathLike[str] | np.ndarray,
    num_speakers: int | None = None,
    *,
    max_speakers: int | None = None,
    encoder: VoiceEncoder | None = None,
) -> Transcript:
    """A copy of `transcript` with speakers on its segments and `voices` filled.

    `source` is the recording's path or its 16 kHz mono float32 samples; `num_speakers`
    is how many people spoke when known; `max_speakers` bounds the estimate otherwise (a
    meeting's participant list: people on it may not have spoken)."""
    if not transcript.segments:
        return transcript
    try:
        encoder = encoder or default_encoder()
        if isinstance(source, np.ndarray):
            result = diarize(source, encoder, num_speakers=num_speakers, max_speakers=max_speakers)
        else:
            result = diarize_file(
                source, encoder, num_speakers=num_speakers, max_speakers=max_speakers
            )
    except WeightsError as exc:
        return _off(transcript, str(exc))
    except Exception as exc:  # a diarization bug must not cost the user the transcript
        log.exception("speaker diarization failed")
        return _off(transcript, f"diarization failed ({type(exc).__name__})")
    if not result.turns:
        return transcript
    segments = [part for seg in transcript.segments for part in _split(seg, result.turns)]
    names: dict[int, str] = {}
    for seg in segments:
        if seg.speaker is not None:
            index = int(seg.speaker)
            names.setdefault(index, f"Speaker {len(names) + 1}")
    labelled = [
        seg.model_copy(update={"speaker": names[int(seg.speaker)]})
        if seg.speaker is not None
        else seg
        for seg in segments
    ]
    voices = {names[i]: result.centroids[i].astype(float).round(5).tolist() for i in names}
    return transcript.model_copy(update={"segments": labelled, "voices": voices})


def speaker_at(turns: list[Turn], start: float, end: float) -> int | None:
    """The speaker of the turn overlapping [start, end] most, else of the nearest turn."""
    if not turns:
        return None
    overlaps = [min(end, t.end) - max(start, t.start) for t in turns]
    best = int(np.argmax(overlaps))
    if overlaps[best] > 0:
        return turns[best].speaker
    middle = (start + end) / 2
    gaps = [max(t.start - middle, middle - t.end, 0.0) for t in turns]
    return turns[int(np.argmin(gaps))].speaker


def _split(segment: Segment, turns: list[Turn]) -> list[Segment]:
    """The segment cut where its words change speaker; `speaker` holds the index as text."""
    if not segment.words:
        who = speaker_at(turns, segment.start, segment.end)
        return [segment.model_copy(update={"speaker": None if who is None else str(who)})]
    groups: list[tuple[int | None, list[Word]]] = []
    for word in segment.words:
        who = speaker_at(turns, word.start, word.end)
        if groups and groups[-1][0] == who:
            groups[-1][1].append(word)
        else:
            groups.append((who, [word]))
    if len(groups) == 1:
        return [segment.model_copy(update={"speaker": _text(groups[0][0])})]
    return [
        Segment(
            start=words[0].start,
            end=words[-1].end,
            text="".join(w.word for w in words).strip(),
            speaker=_text(who),
            words=words,
        )
        for who, words in groups
    ]


def _text(index: int | None) -> str | None:
    return None if index is None else str(index)


def _off(transcript: Transcript, why: str) -> Transcript:
    log.warning("speaker labels are off: %s", why)
    note = f"Speakers are not labelled: {why}."
    return transcript.model_copy(update={"notes": [*transcript.notes, note]})
