"""Run a summariser over annotated meetings and score its recaps: ROUGE of the summary,
fuzzy one-to-one matching of action items and decisions.

The summariser is passed in as a plain callable, so the same harness measures the offline
engine, an LLM, or a fake in tests.

Failures of the callable that the pipeline reports as :class:`SummarizerError` (a corrupt
clip, an LLM that gave up) are recorded on the item and scored as an empty output, so one
bad input neither stops a long run nor quietly improves the averages. Anything else is a
bug and propagates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from summarizer.errors import InputError, SummarizerError
from summarizer.types import Conversation, Message, Recap

from . import io
from .io import check_limit, iter_jsonl, optional_strings, reference_items, required_field
from .metrics import DEFAULT_MATCH_THRESHOLD, PRF, MatchResult, RougeScores, match_items, rouge
from .report import counts_cell, match_dict, prf_cell, prf_dict, table

__all__ = ["MeetingResult", "RecapReport", "evaluate_recaps", "recap_action_texts"]


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
        summary = table(
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
                    prf_cell(self.actions),
                    f"{correct_empty} / {empty}" if self.actions is not None else "n/a",
                    prf_cell(self.decisions),
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
                    counts_cell(item.actions),
                    counts_cell(item.decisions),
                ]
                for item in self.items
            ]
            header = ["Meeting", "Words", "Time (s)", "R-1", "R-2", "R-L", "Actions", "Decisions"]
            parts += [
                "",
                table(header, rows),
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
            "actions": prf_dict(self.actions),
            "no_action_meetings": {"left_empty": correct_empty, "total": empty},
            "decisions": prf_dict(self.decisions),
            "seconds": self.seconds,
            "words": self.words,
            "items": [_meeting_dict(item) for item in self.items],
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
        "actions": match_dict(item.actions),
        "decisions": match_dict(item.decisions),
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
        meeting_id = required_field(row, "meeting_id", "a string", where)
        abstract = row.get("abstract")
        if isinstance(abstract, str) and abstract.strip():
            reference_kind, reference = "abstract", abstract
        else:
            reference_kind, reference = "summary", required_field(row, "summary", "a string", where)
        actions = optional_strings(row, "actions", where)
        decisions = optional_strings(row, "decisions", where)
        turns = required_field(row, "turns", "a list", where)
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
            actions=None if actions is None else reference_items(actions),
            decisions=None if decisions is None else reference_items(decisions),
            conversation=Conversation(messages=messages, title=meeting_id),
        )


def _run_meeting(
    meeting: _MeetingRow,
    summarize: Callable[[Conversation], Recap],
    threshold: float,
    prefix_owner: bool,
) -> MeetingResult:
    error = None
    started = io.clock()
    try:
        recap: Recap | None = summarize(meeting.conversation)
    except SummarizerError as exc:
        recap, error = None, str(exc) or type(exc).__name__
    elapsed = io.clock() - started
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
    check_limit(limit)
    meetings = Path(meetings)
    items: list[MeetingResult] = []
    engines: Counter[str] = Counter()
    with closing(iter_jsonl(meetings)) as rows:
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
