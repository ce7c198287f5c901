"""Cutting a decoded recording into transcription windows, at its quietest moments.

A long recording is transcribed window by window, so it is never decoded whole; each cut
falls in the quietest 300 ms near the window's end, so no word is split between windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from summarizer.audio import SAMPLE_RATE, AudioBlock

# A quiet point to cut a window at is searched for in the last part of the window: half of
# it for short windows, at most this many seconds.
_CUT_SEARCH_SECONDS = 30.0
_CUT_FRAME = SAMPLE_RATE // 100  # 10 ms energy frames
_CUT_SMOOTH_FRAMES = 30  # the quietest 300 ms


def quiet_windows(
    blocks: Iterable[AudioBlock], *, window_samples: int
) -> Iterator[tuple[int, np.ndarray, float | None, int]]:
    """Regroup decoded blocks into windows cut at quiet points.

    Yields (offset in samples, window audio, read fraction, samples decoded so far).
    """
    pending: list[np.ndarray] = []
    pending_samples = 0
    offset = 0
    decoded = 0
    read_fraction: float | None = None
    for block in blocks:
        pending.append(block.samples)
        pending_samples += block.samples.size
        decoded += block.samples.size
        read_fraction = block.read_fraction
        while pending_samples >= window_samples:
            audio = np.concatenate(pending) if len(pending) > 1 else pending[0]
            cut = quiet_point(audio, window_samples)
            yield offset, audio[:cut], read_fraction, decoded
            rest = audio[cut:].copy()  # a copy, so the window's memory can go
            pending, pending_samples = ([rest] if rest.size else []), rest.size
            offset += cut
    if pending_samples:
        audio = np.concatenate(pending) if len(pending) > 1 else pending[0]
        yield offset, audio, read_fraction, decoded


def quiet_point(audio: np.ndarray, window_samples: int) -> int:
    """Where to end a window of about `window_samples`: the middle of the quietest 300 ms
    in its last part (half the window, at most 30 s), so a cut never falls inside a word.
    """
    end = min(window_samples, audio.size)
    span = min(end // 2, round(_CUT_SEARCH_SECONDS * SAMPLE_RATE))
    start = end - span
    frames = span // _CUT_FRAME
    if frames <= _CUT_SMOOTH_FRAMES:
        return end
    region = audio[start : start + frames * _CUT_FRAME].reshape(frames, _CUT_FRAME)
    energy = np.mean(np.square(region, dtype=np.float64), axis=1)
    smooth = np.convolve(energy, np.ones(_CUT_SMOOTH_FRAMES) / _CUT_SMOOTH_FRAMES, mode="valid")
    # Digital silence makes many positions equally quiet: take the middle of the last such
    # run, away from the words on both sides, and keep the window long.
    quiet = np.flatnonzero(smooth <= smooth.min() * (1 + 1e-6) + 1e-12)
    breaks = np.flatnonzero(np.diff(quiet) != 1)
    run_start = quiet[breaks[-1] + 1] if breaks.size else quiet[0]
    best = (int(run_start) + int(quiet[-1])) // 2
    return start + (best + _CUT_SMOOTH_FRAMES // 2) * _CUT_FRAME
