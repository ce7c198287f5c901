"""Guards against what Whisper invents: words on noise or music, and repeated-phrase loops.

faster-whisper's batched pipeline decodes each 30-second chunk once, at temperature 0,
without the sequential decoder's fallbacks (its `compression_ratio_threshold`,
`log_prob_threshold` and `no_speech_threshold` are accepted but unused there; every chunk
is decoded without the previous text, so a loop cannot carry over). So the checks are
made here, on what it returns:

* a chunk Whisper itself thinks holds no speech (no-speech probability over 0.6) that it
  decoded unsurely, in a loop, or as one of its stock phrases ("Thank you."), and any
  chunk decoded with very low confidence, is dropped as invented;
* a phrase repeated three times or more in a row is cut to one (a decoding loop);
* long stretches without kept speech are reported: "Skipped 2:10 of music or noise".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from summarizer.segments import split_words
from summarizer.types import Segment, Word

# Whisper's own no-speech rule (openai/whisper transcribe.py) drops a chunk whose
# no-speech probability is over 0.6 when its average log-probability is under -1.
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0
# When Whisper doubts there is speech (no-speech probability over 0.6), a looped chunk or
# one of the stock phrases it falls back on is invented. Measured with tiny.en and base on
# espeak-ng speech, real English clips, and the same speech under white noise (SNR 5-10
# dB) and music: English speech chunks had no-speech probabilities of 0.00-0.56 (espeak
# French under base: 0.64, with a log-probability of -0.89, so these two alone cannot tell
# it from noise); what the VAD let through of a hum, babble and reversed speech came back
# as "Thank you.", "Thank you very much." and "One, one, one, …" with 0.55-0.91.
LOOP_RATIO = 2.4  # gzip compression ratio of a chunk's text, as Whisper computes it
STOCK_PHRASES = frozenset(
    {
        "you",
        "bye",
        "thank you",
        "thank you very much",
        "thank you so much",
        "thanks for watching",
        "thank you for watching",
        "thank you very much for watching",
        "thank you so much for watching",
        "please subscribe",
        "subtitles by the amara org community",
        "merci d'avoir regardé",
        "sous titres réalisés para la communauté d'amara org",
        "untertitel der amara org community",
        "gracias por ver",
    }
)
# A chunk decoded this unsurely is not speech the model can read, whatever it says (English
# speech: -0.02 to -0.58 per token, at 5 dB SNR; reversed speech's "I'm going to take a
# look at what I'm going to do.": -1.45).
MIN_LOGPROB = -1.2
# A phrase repeated this many times in a row is a loop...
MIN_REPEATS = 3
# ...when the repeats add at least this many words ("no, no, no" is speech).
MIN_REPEATED_WORDS = 4
MAX_PHRASE_WORDS = 24
# A stretch with no kept speech this long is reported in the transcript's notes.
MIN_GAP_SECONDS = 10.0
# Under this RMS level (about -50 dBFS) a gap is silence; above, music or noise.
SILENCE_RMS = 0.003

_NORMALIZE = re.compile(r"[^\w']+", re.UNICODE)


def is_invented(
    avg_logprob: float, no_speech_prob: float, text: str, compression_ratio: float = 1.0
) -> bool:
    """Whether a decoded chunk is more likely invented than heard."""
    if not _NORMALIZE.sub("", text):
        return True  # only punctuation or music notes ("♪")
    if avg_logprob < MIN_LOGPROB:
        return True
    if no_speech_prob > NO_SPEECH_PROB:
        if avg_logprob < NO_SPEECH_LOGPROB or compression_ratio > LOOP_RATIO:
            return True
        return " ".join(_NORMALIZE.sub(" ", text).lower().split()) in STOCK_PHRASES
    return False


def repeated_spans(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """The [start, end) index ranges of `tokens` that repeat the phrase just before them
    (the second and later copies of a phrase said `MIN_REPEATS` times or more in a row).
    Tokens are compared in lower case without punctuation."""
    words = [_NORMALIZE.sub("", t).lower() for t in tokens]
    spans: list[tuple[int, int]] = []
    i, n = 0, len(words)
    while i < n:
        for size in range(1, min(MAX_PHRASE_WORDS, (n - i) // MIN_REPEATS) + 1):
            phrase = words[i : i + size]
            if not any(phrase):
                continue
            copies = 1
            while words[i + copies * size : i + (copies + 1) * size] == phrase:
                copies += 1
            if copies >= MIN_REPEATS and size * (copies - 1) >= MIN_REPEATED_WORDS:
                spans.append((i + size, i + copies * size))
                i += copies * size
                break
        else:
            i += 1
    return spans


def cut_repetitions(text: str) -> tuple[str, int]:
    """`text` with each looped phrase kept once, and how many words were cut."""
    tokens = text.split()
    spans = repeated_spans(tokens)
    if not spans:
        return text, 0
    drop = {k for start, end in spans for k in range(start, end)}
    kept = [t for k, t in enumerate(tokens) if k not in drop]
    return " ".join(kept), len(drop)


@dataclass
class Skipped:
    """What the guards removed from one recording, for the transcript's notes."""

    noise_seconds: float = 0.0
    silence_seconds: float = 0.0
    loops_at: list[float] = field(default_factory=list)
    invented: int = 0  # chunks dropped as invented

    def add_gaps(
        self, audio: np.ndarray, rate: int, offset: float, kept: Sequence[tuple[float, float]]
    ) -> None:
        """Count the stretches of `audio` (starting at `offset` s) that no kept segment
        covers, when long enough, as silence or as music/noise by their level."""
        end_of_audio = offset + audio.size / rate
        at = offset
        for start, end in [*sorted(kept), (end_of_audio, end_of_audio)]:
            if start - at >= MIN_GAP_SECONDS:
                piece = audio[round((at - offset) * rate) : round((start - offset) * rate)]
                if _typical_level(piece, rate) < SILENCE_RMS:
                    self.silence_seconds += start - at
                else:
                    self.noise_seconds += start - at
            at = max(at, end)

    def notes(self) -> list[str]:
        parts: list[str] = []
        if self.noise_seconds:
            parts.append(f"skipped {_clock(self.noise_seconds)} of music or noise")
        if self.silence_seconds:
            parts.append(f"skipped {_clock(self.silence_seconds)} of silence")
        if self.invented and not self.noise_seconds:
            parts.append(f"dropped {self.invented} unclear passage(s) as likely invented")
        if self.loops_at:
            where = ", ".join(_clock(t) for t in self.loops_at[:5])
            more = " and more" if len(self.loops_at) > 5 else ""
            phrase = "a repeated phrase" if len(self.loops_at) == 1 else "repeated phrases"
            parts.append(f"cut {phrase} at {where}{more}")
        if not parts:
            return []
        text = "; ".join(parts)
        return [text[:1].upper() + text[1:] + "."]


