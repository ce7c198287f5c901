"""Who spoke when: speech regions, sliding-window voice embeddings, clustering, turns.

1. Speech regions come from Silero VAD (shipped with faster-whisper), tuned to keep the
   short pauses between speakers as boundaries.
2. Inside each region a 1.6 s window (what the encoder was trained on) slides every
   `STEP` seconds. A region shorter than a window is embedded alone (the LSTM takes any
   length): a window centred on it would mostly hear the neighbours, often another speaker.
3. The full windows' embeddings are clustered (summarizer/speakers/cluster.py), short
   regions join the nearest centroid, and every 10 ms frame of speech takes the speaker of
   the window centred nearest to it.
4. Runs shorter than `MIN_RUN` seconds are absorbed by their neighbour (a 1.6 s window
   cannot see shorter changes reliably), and the runs become turns.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

import numpy as np

from summarizer.audio import iter_audio
from summarizer.speakers.cluster import centroids, cluster
from summarizer.speakers.encoder import VoiceEncoder
from summarizer.speakers.features import HOP, SAMPLE_RATE, MelStream, mel_spectrogram

WINDOW_FRAMES = 160  # 1.6 s: Resemblyzer's partial utterance
STEP = 0.4  # seconds between window starts: 2.5 windows a second of speech
MIN_RUN = 0.8  # seconds
_FPS = SAMPLE_RATE // HOP  # mel frames per second
_MIN_RUN = round(MIN_RUN * _FPS)
_SHORTEST = 20  # frames
_GATHER = 512  # windows copied out of the mel frames at a time (13 MB)
_BLOCK_SECONDS = 300.0  # audio decoded (and run through the VAD) at a time when streaming


@dataclass(frozen=True, slots=True)
class Turn:
    start: float
    end: float
    speaker: int  # 0, 1, … in order of first appearance


@dataclass
class Diarization:
    turns: list[Turn]
    # Unit-length centroid embedding per speaker index, shape (speakers, 256).
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 256), np.float32))

    @property
    def speakers(self) -> int:
        return int(self.centroids.shape[0])


def speech_regions(audio: np.ndarray) -> list[tuple[float, float]]:
    """Speech regions (seconds) of 16 kHz audio by Silero VAD, split at pauses over 0.5 s."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=500, speech_pad_ms=80, min_speech_duration_ms=200)
    chunks = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in chunks]


def diarize(
    audio: np.ndarray,
    encoder: VoiceEncoder,
    *,
    num_speakers: int | None = None,
    max_speakers: int | None = None,
    regions: list[tuple[float, float]] | None = None,
) -> Diarization:
    """Diarize 16 kHz mono float32 `audio`; `num_speakers` when known, else estimated."""
    if regions is None:
        regions = speech_regions(audio)
    return diarize_features(
        mel_spectrogram(audio),
        regions,
        encoder,
        num_speakers=num_speakers,
        max_speakers=max_speakers,
    )


def diarize_file(
    path: str | os.PathLike[str],
    encoder: VoiceEncoder,
    *,
    num_speakers: int | None = None,
    max_speakers: int | None = None,
) -> Diarization:
    """Diarize a recording decoded as a stream: only its mel frames (23 MB an hour) and
    speech regions are kept, never the whole audio (230 MB an hour)."""
    stream = MelStream()
    regions: list[tuple[float, float]] = []
    for block in iter_audio(path, block_seconds=_BLOCK_SECONDS):
        stream.feed(block.samples)
        regions.extend((block.start + s, block.start + e) for s, e in speech_regions(block.samples))
    return diarize_features(
        stream.finish(), regions, encoder, num_speakers=num_speakers, max_speakers=max_speakers
    )


