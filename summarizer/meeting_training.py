"""Training and cross-validation of the meeting model on AMI-style dialogue-act files.

Rows: {"meeting_id", "qmsum_split", "dialogue_acts": [{"spk", "text", "ext", "links":
[{"section"}]}]} (shared/data/SOURCES.md). Only the speaker and the text of an act become
input; `links` and `ext` are the labels; `da` is never read. Only rows whose split is
"train" are used, so the held-out meetings stay held out.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from summarizer.errors import InputError
from summarizer.meeting_context import ContextStage, context_features, fit_context
from summarizer.meeting_model import LABELS, Features, MeetingModel, Unit, featurize, fit, stack
from summarizer.text import clean_spoken

_SECTION = {"action": "actions", "decision": "decisions", "problem": "problems"}
TRAIN_SPLIT = "train"


@dataclass
class LabelledMeeting:
    meeting_id: str
    split: str
    units: list[Unit]
    act_ids: list[str]
    labels: np.ndarray  # (acts, len(LABELS)) of 0/1

    @property
    def series(self) -> str:
        """ "ES2002" of "ES2002a": the four meetings of one group share people and topic."""
        return self.meeting_id[:-1] if self.meeting_id[-1:].isalpha() else self.meeting_id

    @property
    def scenario(self) -> str:
        return self.meeting_id[:2]


def read_act_rows(path: Path) -> Iterator[tuple[dict, list[dict], str]]:
    """(row, its dialogue acts, meeting id) of every row of a dialogue-act file; a row
    that is not one is an InputError naming its line."""
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                acts = row["dialogue_acts"]
                meeting_id = str(row["meeting_id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path} line {number}: not a dialogue-act row ({exc})") from exc
            yield row, acts, meeting_id


def read_meetings(path: Path) -> Iterator[LabelledMeeting]:
    """Every meeting of a dialogue-act file, acts with no words left out."""
    for row, acts, meeting_id in read_act_rows(path):
        units: list[Unit] = []
        ids: list[str] = []
        labels: list[list[float]] = []
        for act in acts:
            text = str(act.get("text") or "")
            if not clean_spoken(text):
                continue
            sections = {link.get("section") for link in act.get("links") or []}
            units.append(Unit(text=text, speaker=str(act.get("spk") or "")))
            ids.append(str(act.get("id") or len(ids)))
            labels.append(
                [float(_SECTION[label] in sections) for label in LABELS[:3]]
                + [float(bool(act.get("ext")))]
            )
        yield LabelledMeeting(
            meeting_id=meeting_id,
            split=str(row.get("qmsum_split") or TRAIN_SPLIT),
            units=units,
            act_ids=ids,
            labels=np.asarray(labels, dtype=np.float64).reshape(-1, len(LABELS)),
        )


def general_words(chat: Path, meetings: Path, *, channels: int = 3, minimum: int = 10) -> list[str]:
    """Words in at least `channels` files of a chat log ({"channel", "text"} rows) and in at
    least `minimum` meetings of a turns file ({"turns": [{"text"}]}): everyday words, since
    the two domains (Ubuntu IRC support, ICSI research meetings) share little else."""
    word = re.compile(r"[a-z0-9][a-z0-9'\-]*")
    in_chat: dict[str, set[str]] = {}
    with Path(chat).open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            for w in set(word.findall(str(row["text"]).casefold())):
                in_chat.setdefault(w, set()).add(str(row["channel"]))
    in_meetings: Counter[str] = Counter()
    with Path(meetings).open(encoding="utf-8") as lines:
        for line in lines:
            found: set[str] = set()
            for turn in json.loads(line)["turns"]:
                found.update(word.findall(str(turn["text"]).casefold()))
            in_meetings.update(found)
    return sorted(
        w
        for w, seen in in_chat.items()
        if len(seen) >= channels and in_meetings[w] >= minimum and not w.isdigit()
    )


@dataclass
class TrainingSettings:
    # Per label (action, decision, problem, extractive), chosen on cross-validation of the
    # train split (docs/quality.md): 3e-3 helps the three others on every split of it,
    # for actions it is a wash, so they keep 1e-4.
    l2: tuple[float, ...] = (1e-4, 3e-3, 3e-3, 3e-3)
    iterations: int = 150
    learning_rate: float = 0.05
    # Up-weighting of the rare positives (actions are 0.3% of acts), per label.
    positive_weight: tuple[float, ...] = (20.0, 10.0, 5.0, 2.0)


def _fit(features: Features, labels: np.ndarray, settings: TrainingSettings) -> np.ndarray:
    return fit(
        features,
        labels,
        l2=np.asarray(settings.l2),
        iterations=settings.iterations,
        learning_rate=settings.learning_rate,
        positive_weight=np.asarray(settings.positive_weight),
    )


def best_threshold(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 over the candidate cut points."""
    order = np.argsort(-probabilities, kind="stable")
    sorted_truth = truth[order]
    true_positives = np.cumsum(sorted_truth)
    predicted = np.arange(1, len(order) + 1)
    f1 = 2 * true_positives / (predicted + sorted_truth.sum())
    if not len(f1):
        return 0.5, 0.0
    best = int(np.argmax(f1))
    ranked = probabilities[order]
    # Halfway to the next lower score: the cut does not sit on one training example.
    below = ranked[best + 1] if best + 1 < len(ranked) else ranked[best] / 2
    return float((ranked[best] + below) / 2), float(f1[best])


