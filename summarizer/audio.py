"""Reading audio and video files: probe them, then stream their sound as 16 kHz mono float32.

Everything goes through PyAV (FFmpeg bundled in the wheel), so wav, mp3, m4a/aac, mp4,
webm, mkv, ogg/opus and flac all work without a system FFmpeg.

Uploaded files come from users, so every file is opened through the gate of
summarizer/media_gate.py (only local files, only the demuxers of real recordings), and
every failure becomes one of the errors of `summarizer.errors` with a message fit to show
as it is. summarizer/media_damage.py tells when only part of a file could be read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import av
import av.error
import numpy as np
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer

from summarizer.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    UnsupportedMediaError,
)
from summarizer.media_damage import damage_note
from summarizer.media_gate import (
    ALLOWED_FORMATS,
    IMAGE_FORMATS,
    MEDIA_EXTENSIONS,
    NOT_MEDIA,
    check_file,
    open_container,
)

__all__ = [
    "ALLOWED_FORMATS",
    "MEDIA_EXTENSIONS",
    "SAMPLE_RATE",
    "AudioBlock",
    "MediaInfo",
    "creation_time",
    "damage_note",
    "iter_audio",
    "load_audio",
    "probe",
]

SAMPLE_RATE = 16_000
"""Whisper's input rate; every block this module yields is at this rate, mono, float32."""

