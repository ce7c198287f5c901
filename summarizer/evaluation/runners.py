"""Run a transcriber or a summariser over a reference set and score it.

The model is passed in as a plain callable, so the same harness measures the offline
engine, an LLM, or a fake in tests. Input files are JSONL and are read one row at a time:
the meeting files hold hundreds of thousands of words, and only the scores are kept.

Failures of the callable that the pipeline reports as :class:`SummarizerError` (a corrupt
clip, an LLM that gave up) are recorded on the item and scored as an empty output, so one
bad input neither stops a long run nor quietly improves the averages. Anything else is a
bug and propagates.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from summarizer.errors import InputError, SummarizerError
from summarizer.types import Conversation, Message, Recap, Transcript

from .metrics import (
    DEFAULT_MATCH_THRESHOLD,
    PRF,
    MatchResult,
    RougeScores,
    WordErrors,
    match_items,
    rouge,
    word_errors,
)

__all__ = [
    "ClipResult",
    "MeetingResult",
    "RecapReport",
    "TranscriptionReport",
    "evaluate_recaps",
    "evaluate_transcription",
    "recap_action_texts",
]

# Seconds, monotonic; a module attribute so that tests can make time deterministic.
_clock = time.perf_counter

# --------------------------------------------------------------------------------------
# Reading JSONL
# --------------------------------------------------------------------------------------


def _iter_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ("<file> line N", row) for each non-blank line, with one-line errors."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                where = f"{path.name} line {number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{where}: invalid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise InputError(f"{where}: expected a JSON object")
                yield where, row
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


_KINDS: dict[str, tuple[type, ...]] = {
    "a string": (str,),
    "a list": (list,),
    "a number": (int, float),
}


def _field(row: dict[str, Any], key: str, kind: str, where: str) -> Any:
    """row[key], which must be present, not null and of ``kind`` (a key of _KINDS)."""
    if row.get(key) is None:
        raise InputError(f"{where}: missing field '{key}'")
    value = row[key]
    if not isinstance(value, _KINDS[kind]) or isinstance(value, bool):
        raise InputError(f"{where}: field '{key}' must be {kind}")
    return value


def _optional_strings(row: dict[str, Any], key: str, where: str) -> list[str] | None:
    """A list of strings, or None when the field is absent (the metric is then skipped)."""
    if row.get(key) is None:
        return None
    value = _field(row, key, "a list", where)
    if not all(isinstance(item, str) for item in value):
        raise InputError(f"{where}: field '{key}' must be a list of strings")
    return value


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise InputError("limit must be a positive number")


# AMI annotators wrote "*NA*" or "NA." where a meeting has no action item or decision;
# it means "none", not an item to find.
_PLACEHOLDER = re.compile(r"^\W*(?:n\W*a|none|nil)\W*$", re.IGNORECASE)


def _reference_items(items: list[str]) -> list[str]:
    return [item for item in items if item.strip() and not _PLACEHOLDER.match(item)]


# --------------------------------------------------------------------------------------
# Markdown helpers
# --------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _prf(value: PRF | None) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value.precision:.1f} / {100 * value.recall:.1f} / {100 * value.f1:.1f}"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# --------------------------------------------------------------------------------------
# Transcription
# --------------------------------------------------------------------------------------


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
        summary = _table(
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
                    _pct(self.wer),
                    _pct(self.wer_basic),
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
                    _pct(item.wer),
                    item.error or item.hypothesis,
                ]
                for item in self.items
            ]
            parts += ["", _table(["Clip", "Audio (s)", "Time (s)", "WER", "Hypothesis"], rows)]
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
            "rtf": _finite(self.rtf),
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
                    "rtf": _finite(item.rtf),
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
    _check_limit(limit)
    manifest = Path(manifest)
    items: list[ClipResult] = []
    with closing(_iter_jsonl(manifest)) as rows:
        for where, row in rows:
            clip_id = _field(row, "id", "a string", where)
            audio = _field(row, "audio", "a string", where)
            reference = _field(row, "text", "a string", where)
            duration = float(_field(row, "duration_s", "a number", where))
            path = manifest.parent / audio
            if not path.is_file():
                raise InputError(f"{where}: audio file not found: {path}")
            error = None
            started = _clock()
            try:
                hypothesis = transcribe(path).text
            except SummarizerError as exc:
                hypothesis, error = "", str(exc) or type(exc).__name__
            elapsed = _clock() - started
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


# --------------------------------------------------------------------------------------
# Recaps
# --------------------------------------------------------------------------------------


def recap_action_texts(recap: Recap, *, prefix_owner: bool = True) -> list[str]:
    """The strings an action item is matched on: "<owner> <task>", or just the task.

    AMI's reference items name the owner by role inside the sentence ("The industrial
    designer will work on the working design"), and in AMI transcripts the speakers *are*
    those roles, so prefixing our owner lets a right owner help the match and a wrong one
    cost a little. The task text dominates the score either way.
    """
    return [
        f"{item.owner} {item.task}" if prefix_owner and item.owner else item.task
        for item in recap.action_items
    ]


@dataclass
class MeetingResult:
    """One meeting's scores; None for a metric the reference does not annotate."""

    meeting_id: str
    turns: int
    words: int
    seconds: float
    reference_kind: str  # "abstract" or "summary": what ROUGE was computed against
    rouge: RougeScores
    actions: MatchResult | None
    decisions: MatchResult | None
    engine: str | None = None  # Recap.engine, None when summarize failed
    error: str | None = None


