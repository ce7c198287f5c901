"""Test speech: espeak-ng says a text, PyAV re-encodes it into the container a test needs.

A helper module, not a fixture file: tests import `synthesize` and call it into `tmp_path`.
espeak-ng is a Debian package (`.ci/run` installs it); without it the speech tests skip.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"

# fmt -> (container format, audio codec, audio rate, video codec or None)
FORMATS: dict[str, tuple[str, str, int, str | None]] = {
    "mp3": ("mp3", "libmp3lame", 22050, None),
    "m4a": ("ipod", "aac", 22050, None),
    "aac": ("adts", "aac", 22050, None),
    "ogg": ("ogg", "libopus", 48000, None),  # ogg/opus, as voice messages are
    "opus": ("ogg", "libopus", 48000, None),
    "flac": ("flac", "flac", 22050, None),
    "webm": ("webm", "libopus", 48000, "libvpx"),
    "mp4": ("mp4", "aac", 22050, "libx264"),
    "mkv": ("matroska", "libopus", 48000, "libvpx"),
}


def espeak_available() -> bool:
    return Path(ESPEAK).exists()


def require_espeak() -> None:
    """Skip the calling test when espeak-ng is missing, and say how to get it."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng); speech tests need it")


def synthesize(
    text: str, path: Path, fmt: str = "wav", *, gap_seconds: float = 0.0, live: bool = False
) -> Path:
    """Speak `text` with espeak-ng into `path`, encoded as `fmt` (wav, mp3, m4a, ogg, ...).

    `gap_seconds` adds that much silence between sentences (one espeak run per line of
    `text`), which gives windowing tests quiet points to cut at. `live` writes webm/mkv the
    way a browser's MediaRecorder does: without a duration in the header.
    """
    require_espeak()
    path = Path(path)
    wav = path.with_name(path.stem + ".espeak.wav") if fmt != "wav" else path
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if gap_seconds and len(lines) > 1:
        parts: list[np.ndarray] = []
        rate = 22050
        for i, line in enumerate(lines):
            part_path = path.with_name(f"{path.stem}.part{i}.wav")
            _espeak(line, part_path)
            samples, rate = read_wav(part_path)
            part_path.unlink()
            parts.append(samples)
            parts.append(np.zeros(round(gap_seconds * rate), dtype=np.int16))
        write_wav(wav, np.concatenate(parts[:-1]), rate)
    else:
        _espeak(" ".join(lines), wav)
    if fmt == "wav":
        return path
    encode(wav, path, fmt, live=live)
    wav.unlink()
    return path


def encode(source: Path, path: Path, fmt: str, *, live: bool = False) -> Path:
    """Re-encode the audio of `source` into `path` as `fmt`; video formats get a black picture."""
    container_format, codec, rate, video_codec = FORMATS[fmt]
    options = {"live": "1"} if live else {}
    with (
        av.open(str(source)) as src,
        av.open(str(path), "w", format=container_format, options=options) as dst,
    ):
        audio = dst.add_stream(codec, rate=rate, layout="mono")
        video = None
        if video_codec:
            video = dst.add_stream(video_codec, rate=5)
            video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=rate)
        seconds = 0.0
        for frame in src.decode(audio=0):
            frame.pts = None
            for out in resampler.resample(frame):
                dst.mux(audio.encode(out))
            seconds = max(seconds, float(frame.time or 0) + frame.samples / frame.sample_rate)
        for out in resampler.resample(None):
            dst.mux(audio.encode(out))
        dst.mux(audio.encode(None))
        if video is not None:
            _black_video(dst, video, seconds)
    return path


def write_video_without_audio(path: Path, seconds: float = 2.0, fmt: str = "mp4") -> Path:
    """A short black video with no audio track at all (a screen recording without sound)."""
    container_format, _codec, _rate, video_codec = FORMATS[fmt]
    with av.open(str(path), "w", format=container_format) as dst:
        video = dst.add_stream(video_codec or "libx264", rate=5)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        _black_video(dst, video, seconds)
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """The int16 samples and rate of a mono wav (espeak-ng's output)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
    return samples.astype(np.int16), rate


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write mono int16 samples as a wav file."""
    with av.open(str(path), "w", format="wav") as dst:
        stream = dst.add_stream("pcm_s16le", rate=rate, layout="mono")
        step = rate  # one-second frames
        for start in range(0, len(samples), step):
            chunk = np.ascontiguousarray(samples[start : start + step], dtype=np.int16)
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    return path


# Distinct espeak-ng voices for several-speaker recordings: (voice, words per minute, pitch).
VOICES: tuple[tuple[str, int, int], ...] = (
    ("en-us+m3", 150, 35),
    ("en-gb+f2", 165, 70),
    ("en-us+m7", 140, 20),
    ("en-gb+f4", 155, 85),
)


def synthesize_dialogue(
    turns: list[tuple[int, str]], path: Path, fmt: str = "wav", *, gap_seconds: float = 0.6
) -> tuple[Path, list[tuple[float, float, int]]]:
    """Speak `turns` ((speaker index into VOICES, text), in order) into one recording with
    `gap_seconds` of silence between turns. Returns the file and the reference turns
    (start, end, speaker index) in seconds, for measuring diarization."""
    require_espeak()
    path = Path(path)
    wav = path.with_name(path.stem + ".dialogue.wav") if fmt != "wav" else path
    parts: list[np.ndarray] = []
    reference: list[tuple[float, float, int]] = []
    rate, at = 22050, 0.0
    for i, (speaker, text) in enumerate(turns):
        part_path = path.with_name(f"{path.stem}.turn{i}.wav")
        _espeak(text, part_path, voice=VOICES[speaker % len(VOICES)])
        samples, rate = read_wav(part_path)
        part_path.unlink()
        if parts:
            parts.append(np.zeros(round(gap_seconds * rate), dtype=np.int16))
            at += gap_seconds
        reference.append((round(at, 3), round(at + samples.size / rate, 3), speaker))
        at += samples.size / rate
        parts.append(samples)
    write_wav(wav, np.concatenate(parts), rate)
    if fmt != "wav":
        encode(wav, path, fmt)
        wav.unlink()
    return path, reference


def _espeak(text: str, wav: Path, *, voice: tuple[str, int, int] = ("en-us", 150, 50)) -> None:
    name, speed, pitch = voice
    subprocess.run(
        [ESPEAK, "-v", name, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _black_video(dst: av.container.OutputContainer, video: av.VideoStream, seconds: float) -> None:
    picture = np.zeros((64, 64, 3), dtype=np.uint8)
    frames = max(1, round(seconds * 5))
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = i
        frame.time_base = Fraction(1, 5)
        dst.mux(video.encode(frame))
    dst.mux(video.encode(None))
