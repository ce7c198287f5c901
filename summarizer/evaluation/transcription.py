"""Run a transcriber over a manifest of clips and score its word error rate and speed.

The transcriber is passed in as a plain callable, so the same harness measures the bundled
Whisper model or a fake in tests.

Failures of the callable that the pipeline reports as :class:`SummarizerError` (a corrupt
clip, an LLM that gave up) are recorded on the item and scored as an empty output, so one
bad input neither stops a long run nor quietly improves the averages. Anything else is a
bug and propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from summarizer.errors import InputError, SummarizerError
from summarizer.types import Transcript

from . import io
from .io import check_limit, iter_jsonl, required_field
from .metrics import WordErrors, word_errors
from .report import finite, percent, table

__all__ = ["ClipResult", "TranscriptionReport", "evaluate_transcription"]


@dataclass
class ClipResult:
    """One clip: what was said, what was heard, and how long it took."""

    id: str
    audio: str
    reference: str
    hypothesis: str
    duration_s: float
    processing_s: float
    word_errors: WordErrors  # after normalize_text, standardised
    error: str | None = None  # why the transcriber failed, if it did

    @property
    def wer(self) -> float | None:
        return self.word_errors.wer

    @property
    def rtf(self) -> float | None:
        return self.processing_s / self.duration_s if self.duration_s > 0 else None


@dataclass
class TranscriptionReport:
    """Corpus WER and speed of a transcriber over a manifest."""

    source: str
    items: list[ClipResult]
    word_errors: WordErrors  # summed over clips: the corpus WER's numerator and denominator
    basic_word_errors: WordErrors  # the same with standardize=False (no number/title rewriting)

    @property
    def wer(self) -> float | None:
        return self.word_errors.wer

    @property
    def wer_basic(self) -> float | None:
        return self.basic_word_errors.wer

    @property
    def audio_s(self) -> float:
        return sum(item.duration_s for item in self.items)

    @property
    def processing_s(self) -> float:
        return sum(item.processing_s for item in self.items)

    @property
    def rtf(self) -> float | None:
        """Real-time factor: processing time per second of audio (lower is faster)."""
        return self.processing_s / self.audio_s if self.audio_s > 0 else None

    @property
    def failures(self) -> list[ClipResult]:
        return [item for item in self.items if item.error is not None]

    def to_markdown(self, *, per_item: bool = False) -> str:
        """A summary table (and optionally one row per clip) for docs/quality.md."""
        rtf = "n/a" if self.rtf is None else f"{self.rtf:.3f}"
        summary = table(
            [
                "Data",
                "Clips",
                "Audio (s)",
                "Processing (s)",
                "RTF",
                "WER",
                "WER (basic normalisation)",
                "S / D / I",
            ],
            [
                [
                    self.source,
                    f"{len(self.items)} ({len(self.failures)} failed)",
                    f"{self.audio_s:.1f}",
                    f"{self.processing_s:.1f}",
                    rtf,
                    percent(self.wer),
                    percent(self.wer_basic),
                    f"{self.word_errors.substitutions} / {self.word_errors.deletions} / "
                    f"{self.word_errors.insertions}",
                ]
            ],
        )
        parts = [
            summary,
            "",
            f"WER is corpus-level ({self.word_errors.reference_words} reference words) after "
            "lowercasing and stripping punctuation; the main figure also writes number words "
            "as digits and expands Mr/Mrs on both sides. "
            "RTF = total processing time / total audio duration.",
        ]
        if per_item:
            rows = [
                [
                    item.id,
                    f"{item.duration_s:.1f}",
                    f"{item.processing_s:.2f}",
                    percent(item.wer),
                    item.error or item.hypothesis,
                ]
                for item in self.items
            ]
            parts += ["", table(["Clip", "Audio (s)", "Time (s)", "WER", "Hypothesis"], rows)]
        if self.failures:
            parts += ["", "Failed clips:"]
            parts += [f"- {item.id}: {item.error}" for item in self.failures]
        return "\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the summary figures and every clip."""
        return {
            "source": self.source,
            "clips": len(self.items),
            "failed": len(self.failures),
            "audio_s": self.audio_s,
            "processing_s": self.processing_s,
            "rtf": finite(self.rtf),
            "wer": self.wer,
            "wer_basic": self.wer_basic,
            **asdict(self.word_errors),
            "reference_words": self.word_errors.reference_words,
            "items": [
                {
                    "id": item.id,
                    "audio": item.audio,
                    "duration_s": item.duration_s,
                    "processing_s": item.processing_s,
                    "rtf": finite(item.rtf),
                    "wer": item.wer,
                    "reference_words": item.word_errors.reference_words,
                    **asdict(item.word_errors),
                    "reference": item.reference,
                    "hypothesis": item.hypothesis,
                    "error": item.error,
                }
                for item in self.items
            ],
        }


def evaluate_transcription(
    manifest: Path,
    transcribe: Callable[[Path], Transcript],
    *,
    limit: int | None = None,
    on_item: Callable[[ClipResult], None] | None = None,
) -> TranscriptionReport:
    """Transcribe every clip of a manifest and score it against its reference text.

    Rows: {"id", "audio" (path relative to the manifest's folder), "text", "duration_s"};
    other fields are ignored. Only the call to ``transcribe`` is timed. ``on_item`` is
    called after each clip (progress bars, streaming output).
    """
    check_limit(limit)
    manifest = Path(manifest)
    items: list[ClipResult] = []
    with closing(iter_jsonl(manifest)) as rows:
        for where, row in rows:
            clip_id = required_field(row, "id", "a string", where)
            audio = required_field(row, "audio", "a string", where)
            reference = required_field(row, "text", "a string", where)
            duration = float(required_field(row, "duration_s", "a number", where))
            path = manifest.parent / audio
            if not path.is_file():
                raise InputError(f"{where}: audio file not found: {path}")
            error = None
            started = io.clock()
            try:
                hypothesis = transcribe(path).text
            except SummarizerError as exc:
                hypothesis, error = "", str(exc) or type(exc).__name__
            elapsed = io.clock() - started
            item = ClipResult(
                id=clip_id,
                audio=audio,
                reference=reference,
                hypothesis=hypothesis,
                duration_s=duration,
                processing_s=elapsed,
                word_errors=word_errors(reference, hypothesis),
                error=error,
            )
            items.append(item)
            if on_item is not None:
                on_item(item)
            if limit is not None and len(items) >= limit:
                break
    if not items:
        raise InputError(f"{manifest}: no clips to evaluate")
    return TranscriptionReport(
        source=manifest.name,
        items=items,
        word_errors=sum((item.word_errors for item in items), WordErrors()),
        basic_word_errors=word_errors(
            [item.reference for item in items],
            [item.hypothesis for item in items],
            standardize=False,
        ),
    )