@dataclass
class RecapReport:
    """ROUGE, action-item and decision scores and speed of a summariser over meetings."""

    source: str
    items: list[MeetingResult]
    threshold: float = DEFAULT_MATCH_THRESHOLD
    prefix_owner: bool = True
    engines: dict[str, int] = field(default_factory=dict)

    def _mean_rouge(self, name: str) -> float:
        values = [getattr(item.rouge, name).fmeasure for item in self.items]
        return sum(values) / len(values) if values else 0.0

    @property
    def rouge1(self) -> float:
        """Mean per-meeting ROUGE-1 F1 (macro, like rouge-score's aggregator)."""
        return self._mean_rouge("rouge1")

    @property
    def rouge2(self) -> float:
        return self._mean_rouge("rouge2")

    @property
    def rouge_l(self) -> float:
        return self._mean_rouge("rouge_l")

    @property
    def actions(self) -> PRF | None:
        """Micro-averaged over the meetings that annotate actions; None if none do."""
        parts = [item.actions for item in self.items if item.actions is not None]
        return PRF.total(parts) if parts else None

    @property
    def decisions(self) -> PRF | None:
        parts = [item.decisions for item in self.items if item.decisions is not None]
        return PRF.total(parts) if parts else None

    @property
    def no_action_meetings(self) -> tuple[int, int]:
        """(meetings with no reference action and none predicted, meetings with none)."""
        empty = [a for item in self.items if (a := item.actions) is not None and not a.reference]
        return sum(1 for a in empty if not a.predicted), len(empty)

    @property
    def seconds(self) -> float:
        return sum(item.seconds for item in self.items)

    @property
    def words(self) -> int:
        return sum(item.words for item in self.items)

    @property
    def failures(self) -> list[MeetingResult]:
        return [item for item in self.items if item.error is not None]

    def to_markdown(self, *, per_item: bool = False) -> str:
        """A summary table (and optionally one row per meeting) for docs/quality.md."""
        n = len(self.items)
        kinds = Counter(item.reference_kind for item in self.items)
        correct_empty, empty = self.no_action_meetings
        engines = ", ".join(f"{name} ×{count}" for name, count in sorted(self.engines.items()))
        summary = _table(
            [
                "Data",
                "Meetings",
                "Engine",
                "ROUGE-1",
                "ROUGE-2",
                "ROUGE-L",
                "Actions P / R / F1",
                "No-action meetings left empty",
                "Decisions P / R / F1",
                "s / meeting",
            ],
            [
                [
                    self.source,
                    f"{n} ({len(self.failures)} failed)",
                    engines or "n/a",
                    f"{100 * self.rouge1:.1f}",
                    f"{100 * self.rouge2:.1f}",
                    f"{100 * self.rouge_l:.1f}",
                    _prf(self.actions),
                    f"{correct_empty} / {empty}" if self.actions is not None else "n/a",
                    _prf(self.decisions),
                    f"{self.seconds / n:.2f}" if n else "n/a",
                ]
            ],
        )
        against = ", ".join(f"{kind} ({count})" for kind, count in sorted(kinds.items()))
        owner = "owner + task" if self.prefix_owner else "task"
        parts = [
            summary,
            "",
            f"ROUGE F1 (mean over meetings, no stemming) of summary + key points against: "
            f"{against}. Actions ({owner}) and decisions are matched one-to-one to the "
            f"reference at a fuzzy score >= {self.threshold:g} and micro-averaged "
            f"(P / R / F1 in %), over the meetings that annotate them. "
            f"{self.words} words in {self.seconds:.1f} s.",
        ]
        if per_item:
            rows = [
                [
                    item.meeting_id,
                    item.words,
                    f"{item.seconds:.2f}",
                    f"{100 * item.rouge.rouge1.fmeasure:.1f}",
                    f"{100 * item.rouge.rouge2.fmeasure:.1f}",
                    f"{100 * item.rouge.rouge_l.fmeasure:.1f}",
                    _counts(item.actions),
                    _counts(item.decisions),
                ]
                for item in self.items
            ]
            header = ["Meeting", "Words", "Time (s)", "R-1", "R-2", "R-L", "Actions", "Decisions"]
            parts += [
                "",
                _table(header, rows),
                "",
                "Actions / Decisions: matched / predicted / reference.",
            ]
        if self.failures:
            parts += ["", "Failed meetings:"]
            parts += [f"- {item.meeting_id}: {item.error}" for item in self.failures]
        return "\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the summary figures and every meeting."""
        correct_empty, empty = self.no_action_meetings
        return {
            "source": self.source,
            "meetings": len(self.items),
            "failed": len(self.failures),
            "engines": dict(self.engines),
            "threshold": self.threshold,
            "prefix_owner": self.prefix_owner,
            "rouge1": self.rouge1,
            "rouge2": self.rouge2,
            "rougeL": self.rouge_l,
            "actions": _prf_dict(self.actions),
            "no_action_meetings": {"left_empty": correct_empty, "total": empty},
            "decisions": _prf_dict(self.decisions),
            "seconds": self.seconds,
            "words": self.words,
            "items": [_meeting_dict(item) for item in self.items],
        }