def diarize_features(
    mels: np.ndarray,
    regions: list[tuple[float, float]],
    encoder: VoiceEncoder,
    *,
    num_speakers: int | None = None,
    max_speakers: int | None = None,
) -> Diarization:
    """Diarize from mel frames (features.py) and speech regions in seconds."""
    total = mels.shape[0]
    region_frames = [
        (int(s * _FPS), min(total, int(np.ceil(e * _FPS))))
        for s, e in regions
        if int(s * _FPS) < min(total, int(np.ceil(e * _FPS)))
    ]
    if not region_frames:
        return Diarization(turns=[])
    starts, stops, owners = _windows(region_frames, total)
    mels = np.pad(mels, ((0, WINDOW_FRAMES), (0, 0)))  # windows may run past the end
    lengths = stops - starts
    embeddings = np.empty((starts.size, 256), dtype=np.float32)
    for length in np.unique(lengths):  # one batch per window length
        pick = np.flatnonzero(lengths == length)
        for part in np.array_split(pick, max(1, pick.size // _GATHER)):  # bounded copies
            index = starts[part, None] + np.arange(length)[None, :]
            embeddings[part] = encoder.embed(mels[index])
    full = lengths == WINDOW_FRAMES
    chosen = full if full.sum() >= 4 else np.ones_like(full)
    labels = _labels(embeddings, chosen, num_speakers, max_speakers)
    centres = (starts + stops) / 2
    turns: list[Turn] = []
    for r, (first, last) in enumerate(region_frames):
        mine = np.flatnonzero(owners == r)  # in time order
        runs = _smooth(_runs(labels[mine][_nearest(centres[mine], first, last)]), _MIN_RUN)
        for start, stop, speaker in runs:
            turns.append(Turn((first + start) / _FPS, (first + stop) / _FPS, speaker))
    turns, order = _renumber(turns)
    kept = centroids(embeddings, labels)[order] if order else np.zeros((0, 256), np.float32)
    return Diarization(turns=turns, centroids=kept)


def _nearest(centres: np.ndarray, first: int, last: int) -> np.ndarray:
    """For each frame first..last-1, the index of the nearest of the sorted `centres`."""
    frames = np.arange(first, last) + 0.5
    right = np.clip(np.searchsorted(centres, frames), 0, centres.size - 1)
    left = np.clip(right - 1, 0, centres.size - 1)
    return np.where(np.abs(frames - centres[left]) <= np.abs(centres[right] - frames), left, right)


def _windows(
    regions: list[tuple[int, int]], total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window start and stop frames, and the region each belongs to."""
    step = max(1, round(STEP * _FPS))
    latest = max(0, total - WINDOW_FRAMES)
    spans: list[tuple[int, int, int]] = []
    for r, (first, last) in enumerate(regions):
        if last - first < WINDOW_FRAMES:
            # Below a fifth of a second there is too little voice: take that much.
            spans.append((first, max(last, first + _SHORTEST), r))
            continue
        picks = list(range(first, last - WINDOW_FRAMES + 1, step))
        if picks[-1] != last - WINDOW_FRAMES:
            picks.append(last - WINDOW_FRAMES)
        spans.extend((min(p, latest), min(p, latest) + WINDOW_FRAMES, r) for p in picks)
    starts, stops, owners = (np.array(column, dtype=int) for column in zip(*spans, strict=True))
    return starts, stops, owners


def _labels(
    embeddings: np.ndarray,
    chosen: np.ndarray,
    num_speakers: int | None,
    max_speakers: int | None = None,
) -> np.ndarray:
    """Cluster the `chosen` embeddings; the others join the nearest cluster's centroid."""
    labels = np.zeros(embeddings.shape[0], dtype=int)
    labels[chosen] = cluster(embeddings[chosen], num_speakers, max_speakers=max_speakers)
    if not chosen.all():
        middle = centroids(embeddings[chosen], labels[chosen])
        labels[~chosen] = np.argmax(embeddings[~chosen] @ middle.T, axis=1)
    return labels


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, label) of each run of equal labels."""
    cuts = np.flatnonzero(np.diff(labels)) + 1
    bounds = [0, *cuts.tolist(), labels.size]
    return [(a, b, int(labels[a])) for a, b in itertools.pairwise(bounds)]


def _smooth(runs: list[tuple[int, int, int]], shortest: int) -> list[tuple[int, int, int]]:
    """Give each run shorter than `shortest` frames to its longer neighbour, shortest first."""
    runs = list(runs)
    while len(runs) > 1:
        i = min(range(len(runs)), key=lambda j: runs[j][1] - runs[j][0])
        start, stop, _ = runs[i]
        if stop - start >= shortest:
            break
        left = runs[i - 1] if i > 0 else None
        right = runs[i + 1] if i + 1 < len(runs) else None
        if right is None or (left is not None and left[1] - left[0] >= right[1] - right[0]):
            assert left is not None
            runs[i - 1 : i + 1] = [(left[0], stop, left[2])]
        else:
            runs[i : i + 2] = [(start, right[1], right[2])]
        merged: list[tuple[int, int, int]] = []
        for run in runs:  # neighbours that now share a speaker become one run
            if merged and merged[-1][2] == run[2]:
                merged[-1] = (merged[-1][0], run[1], run[2])
            else:
                merged.append(run)
        runs = merged
    return runs


def _renumber(turns: list[Turn]) -> tuple[list[Turn], list[int]]:
    """Speakers numbered by first appearance; returns the turns and the old index of each."""
    order: list[int] = []
    for turn in turns:
        if turn.speaker not in order:
            order.append(turn.speaker)
    new = {old: i for i, old in enumerate(order)}
    return [Turn(t.start, t.end, new[t.speaker]) for t in turns], order
