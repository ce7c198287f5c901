"""Speakers as people: the names people give diarization's labels ("Speaker 1" is Kofi),
the rule that an unnamed label owns nothing, and matching voices to remembered ones.

Pure data in and out: the bot stores the names and the voice profiles; this module only
applies them to a transcript and compares embeddings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from summarizer.types import Recap, Transcript

# Diarization's labels, by first appearance (summarizer/types.py `Segment.speaker`).
SPEAKER_LABEL = re.compile(r"Speaker \d{1,3}")
# A voice is that person's when its cosine similarity to their profile reaches this.
# Measured with this encoder (docs/quality.md, "Speakers"): one voice's centroids sit at
# 0.95-0.96, different voices at 0.75-0.83 (two near-identical espeak voices at 0.97). A
# wrong automatic name is worse than none (the picker corrects a missing one), so the bar
# sits above every different-voice pair measured.
VOICE_MATCH = 0.87
NAME_CHARS = 60  # longest name kept: names are typed by people, untrusted


class SpeakerName(NamedTuple):
    name: str
    user_id: str | None = None


def is_speaker_label(author: str | None) -> bool:
    """Whether `author` is a diarization label ("Speaker 2"), not a person's name."""
    return bool(author) and SPEAKER_LABEL.fullmatch(author or "") is not None


def speaker_labels(transcript: Transcript) -> list[str]:
    """The transcript's diarization labels, by first appearance."""
    seen: dict[str, None] = {}
    for segment in transcript.segments:
        if is_speaker_label(segment.speaker):
            seen.setdefault(segment.speaker or "", None)
    return list(seen)


def clean_name(text: str) -> str:
    """A typed name made inert: one line, no markup or mention characters, at most
    NAME_CHARS characters ("" when nothing is left)."""
    text = re.sub(r"[<>@#!&*_`~|\[\]()\\/:]", " ", text)  # no markup, mention or link
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text[:NAME_CHARS].strip()


def apply_names(transcript: Transcript, names: Mapping[str, SpeakerName]) -> Transcript:
    """A copy of `transcript` whose named labels read as the people's names."""
    if not names:
        return transcript
    segments = [
        segment.model_copy(update={"speaker": named.name})
        if (named := names.get(segment.speaker or "")) is not None
        else segment
        for segment in transcript.segments
    ]
    return transcript.model_copy(update={"segments": segments})


def drop_unnamed_owners(recap: Recap, unnamed: Iterable[str]) -> Recap:
    """No action item is owned by a label nobody named: "Speaker 1" is not a person to
    remind. The item stays, without owner."""
    labels = set(unnamed)
    if not labels:
        return recap
    for item in recap.action_items:
        if item.owner in labels:
            item.owner, item.owner_id = None, None
    return recap


# --- voices ------------------------------------------------------------------------


def cosine(first: Sequence[float], second: Sequence[float]) -> float:
    dot = sum(a * b for a, b in zip(first, second, strict=False))
    norms = math.sqrt(sum(a * a for a in first)) * math.sqrt(sum(b * b for b in second))
    return dot / norms if norms else 0.0


def running_mean(mean: Sequence[float], samples: int, voice: Sequence[float]) -> list[float]:
    """`mean` of `samples` voices with one more added. Kept unnormalised (cosine does not
    mind) so that `without_sample` undoes it exactly."""
    if len(mean) != len(voice) or samples <= 0:
        return list(voice)
    return [(m * samples + v) / (samples + 1) for m, v in zip(mean, voice, strict=True)]


def without_sample(mean: Sequence[float], samples: int, voice: Sequence[float]) -> list[float]:
    """`mean` of `samples` voices with one of them taken out again (a naming corrected).
    Only for `samples` > 1."""
    return [(m * samples - v) / (samples - 1) for m, v in zip(mean, voice, strict=True)]


def match_voices(
    voices: Mapping[str, Sequence[float]],
    profiles: Mapping[str, Sequence[float]],
    threshold: float = VOICE_MATCH,
) -> dict[str, str]:
    """Label -> profile key for the voices close enough to a profile, best pairs first;
    each profile names at most one label of a recording, and each label one profile."""
    pairs = sorted(
        (
            (cosine(voice, profile), label, key)
            for label, voice in voices.items()
            for key, profile in profiles.items()
        ),
        reverse=True,
    )
    matched: dict[str, str] = {}
    used: set[str] = set()
    for score, label, key in pairs:
        if score < threshold:
            break
        if label not in matched and key not in used:
            matched[label] = key
            used.add(key)
    return matched