def prf(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    tp = float((predicted & truth).sum())
    p = tp / predicted.sum() if predicted.sum() else 0.0
    r = tp / truth.sum() if truth.sum() else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def cross_validate(
    meetings: Sequence[LabelledMeeting],
    groups: Sequence[str],
    settings: TrainingSettings,
    features: Sequence[Features] | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities (acts, labels): each group predicted by a model trained
    on the other groups."""
    features = features or [featurize(m.units) for m in meetings]
    out = [np.zeros_like(m.labels) for m in meetings]
    for group in sorted(set(groups)):
        train = [i for i, g in enumerate(groups) if g != group]
        test = [i for i, g in enumerate(groups) if g == group]
        weights = _fit(
            stack([features[i] for i in train]),
            np.concatenate([meetings[i].labels for i in train]),
            settings,
        )
        model = MeetingModel(weights=weights, thresholds=np.full(len(LABELS), 0.5))
        for i in test:
            out[i] = model.first_stage(meetings[i].units)
    return np.concatenate(out)


def _context_fit(
    inputs: Sequence[np.ndarray], meetings: Sequence[LabelledMeeting], settings: TrainingSettings
) -> ContextStage:
    return fit_context(
        np.concatenate(inputs),
        np.concatenate([m.labels for m in meetings]),
        np.asarray(settings.positive_weight),
    )


def cross_validate_context(
    meetings: Sequence[LabelledMeeting],
    groups: Sequence[str],
    first: np.ndarray,
    settings: TrainingSettings,
) -> tuple[np.ndarray, ContextStage]:
    """Out-of-fold final probabilities of the second stage, trained on out-of-fold
    first-stage ones (`first`, as cross_validate gives them), and the stage fitted on all."""
    bounds = np.cumsum([0] + [len(m.labels) for m in meetings])
    inputs = [context_features(first[a:b]) for a, b in itertools.pairwise(bounds)]
    out = np.zeros_like(first)
    for group in sorted(set(groups)):
        train = [i for i, g in enumerate(groups) if g != group]
        stage = _context_fit([inputs[i] for i in train], [meetings[i] for i in train], settings)
        for i, g in enumerate(groups):
            if g == group:
                out[bounds[i] : bounds[i + 1]] = stage.apply(first[bounds[i] : bounds[i + 1]])
    return out, _context_fit(inputs, meetings, settings)


def folds(meetings: Sequence[LabelledMeeting], count: int) -> list[str]:
    """Series assigned round-robin (sorted) to `count` folds: leave-series-out groups."""
    series = sorted({m.series for m in meetings})
    fold_of = {s: f"fold{i % count}" for i, s in enumerate(series)}
    return [fold_of[m.series] for m in meetings]


def train(
    path: Path, settings: TrainingSettings | None = None, *, cv_folds: int = 5
) -> tuple[MeetingModel, dict[str, dict[str, float]]]:
    """The model trained on every train-split meeting, with thresholds chosen on
    leave-series-out predictions; also returns those cross-validated scores per label
    (and the first stage's F1 alone, to show what the second stage adds)."""
    settings = settings or TrainingSettings()
    meetings = [m for m in read_meetings(path) if m.split == TRAIN_SPLIT and m.units]
    if not meetings:
        raise InputError(f"{path}: no train-split meetings with words")
    features = [featurize(m.units) for m in meetings]
    truth = np.concatenate([m.labels for m in meetings]) > 0
    groups = folds(meetings, min(cv_folds, len({m.series for m in meetings})))
    report: dict[str, dict[str, float]] = {}
    thresholds = np.full(len(LABELS), 0.5)
    context = None
    if len(set(groups)) > 1:
        first = cross_validate(meetings, groups, settings, features)
        final, context = cross_validate_context(meetings, groups, first, settings)
        for k, label in enumerate(LABELS):
            threshold, _ = best_threshold(final[:, k], truth[:, k].astype(np.float64))
            thresholds[k] = threshold
            p, r, f = prf(final[:, k] >= threshold, truth[:, k])
            _, first_f1 = best_threshold(first[:, k], truth[:, k].astype(np.float64))
            report[label] = {
                "threshold": threshold,
                "precision": p,
                "recall": r,
                "f1": f,
                "first_stage_f1": first_f1,
            }
    weights = _fit(stack(features), np.concatenate([m.labels for m in meetings]), settings)
    model = MeetingModel(weights=weights.astype(np.float32), thresholds=thresholds, context=context)
    return model, report
