"""The one media runner: transcription (then speaker labels) on a low-priority thread pool,
one model per process loaded on first use, the real-time factor counted; and the progress
throttle."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from bot.metrics import TRANSCRIPTION_RTF

if TYPE_CHECKING:
    from summarizer.transcribe import Transcriber
    from summarizer.types import Transcript

log = logging.getLogger(__name__)


def _lower_priority(niceness: int = 10) -> None:
    """Make the calling thread (and threads it starts) yield the CPU to request handling."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        log.debug("could not lower the priority of the media thread", exc_info=True)


class ProgressThrottle:
    """Lets a progress report through every `step` of the way or every `seconds`
    (and always the end); called from the transcription thread."""

    def __init__(self, *, step: float = 0.1, seconds: float = 5.0) -> None:
        self.step, self.seconds = step, seconds
        self._fraction, self._at = 0.0, 0.0

    def due(self, fraction: float) -> bool:
        now = time.monotonic()
        if (
            fraction < 1.0
            and fraction - self._fraction < self.step
            and now - self._at < self.seconds
        ):
            return False
        self._fraction, self._at = fraction, now
        return True


class MediaRunner:
    def __init__(
        self,
        transcriber_factory: Callable[[], Transcriber],
        *,
        workers: int = 2,
        diarization: bool = True,
    ) -> None:
        self._factory = transcriber_factory
        self.diarization = diarization
        self._transcriber: Transcriber | None = None
        self._lock = threading.Lock()
        # Transcription is CPU-bound for minutes; its threads (and the model's, which start
        # from them) run at a lower priority so that acks and replies stay fast meanwhile.
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="media", initializer=_lower_priority
        )

    def transcriber(self) -> Transcriber:
        with self._lock:  # one model per process, loaded on first use
            if self._transcriber is None:
                self._transcriber = self._factory()
            return self._transcriber

    async def transcribe(
        self,
        path: Path,
        *,
        on_progress: Callable[[float], None] | None = None,
        language: str | None = None,
        speakers: int | None = None,
    ) -> Transcript:
        """Transcribe on the media threads, counting the real-time factor; `on_progress`
        runs on the transcription thread. `language` overrides the configured one (a
        channel's setting); `speakers` is how many people took part, when the platform
        knows (a meeting's participants): the speaker count is estimated up to it, since
        some may not have spoken. With diarization on, speaker labels are
        added on the same thread right after (summarizer/speakers), the file decoded again:
        the transcriber streams, so no whole-file audio is kept to reuse."""

        def work() -> Transcript:
            started = time.perf_counter()
            transcriber = self.transcriber()
            if language:
                transcriber = transcriber.with_options(language=language)
            transcript = transcriber.transcribe(path, on_progress=on_progress)
            if transcript.duration:
                TRANSCRIPTION_RTF.observe((time.perf_counter() - started) / transcript.duration)
            if self.diarization:
                from summarizer.speakers import label_speakers  # numpy models: load on use

                transcript = label_speakers(transcript, path, max_speakers=speakers)
            return transcript

        return await asyncio.get_running_loop().run_in_executor(self._executor, work)


__all__ = ["MediaRunner", "ProgressThrottle"]