def _counts(value: PRF | None) -> str:
    if value is None:
        return "n/a"
    return f"{value.true_positives} / {value.predicted} / {value.reference}"


def _prf_dict(value: PRF | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "precision": value.precision,
        "recall": value.recall,
        "f1": value.f1,
        "true_positives": value.true_positives,
        "predicted": value.predicted,
        "reference": value.reference,
    }


def _match_dict(value: MatchResult | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        **(_prf_dict(value) or {}),
        "pairs": [
            {"prediction": p.prediction, "reference": p.reference, "score": p.score}
            for p in value.pairs
        ],
        "unmatched_predictions": list(value.unmatched_predictions),
        "unmatched_references": list(value.unmatched_references),
    }


def _meeting_dict(item: MeetingResult) -> dict[str, Any]:
    return {
        "meeting_id": item.meeting_id,
        "turns": item.turns,
        "words": item.words,
        "seconds": item.seconds,
        "engine": item.engine,
        "error": item.error,
        "reference_kind": item.reference_kind,
        "rouge1": asdict(item.rouge.rouge1),
        "rouge2": asdict(item.rouge.rouge2),
        "rougeL": asdict(item.rouge.rouge_l),
        "actions": _match_dict(item.actions),
        "decisions": _match_dict(item.decisions),
    }


