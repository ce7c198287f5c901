"""Recap scores on dialogue-act files: which acts the items cite, and ROUGE at a word budget.

A dialogue-act file (shared/data/SOURCES.md, `dev_dialogue_acts.jsonl`) links acts to the
sentences of the abstractive annotation. Each act with words becomes one message (author:
the speaker's role, ref: the act id), so every item the recap cites names an act:

- an act cited by an action item is correct when annotators linked it to an action
  sentence (decisions likewise); recall is over the linked acts; a reference sentence is
  "found" when an item cites one of its acts;
- ROUGE-1/2/L of summary + key points, cut to the first `words` words, against the
  abstract, next to a lead baseline (the meeting's first words) and the extractive oracle
  (the annotated extractive summary in meeting order), both cut to the same length.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarizer.errors import InputError, SummarizerError
from summarizer.meeting_training import read_act_rows
from summarizer.text import clean_spoken
from summarizer.types import Conversation, Message, Recap

from .metrics import PRF, rouge

WORD_LIMIT = 150
_SECTIONS = {"actions": "actions", "decisions": "decisions"}


def is_dialogue_act_file(path: Path) -> bool:
    """True when the first row of a JSONL file has `dialogue_acts`."""
    try:
        with Path(path).open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    return isinstance(row, dict) and isinstance(row.get("dialogue_acts"), list)
    except (OSError, ValueError):
        return False
    return False


def _cut(text: str, limit: int) -> str:
    return " ".join(text.split()[:limit])


@dataclass
class ActCounts:
    predicted: int = 0
    correct: int = 0
    reference: int = 0
    found: int = 0  # reference acts cited
    sentences: int = 0
    sentences_found: int = 0
    items: int = 0

    def add(self, other: ActCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def prf(self) -> PRF:
        return PRF(true_positives=self.correct, predicted=self.predicted, reference=self.reference)


@dataclass
class OwnerCounts:
    """Owners of the action items that cite an act linked to a reference sentence naming
    exactly one participant ("The industrial designer will…"): right, wrong or none."""

    right: int = 0
    wrong: int = 0
    none: int = 0
    given_elsewhere: int = 0  # owners on items whose act names no single owner

    def add(self, other: OwnerCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def named_roles(sentence: str, roles: list[str]) -> set[str]:
    """The roles a reference sentence names: by a distinctive word of the role ("The
    interface specialist will…" names "User Interface"); none for the team."""
    said = {w.casefold() for w in re.findall(r"[A-Za-z]+", sentence)}
    generic = {"designer", "manager", "expert", "the", "of", "and"}
    found = set()
    for role in roles:
        keys = {w.casefold() for w in re.findall(r"[A-Za-z]+", role)} - generic
        if "user" in keys and "interface" in keys:
            keys = {"interface"}  # "user" alone is any user of the product
        if keys & said:
            found.add(role)
    return found


def _owners(
    items: list[tuple[str | None, str | None]],
    row_acts: dict[str, set[str]],
    sentence_text: dict[str, str],
    roles: list[str],
) -> OwnerCounts:
    counts = OwnerCounts()
    for ref, owner in items:
        named: set[str] = set()
        for link in row_acts.get(ref or "", ()):
            if link.startswith("actions:"):
                named |= named_roles(sentence_text.get(link.split(":", 1)[1], ""), roles)
        if len(named) != 1:
            counts.given_elsewhere += owner is not None
        elif owner is None:
            counts.none += 1
        elif owner in named:
            counts.right += 1
        else:
            counts.wrong += 1
    return counts


@dataclass
class ActMeeting:
    meeting_id: str
    acts: int
    seconds: float
    actions: ActCounts
    decisions: ActCounts
    rouge: dict[str, float]  # system / lead / oracle ROUGE-1, -2, -L F1
    owners: OwnerCounts = field(default_factory=OwnerCounts)
    error: str | None = None


@dataclass
class ActRecapReport:
    source: str
    split: str | None
    items: list[ActMeeting] = field(default_factory=list)
    words: int = WORD_LIMIT

    def total(self, kind: str) -> ActCounts:
        out = ActCounts()
        for item in self.items:
            out.add(getattr(item, kind))
        return out

    @property
    def owners(self) -> OwnerCounts:
        out = OwnerCounts()
        for item in self.items:
            out.add(item.owners)
        return out

    def mean_rouge(self, key: str) -> float:
        return sum(i.rouge[key] for i in self.items) / len(self.items) if self.items else 0.0

    @property
    def decisionless(self) -> tuple[int, int]:
        """(meetings with annotated decisions and no decision in the recap, such meetings)."""
        annotated = [i for i in self.items if i.decisions.sentences]
        return sum(1 for i in annotated if not i.decisions.items), len(annotated)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "split": self.split}
        out["meetings"] = len(self.items)
        for kind in ("actions", "decisions"):
            counts = self.total(kind)
            score = counts.prf
            out[kind] = {
                "precision": score.precision,
                "recall": score.recall,
                "f1": score.f1,
                **{name: getattr(counts, name) for name in counts.__dataclass_fields__},
            }
        out["rouge"] = (
            {key: self.mean_rouge(key) for key in self.items[0].rouge} if self.items else {}
        )
        out["decisionless_meetings"] = list(self.decisionless)
        owners = self.owners
        out["owners"] = {name: getattr(owners, name) for name in owners.__dataclass_fields__}
        out["seconds"] = sum(i.seconds for i in self.items)
        return out

    def to_markdown(self) -> str:
        n = len(self.items) or 1
        rows = []
        for kind in ("actions", "decisions"):
            c = self.total(kind)
            s = c.prf
            rows.append(
                f"| {kind} | {100 * s.precision:.1f} / {100 * s.recall:.1f} / {100 * s.f1:.1f} "
                f"| {c.correct} / {c.predicted} / {c.reference} "
                f"| {c.sentences_found} / {c.sentences} "
                f"| {c.items / n:.1f} / {c.sentences / n:.1f} |"
            )
        empty, annotated = self.decisionless
        owners = self.owners
        lines = [
            f"Data: {self.source}"
            + (f" (split {self.split})" if self.split else "")
            + f", {len(self.items)} meetings, {sum(i.acts for i in self.items)} acts.",
            "",
            "| Items | Acts P / R / F1 | correct / cited / linked acts | reference sentences "
            "found | items / reference per meeting |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Meetings with annotated decisions left without any: {empty} / {annotated}.",
            "",
            "Owners of action items citing an act whose reference sentence names one person: "
            f"{owners.right} right, {owners.wrong} wrong, {owners.none} none "
            f"({owners.given_elsewhere} owners given on other items).",
            "",
            f"| ROUGE F1 at <= {self.words} words | R-1 | R-2 | R-L |",
            "|---|---|---|---|",
        ]
        for name in ("system", "lead", "oracle"):
            lines.append(
                f"| {name} | "
                + " | ".join(
                    f"{100 * self.mean_rouge(f'{name}_{m}'):.1f}" for m in ("r1", "r2", "rl")
                )
                + " |"
            )
        seconds = sum(i.seconds for i in self.items)
        lines += ["", f"Recap time: {seconds:.1f} s in all, {seconds / n:.2f} s per meeting."]
        failed = [i for i in self.items if i.error]
        lines += [f"- failed {i.meeting_id}: {i.error}" for i in failed]
        return "\n".join(lines) + "\n"


