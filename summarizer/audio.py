"""Reading audio and video files: probe them, then stream their sound as 16 kHz mono float32.

Everything goes through PyAV (FFmpeg bundled in the wheel), so wav, mp3, m4a/aac, mp4,
webm, mkv, ogg/opus and flac all work without a system FFmpeg.

Uploaded files come from users, so this module is defensive. FFmpeg has demuxers that open
other files or URLs (an HLS playlist's segments, a concat list, an image sequence, an SDP
session): FFmpeg is allowed only the `file` protocol and only the demuxers of real
recordings (`ALLOWED_FORMATS`), checked on FFmpeg's own probe, before any demuxer reads its
header. Text files are refused even earlier, for a clearer message. Every failure becomes one
of the errors of `summarizer.errors` with a message fit to show as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer

from summarizer.errors import (
    CorruptMediaError,
    EmptyMediaError,
    InputError,
    MediaTooLargeError,
    UnsupportedMediaError,
)

SAMPLE_RATE = 16_000
"""Whisper's input rate; every block this module yields is at this rate, mono, float32."""

MEDIA_EXTENSIONS = frozenset(
    {
        ".3gp", ".aac", ".aif", ".aiff", ".amr", ".caf", ".flac", ".m4a", ".m4b", ".m4v",
        ".mka", ".mkv", ".mov", ".mp2", ".mp3", ".mp4", ".mpeg", ".mpg", ".mpga", ".oga",
        ".ogg", ".ogv", ".opus", ".wav", ".weba", ".webm", ".wma", ".wmv",
    }
)  # fmt: skip

# The demuxers (FFmpeg's names) that read recordings and nothing but the file they are given.
# Everything else is refused on FFmpeg's probe, before the demuxer runs: playlists and lists
# (hls, dash, concat), image sequences (image2), sessions (sdp, rtsp), subtitles and text (tty,
# srt, ...), lavfi graphs, and the many exotic demuxers nobody records meetings with.
ALLOWED_FORMATS = frozenset(
    {
        "aac", "ac3", "aiff", "amr", "amrnb", "amrwb", "asf", "avi", "caf", "eac3", "flac",
        "matroska", "mov", "mp3", "mpeg", "mpegts", "ogg", "w64", "wav", "wv",
    }
)  # fmt: skip

# Image demuxers: FFmpeg opens a picture as a one-frame "video"; that is not a recording.
_IMAGE_FORMATS = ("image2", "_pipe", "gif", "apng", "webp")

# What FFmpeg may do while opening a file: read that one file, and only with a demuxer of
# ALLOWED_FORMATS (FFmpeg checks the probed name against format_whitelist before the demuxer
# reads a byte of its header). The mov demuxer's external data references stay off.
_OPEN_OPTIONS = {
    "protocol_whitelist": "file",
    "format_whitelist": ",".join(sorted(ALLOWED_FORMATS)),
    "enable_drefs": "0",
}

# Playlists users share by mistake (or not): named in the message, refused like the rest.
_PLAYLIST_SUFFIXES = frozenset({".m3u", ".m3u8", ".pls", ".ffconcat", ".mpd", ".xspf", ".sdp"})
_PLAYLIST_HEADS = (b"#EXTM3U", b"ffconcat", b"[playlist]", b"v=0")

# Messages (summarizer/errors.py: a clause that follows the file's name).
_NOT_MEDIA = "this isn't audio or video we can read."
_PLAYLIST = "this is a playlist, not a recording we can read."
_NOTHING_DECODES = "the file looks damaged: none of its audio could be decoded."

# Demuxers whose duration is stated by the file (not estimated from its bit rate, as for
# ADTS AAC): audio that ends well before it means the file is damaged or cut off.
_STATED_DURATION = frozenset({"flac", "matroska", "webm", "mov", "mp4", "m4a", "mp3", "aiff"})
_OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, segment table, body

# How much of a file probe() decodes to make sure the audio really decodes.
_PROBE_DECODE_SECONDS = 1.0
_PROBE_MAX_PACKETS = 200
_MAX_DEMUX_FAILURES = 100


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
    name, size = _check_file(path, max_bytes=max_bytes)
    container = _open(path)
    with container:
        audio = container.streams.audio[0] if container.streams.audio else None
        has_video = bool(container.streams.video)
        format_name = container.format.name
        if audio is None:
            if not has_video or any(part in format_name for part in _IMAGE_FORMATS):
                raise UnsupportedMediaError(_NOT_MEDIA, source=name)
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
        )


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
    name, size = _check_file(path, max_bytes=None)
    block_samples = max(1, round(block_seconds * SAMPLE_RATE))
    max_samples = None if max_seconds is None else round(max_seconds * SAMPLE_RATE)
    container = _open(path)
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