@dataclass
class _MeetingRow:
    """One validated row of a meetings file."""

    meeting_id: str
    reference_kind: str
    reference: str
    actions: list[str] | None
    decisions: list[str] | None
    conversation: Conversation

    @classmethod
    def parse(cls, row: dict[str, Any], where: str) -> _MeetingRow:
        meeting_id = _field(row, "meeting_id", "a string", where)
        abstract = row.get("abstract")
        if isinstance(abstract, str) and abstract.strip():
            reference_kind, reference = "abstract", abstract
        else:
            reference_kind, reference = "summary", _field(row, "summary", "a string", where)
        actions = _optional_strings(row, "actions", where)
        decisions = _optional_strings(row, "decisions", where)
        turns = _field(row, "turns", "a list", where)
        messages = []
        for index, turn in enumerate(turns):
            if (
                not isinstance(turn, dict)
                or not isinstance(turn.get("speaker"), str)
                or not isinstance(turn.get("text"), str)
            ):
                raise InputError(f"{where}: turn {index} must have a string 'speaker' and 'text'")
            messages.append(Message(author=turn["speaker"], text=turn["text"], ref=f"turn-{index}"))
        return cls(
            meeting_id=meeting_id,
            reference_kind=reference_kind,
            reference=reference,
            actions=None if actions is None else _reference_items(actions),
            decisions=None if decisions is None else _reference_items(decisions),
            conversation=Conversation(messages=messages, title=meeting_id),
        )


def _run_meeting(
    meeting: _MeetingRow,
    summarize: Callable[[Conversation], Recap],
    threshold: float,
    prefix_owner: bool,
) -> MeetingResult:
    error = None
    started = _clock()
    try:
        recap: Recap | None = summarize(meeting.conversation)
    except SummarizerError as exc:
        recap, error = None, str(exc) or type(exc).__name__
    elapsed = _clock() - started
    if recap is None:  # scored as an empty recap
        recap = Recap(summary="", engine="")
    prediction = " ".join([recap.summary, *recap.key_points])
    actions = recap_action_texts(recap, prefix_owner=prefix_owner)
    decisions = [d.text for d in recap.decisions]
    messages = meeting.conversation.messages
    return MeetingResult(
        meeting_id=meeting.meeting_id,
        turns=len(messages),
        words=sum(len(m.text.split()) for m in messages),
        seconds=elapsed,
        reference_kind=meeting.reference_kind,
        rouge=rouge(meeting.reference, prediction),
        actions=None
        if meeting.actions is None
        else match_items(actions, meeting.actions, threshold=threshold),
        decisions=None
        if meeting.decisions is None
        else match_items(decisions, meeting.decisions, threshold=threshold),
        engine=None if error else recap.engine,
        error=error,
    )


def evaluate_recaps(
    meetings: Path,
    summarize: Callable[[Conversation], Recap],
    *,
    limit: int | None = None,
    on_item: Callable[[MeetingResult], None] | None = None,
    threshold: float = DEFAULT_MATCH_THRESHOLD,
    prefix_owner: bool = True,
) -> RecapReport:
    """Recap every meeting of a JSONL file and score it against the human annotation.

    Rows: {"meeting_id", "turns": [{"speaker", "text"}], "summary", and optionally
    "abstract", "actions", "decisions"}. ROUGE compares summary + key points with the
    abstract when there is one, else with the summary. A row without "actions" or
    "decisions" is left out of that metric instead of scoring zero; "*NA*" placeholders
    in them mean "none". Each turn becomes a Message(author=speaker, ref="turn-<index>").
    """
    _check_limit(limit)
    meetings = Path(meetings)
    items: list[MeetingResult] = []
    engines: Counter[str] = Counter()
    with closing(_iter_jsonl(meetings)) as rows:
        for where, row in rows:
            item = _run_meeting(_MeetingRow.parse(row, where), summarize, threshold, prefix_owner)
            if item.engine is not None:
                engines[item.engine] += 1
            items.append(item)
            if on_item is not None:
                on_item(item)
            if limit is not None and len(items) >= limit:
                break
    if not items:
        raise InputError(f"{meetings}: no meetings to evaluate")
    return RecapReport(
        source=meetings.name,
        items=items,
        threshold=threshold,
        prefix_owner=prefix_owner,
        engines=dict(engines),
    )