def _typical_level(piece: np.ndarray, rate: int) -> float:
    """The median RMS of `piece`'s 100 ms frames: a gap's ends overlap the speech around
    it (word timestamps are approximate), and that speech alone lifts a silent gap's
    overall RMS above SILENCE_RMS (22 s of digital silence between two espeak sentences
    was called "music or noise"); noise and music keep most frames above it."""
    frame = max(1, rate // 10)
    frames = (
        piece[: piece.size - piece.size % frame].reshape(-1, frame)
        if piece.size >= frame
        else piece.reshape(1, -1)
    )
    levels = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return float(np.median(levels))


def _clock(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clean_window(
    raw: Sequence[Any], offset: float, audio: np.ndarray, rate: int, skipped: Skipped
) -> list[Segment]:
    """Readable segments from one window's faster-whisper segments (timestamps moved by
    `offset`): invented chunks dropped, loops cut, long gaps counted in `skipped`."""
    kept = [
        s
        for s in raw
        if not is_invented(s.avg_logprob, s.no_speech_prob, s.text, s.compression_ratio)
    ]
    skipped.invented += len(raw) - len(kept)
    words = [
        Word(
            start=round(w.start + offset, 3),
            end=round(w.end + offset, 3),
            word=w.word,
            probability=round(w.probability, 4),
        )
        for s in kept
        for w in (s.words or [])
    ]
    segments: list[Segment] = []
    if words:
        spans = repeated_spans([w.word for w in words])
        drop = {k for start, end in spans for k in range(start, end)}
        skipped.loops_at.extend(words[start].start for start, _ in spans)
        segments = split_words([w for k, w in enumerate(words) if k not in drop])
    for s in kept:
        if not s.words and s.text.strip():  # word timestamps off
            text, cut = cut_repetitions(s.text.strip())
            if cut:
                skipped.loops_at.append(round(s.start + offset, 3))
            segments.append(
                Segment(start=round(s.start + offset, 3), end=round(s.end + offset, 3), text=text)
            )
    skipped.add_gaps(audio, rate, offset, [(s.start, s.end) for s in segments])
    return segments