def damage_note(info: MediaInfo, read_seconds: float) -> str | None:
    """A note for the reader when only part of `info`'s file could be decoded, else None.

    FFmpeg ends a damaged or cut-off file quietly, as players do. It shows when the audio
    read (`read_seconds`) falls short of the duration the file states (WAV and MP3 headers,
    FLAC, WebM, Matroska, MP4), or, for Ogg (which states none), when the file stops
    without its end-of-stream page: how a voice note cut short by a failed upload looks.
    """
    read = _clock(read_seconds)
    kinds = set(info.format_name.split(","))
    stated = info.duration if kinds & _STATED_DURATION else None
    if "wav" in kinds:  # FFmpeg clamps a WAV's duration to the bytes there: ask the header
        stated = _wav_declared_seconds(info.path)
    if stated and stated - read_seconds > max(2.0, stated / 20):
        return (
            f"Only the first {read} of {_clock(stated)} could be read; "
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


def _clock(seconds: float) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def load_audio(path: str | os.PathLike[str], *, max_seconds: float | None = None) -> np.ndarray:
    """Decode a whole (short) file into one 16 kHz mono float32 array; for clips and tests."""
    blocks = [b.samples for b in iter_audio(path, max_seconds=max_seconds)]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


# -- internals ---------------------------------------------------------------------------


def _check_file(path: str | os.PathLike[str], *, max_bytes: int | None) -> tuple[str, int]:
    """Stat and sniff the file: the cheap checks that need no FFmpeg."""
    name = Path(path).name
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise InputError("no such file.", source=name) from None
    except OSError as exc:
        raise InputError(f"the file can't be read ({exc.strerror}).", source=name) from None
    if not os.path.isfile(path):
        raise InputError("not a file.", source=name)
    if size == 0:
        raise EmptyMediaError("the file is empty.", source=name)
    if max_bytes is not None and size > max_bytes:
        raise MediaTooLargeError(
            f"the file is {_human_bytes(size)}; the limit is {_human_bytes(max_bytes)}.",
            source=name,
        )
    with open(path, "rb") as file:
        head = file.read(4096)
    kind = _sniff(head)
    if kind in ("text", None) and _looks_like_playlist(path, head):
        raise UnsupportedMediaError(_PLAYLIST, source=name)
    if kind == "text":
        raise UnsupportedMediaError(f"{_NOT_MEDIA[:-1]} (it looks like a text file).", source=name)
    if kind is not None and kind != "media":
        raise UnsupportedMediaError(f"{_NOT_MEDIA[:-1]} (it looks like {kind}).", source=name)
    return name, size


def _sniff(head: bytes) -> str | None:
    """Classify a file by its first bytes: "media", "text", a document kind, or None."""
    if head.startswith((b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3", b"#!AMR", b"caff")):
        return "media"
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "):
        return "media"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "media"
    if head[4:8] == b"ftyp" or head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "media"  # MP4/MOV/M4A/3GP, ASF (wma/wmv)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] != 0xFF:
        return "media"  # MPEG audio / ADTS AAC frame sync
    for magic, kind in (
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a zip archive or office document"),
        (b"\x89PNG", "an image"),
        (b"\xff\xd8\xff", "an image"),
        (b"GIF8", "an image"),
        (b"\x7fELF", "a program"),
    ):
        if head.startswith(magic):
            return kind
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the 4 KiB read is still text.
            if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
                return "text"
    return None


def _looks_like_media(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as file:
        head = file.read(4096)
    return _sniff(head) == "media" or Path(path).suffix.lower() in MEDIA_EXTENSIONS


def _looks_like_playlist(path: str | os.PathLike[str], head: bytes) -> bool:
    return Path(path).suffix.lower() in _PLAYLIST_SUFFIXES or head.lstrip(
        b"\xef\xbb\xbf \t\r\n"
    ).startswith(_PLAYLIST_HEADS)


def _open(path: str | os.PathLike[str]) -> InputContainer:
    """Open with FFmpeg as a plain local file with an allowed demuxer, turning its errors
    into ours."""
    name = Path(path).name
    try:
        # An absolute path, so FFmpeg never reads "name:..." as a protocol prefix.
        container = av.open(
            os.path.abspath(path),
            mode="r",
            container_options=_OPEN_OPTIONS,
            metadata_errors="ignore",
        )
    except av.error.ArgumentError as exc:
        # EINVAL at open: the probed demuxer is not on the format whitelist.
        raise _refused(path, name) from exc
    except av.error.PermissionError as exc:
        # EPERM: a demuxer wanted something the whitelists forbid (belt and braces).
        raise _refused(path, name) from exc
    except av.error.FFmpegError as exc:
        if _looks_like_media(path):
            raise CorruptMediaError(
                "the file looks damaged or incomplete, so we can't read it.", source=name
            ) from exc
        raise UnsupportedMediaError(_NOT_MEDIA, source=name) from exc
    # Checked again here, should an FFmpeg build ever ignore format_whitelist.
    if not set(container.format.name.split(",")) & ALLOWED_FORMATS:
        container.close()
        raise _refused(path, name)
    return container


def _refused(path: str | os.PathLike[str], name: str) -> UnsupportedMediaError:
    with open(path, "rb") as file:
        head = file.read(4096)
    if _looks_like_playlist(path, head):
        return UnsupportedMediaError(_PLAYLIST, source=name)
    return UnsupportedMediaError("this is not a recording we can read.", source=name)


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


def _human_bytes(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _human_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