# How much of a file probe() decodes to make sure the audio really decodes.
_PROBE_DECODE_SECONDS = 1.0
_PROBE_MAX_PACKETS = 200
_MAX_DEMUX_FAILURES = 100
# Messages (summarizer/errors.py: a clause that follows the file's name).
_NOTHING_DECODES = "the file looks damaged: none of its audio could be decoded."


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a file holds, as far as its container tells without decoding it all."""

    path: str
    size: int  # bytes
    format_name: str  # FFmpeg's demuxer name(s), e.g. "wav", "mp3", "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float | None  # seconds; None when the container does not say (some webm)
    has_audio: bool
    has_video: bool
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    # The container's `creation_time` tag (mp4/mov/mkv/webm from phones and recorders): when
    # the recording started, as the device says. None when absent or not a real date.
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class AudioBlock:
    """A run of decoded audio, in file order."""

    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    start: float  # seconds from the start of the audio
    # How much of the file the demuxer has read so far (0..1), or None when unknown: lets a
    # caller estimate progress when the container does not state a duration.
    read_fraction: float | None


def probe(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    max_seconds: float | None = None,
) -> MediaInfo:
    """Check that `path` is a recording we can transcribe, and describe it.

    Cheap: reads the header and decodes about a second of audio, so bad uploads fail with a
    clear message before any long job starts. Raises `UnsupportedMediaError` (not media),
    `CorruptMediaError` (media that does not decode), `EmptyMediaError` (no audio stream or
    an empty file) or `MediaTooLargeError` (over `max_bytes` or `max_seconds`).
    """
    name, size = check_file(path, max_bytes=max_bytes)
    container = open_container(path)
    with container:
        audio = container.streams.audio[0] if container.streams.audio else None
        has_video = bool(container.streams.video)
        format_name = container.format.name
        if audio is None:
            if not has_video or any(part in format_name for part in IMAGE_FORMATS):
                raise UnsupportedMediaError(NOT_MEDIA, source=name)
            raise EmptyMediaError(
                "the video has no sound track, so there is nothing to transcribe.", source=name
            )
        duration = _duration(container, audio)
        if max_seconds is not None and duration is not None and duration > max_seconds:
            raise MediaTooLargeError(
                f"the recording is {_human_duration(duration)} long; the limit is "
                f"{_human_duration(max_seconds)}.",
                source=name,
            )
        _check_decodes(container, audio, name)
        codec = audio.codec_context
        return MediaInfo(
            path=os.fspath(path),
            size=size,
            format_name=format_name,
            duration=duration,
            has_audio=True,
            has_video=has_video,
            audio_codec=codec.name,
            sample_rate=codec.sample_rate or None,
            channels=codec.channels or None,
            created=_creation_tag(container),
        )


def creation_time(path: str | os.PathLike[str]) -> datetime | None:
    """The container's `creation_time` tag (see `MediaInfo.created`); reads the header only.
    None too for a file that cannot be opened: it is then simply not dated by its tag."""
    try:
        with open_container(path) as container:
            return _creation_tag(container)
    except MediaError:
        return None


# Before this, a tag is a placeholder (encoders write 1904 or 1970 for "unknown").
_EARLIEST_TAG = datetime(2000, 1, 1, tzinfo=UTC)


def _creation_tag(container: InputContainer) -> datetime | None:
    tags = [container.metadata, *(s.metadata for s in container.streams)]
    for value in (t.get("creation_time") for t in tags):
        if not value:
            continue
        try:
            stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        if stamp >= _EARLIEST_TAG:
            return stamp.astimezone(UTC)
    return None


def iter_audio(
    path: str | os.PathLike[str],
    *,
    block_seconds: float = 30.0,
    max_seconds: float | None = None,
) -> Iterator[AudioBlock]:
    """Decode the first audio stream of `path` lazily, as 16 kHz mono float32 blocks.

    Blocks hold `block_seconds` of audio (the last one less), so a long recording is never
    decoded whole: memory stays at one block plus FFmpeg's buffers. Packets that fail to
    decode are skipped, as players do; a file where nothing decodes raises
    `CorruptMediaError`. Decoding stops with `MediaTooLargeError` once more than
    `max_seconds` were decoded (for containers that do not state their duration).
    """
    if block_seconds <= 0:
        raise ValueError("block_seconds must be positive")
    name, size = check_file(path, max_bytes=None)
    block_samples = max(1, round(block_seconds * SAMPLE_RATE))
    max_samples = None if max_seconds is None else round(max_seconds * SAMPLE_RATE)
    container = open_container(path)
    with container:
        if not container.streams.audio:
            raise EmptyMediaError("the file has no sound track to transcribe.", source=name)
        stream = container.streams.audio[0]
        pending: list[np.ndarray] = []
        pending_samples = 0
        emitted = 0
        position = 0
        failures = 0
        for chunk, pos, failed in _decode(container, stream):
            failures += failed
            if pos is not None:
                position = max(position, pos)
            if chunk is None:
                continue
            pending.append(chunk)
            pending_samples += chunk.size
            if max_samples is not None and emitted + pending_samples > max_samples:
                raise MediaTooLargeError(
                    f"the recording is longer than {_human_duration(max_seconds or 0)}, the limit.",
                    source=name,
                )
            while pending_samples >= block_samples:
                block, pending, pending_samples = _take(pending, pending_samples, block_samples)
                yield AudioBlock(
                    samples=block,
                    start=emitted / SAMPLE_RATE,
                    read_fraction=min(1.0, position / size) if position else None,
                )
                emitted += block.size
        if pending_samples:
            block, pending, pending_samples = _take(pending, pending_samples, pending_samples)
            yield AudioBlock(samples=block, start=emitted / SAMPLE_RATE, read_fraction=1.0)
            emitted += block.size
        if emitted == 0 and failures:
            raise CorruptMediaError(_NOTHING_DECODES, source=name)


def load_audio(path: str | os.PathLike[str], *, max_seconds: float | None = None) -> np.ndarray:
    """Decode a whole (short) file into one 16 kHz mono float32 array; for clips and tests."""
    blocks = [b.samples for b in iter_audio(path, max_seconds=max_seconds)]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


# -- internals ---------------------------------------------------------------------------


def _duration(container: InputContainer, stream: AudioStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _check_decodes(container: InputContainer, stream: AudioStream, name: str) -> None:
    """Decode about a second of audio, so damage at the start shows up in probe()."""
    if stream.codec_context is None:
        raise UnsupportedMediaError("its sound is in a format we can't decode.", source=name)
    decoded = 0
    failures = 0
    packets = 0
    for chunk, _pos, failed in _decode(container, stream):
        failures += failed
        packets += 1
        if chunk is not None:
            decoded += chunk.size
        if decoded >= _PROBE_DECODE_SECONDS * SAMPLE_RATE or packets >= _PROBE_MAX_PACKETS:
            break
    if decoded == 0 and failures:
        raise CorruptMediaError(_NOTHING_DECODES, source=name)
    if decoded == 0 and packets < _PROBE_MAX_PACKETS:
        raise EmptyMediaError("the recording holds no sound.", source=name)


def _decode(
    container: InputContainer, stream: AudioStream
) -> Iterator[tuple[np.ndarray | None, int | None, int]]:
    """Yield (resampled samples or None, byte position or None, failures) per packet.

    Undecodable packets are skipped (counted as failures), as players do. The resampler is
    rebuilt when the stream changes rate or layout midway (it happens in concatenated mp3s).
    """
    resampler: AudioResampler | None = None
    shape: tuple[str, str, int] | None = None  # what the resampler was set up for
    packets = container.demux(stream)
    demux_failures = 0
    while True:
        try:
            packet = next(packets)
        except (StopIteration, av.error.EOFError):
            break
        except (av.error.InvalidDataError, av.error.ArgumentError):
            # A damaged stretch: a generator that raised is finished, so start a new one,
            # which reads on from where the demuxer stopped. Give up if it keeps failing.
            yield None, None, 1
            demux_failures += 1
            if demux_failures > _MAX_DEMUX_FAILURES:
                break
            packets = container.demux(stream)
            continue
        except av.error.FFmpegError:
            yield None, None, 1
            break  # an I/O-level error: nothing more will come
        pos = packet.pos if packet.pos is not None and packet.pos >= 0 else None
        out: list[np.ndarray] = []
        try:
            for frame in packet.decode():
                frame.pts = None  # only the order of samples matters; skip FFmpeg's pts checks
                frame_shape = (frame.format.name, frame.layout.name, frame.sample_rate)
                if resampler is None or frame_shape != shape:
                    out.extend(_flush(resampler))
                    resampler = AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
                    shape = frame_shape
                out.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        except (av.error.FFmpegError, ValueError):
            yield (np.concatenate(out) if out else None), pos, 1
            continue
        yield (np.concatenate(out) if out else None), pos, 0
    if resampler is not None:
        tail = _flush(resampler)
        if tail:
            yield np.concatenate(tail), None, 0


def _flush(resampler: AudioResampler | None) -> list[np.ndarray]:
    if resampler is None:
        return []
    try:
        return [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except (av.error.FFmpegError, ValueError):
        return []


def _take(
    pending: list[np.ndarray], pending_samples: int, count: int
) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Split the first `count` samples off the pending chunks."""
    joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
    block = np.ascontiguousarray(joined[:count], dtype=np.float32)
    rest = joined[count:]
    return block, ([rest] if rest.size else []), pending_samples - count


def _human_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