def _counts(
    recap_refs: list[str | None],
    row_acts: dict[str, set[str]],
    section: str,
    sentence_ids: list[str],
) -> ActCounts:
    cited = {ref for ref in recap_refs if ref}
    linked = {act for act, ids in row_acts.items() if any(i.startswith(section + ":") for i in ids)}
    found_sentences = {
        i.split(":", 1)[1]
        for act in cited
        for i in row_acts.get(act, ())
        if i.startswith(section + ":")
    }
    return ActCounts(
        predicted=len(cited),
        correct=len(cited & linked),
        reference=len(linked),
        found=len(cited & linked),
        sentences=len(sentence_ids),
        sentences_found=len(found_sentences & set(sentence_ids)),
        items=len(recap_refs),
    )


def evaluate_act_recaps(
    path: Path,
    summarize: Callable[[Conversation], Recap],
    *,
    split: str | None = None,
    limit: int | None = None,
    words: int = WORD_LIMIT,
    clock: Callable[[], float] | None = None,
) -> ActRecapReport:
    """Recap every meeting (of `split`, if given) of a dialogue-act file and score it."""
    import time

    clock = clock or time.perf_counter
    path = Path(path)
    report = ActRecapReport(source=path.name, split=split, words=words)
    for row, acts, meeting_id in read_act_rows(path):
        abstractive = row.get("abstractive") or {}
        if split is not None and row.get("qmsum_split") != split:
            continue
        messages, links, ext = [], {}, []
        for act in acts:
            text = str(act.get("text") or "")
            if not clean_spoken(text):
                continue
            act_id = str(act["id"])
            author = str(act.get("role") or act.get("spk") or "")
            messages.append(Message(author=author, text=text, ref=act_id))
            links[act_id] = {
                f"{link.get('section')}:{link.get('sentence_id')}"
                for link in act.get("links") or []
            }
            if act.get("ext"):
                ext.append(text)
        if not messages:
            continue
        started, error = clock(), None
        try:
            recap = summarize(Conversation(messages=messages, title=meeting_id))
        except SummarizerError as exc:
            recap, error = Recap(summary=""), str(exc) or type(exc).__name__
        seconds = clock() - started
        abstract = " ".join(s.get("text", "") for s in abstractive.get("abstract") or [])
        system = _cut(" ".join([recap.summary, *recap.key_points]), words)
        lead = _cut(" ".join(clean_spoken(m.text) for m in messages), words)
        oracle = _cut(" ".join(clean_spoken(t) for t in ext), words)
        scores: dict[str, float] = {}
        for name, text in (("system", system), ("lead", lead), ("oracle", oracle)):
            r = rouge(abstract, text)
            scores[f"{name}_r1"] = r.rouge1.fmeasure
            scores[f"{name}_r2"] = r.rouge2.fmeasure
            scores[f"{name}_rl"] = r.rouge_l.fmeasure
        ids = {
            section: [str(s.get("id")) for s in abstractive.get(section) or []]
            for section in _SECTIONS
        }
        report.items.append(
            ActMeeting(
                meeting_id=meeting_id,
                acts=len(messages),
                seconds=seconds,
                actions=_counts(
                    [a.ref for a in recap.action_items], links, "actions", ids["actions"]
                ),
                decisions=_counts(
                    [d.ref for d in recap.decisions], links, "decisions", ids["decisions"]
                ),
                rouge=scores,
                owners=_owners(
                    [(a.ref, a.owner) for a in recap.action_items],
                    links,
                    {
                        str(s.get("id")): str(s.get("text") or "")
                        for s in abstractive.get("actions") or []
                    },
                    [str(role) for role in (row.get("speakers") or {}).values()],
                ),
                error=error,
            )
        )
        if limit is not None and len(report.items) >= limit:
            break
    if not report.items:
        raise InputError(
            f"{path}: no meetings to evaluate" + (f" in split {split}" if split else "")
        )
    return report
