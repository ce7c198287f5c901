"""A small supervised tagger for spoken meetings: action, decision, problem and summary acts.

One L2-regularised logistic regression per label over hashed sparse features, numpy only.
The features are chosen so that the model learns *how* people commit, decide and summarise,
not *what* the training meetings were about (AMI's remote-control design task):

- word 1-3-grams over a closed vocabulary: function words, pronouns, modals, task verbs,
  decision/agreement cues and ~1,000 everyday words common to two other domains are kept,
  every other word becomes a placeholder (`_`), so "I'll send the _ to _" is a feature and
  "remote control" is not;
- cue flags (first-person future, "we should", a request, agreement, a question);
- context: the neighbouring acts' words, speaker change, whether the next speaker agrees;
- position in the meeting, act length, the speaker's share of the talk;
- a topic-neutral centrality score: the mean in-meeting frequency of the act's content words.

A second stage (summarizer/meeting_context.py) then re-scores every act with the scores of
the acts around it.

The weights ship as ``summarizer/models/meetings.npz``; ``balafon train meetings`` rebuilds
them byte for byte from the same data.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from summarizer.meeting_context import ContextStage, sigmoid
from summarizer.text import STOPWORDS, content_words
from summarizer.vocabulary import TASK_VERBS

LABELS = ("action", "decision", "problem", "ext")
DIMENSIONS = 1 << 16
MODEL_PATH = Path(__file__).parent / "models" / "meetings.npz"

_CUES = frozenset(
    """
    agree agreed agreement decide decided decision settle settled conclude concluded fine
    okay ok alright sure yes yeah no not nope problem problems issue issues question questions
    next meeting time minutes email e-mail send sending homework task tasks assignment work
    working job jobs responsible responsibility should must shall need needs needed have has
    gonna going will would can could might may try trying look looking think thought idea
    ideas option options choose chosen choice stick keep go goes using use used want wanted
    prefer suggest suggestion propose final finally definitely probably maybe perhaps
    done do doing make making find found check checking bring present presentation
    summary summarise summarize conclusion everybody everyone anybody anyone somebody someone
    """.split()
)
# Everyday words: common both in Ubuntu IRC chat and in ICSI research meetings, two domains
# far from AMI's remote-control design task (meeting_training.general_words made it).
GENERAL_WORDS_PATH = Path(__file__).parent / "models" / "general_words.txt"
_GENERAL = frozenset(GENERAL_WORDS_PATH.read_text(encoding="utf-8").split())
KEEP = STOPWORDS | TASK_VERBS | _CUES | _GENERAL
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'\-]*|[?]")
_FIRST_PERSON_FUTURE = re.compile(
    r"\b(?:i'll|i will|i'm going to|i am going to|i'm gonna|i can|let me|i have to|i need to|"
    r"i'd better|i should)\b"
)
_WE_FUTURE = re.compile(
    r"\b(?:we'll|we will|we're going to|we're gonna|we are going to|we should|we need to|"
    r"we have to|we must|let's|let us|we could|we might)\b"
)
_YOU_FUTURE = re.compile(
    r"\b(?:you'll|you will|you're going to|you're gonna|you need to|you should|you have to|"
    r"can you|could you|would you)\b"
)
_DECIDE = re.compile(
    r"\b(?:agree|agreed|decide|decided|decision|settle|settled|go with|going with|stick with|"
    r"so we have|we've got|final)\b"
)
_AGREE_START = re.compile(r"^(?:yeah|yes|yep|okay|ok|sure|right|alright|mm-hmm|fine|agreed)\b")
_LENGTH_BINS = (1, 2, 3, 5, 8, 13, 21, 34)


def tokens(text: str) -> list[str]:
    """Lower-cased words with every open-class word replaced by `_` (runs collapsed)."""
    out: list[str] = []
    for token in _TOKEN.findall(text.casefold()):
        word = token if token in KEEP or token == "?" else "_"
        if word == "_" and out and out[-1] == "_":
            continue
        out.append(word)
    return out


@lru_cache(maxsize=1 << 17)  # bounded: a long-running server sees new n-grams forever
def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode()) % DIMENSIONS


def _bin(value: float, edges: Sequence[float]) -> int:
    return sum(1 for edge in edges if value >= edge)


@dataclass(frozen=True, slots=True)
class Unit:
    """What the model sees of one act or sentence: never a dialogue-act annotation."""

    text: str
    speaker: str


@dataclass
class Features:
    """A sparse matrix in CSR form, one row per unit, binary-ish values."""

    indices: np.ndarray  # int32, column of each entry
    values: np.ndarray  # float32
    indptr: np.ndarray  # int64, row starts (len rows + 1)

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1


def _own_features(text: str, toks: list[str]) -> list[str]:
    low = text.casefold()
    feats = ["bias"]
    seq = ["<s>", *toks, "</s>"]
    feats += [f"w:{t}" for t in toks]
    feats += [f"b:{a} {b}" for a, b in itertools.pairwise(seq)]
    feats += [f"t:{a} {b} {c}" for a, b, c in zip(seq, seq[1:], seq[2:], strict=False)]
    feats.append(f"first:{' '.join(toks[:2])}")
    words = low.split()
    feats.append(f"len:{_bin(len(words), _LENGTH_BINS)}")
    for name, pattern in (
        ("i_future", _FIRST_PERSON_FUTURE),
        ("we_future", _WE_FUTURE),
        ("you_future", _YOU_FUTURE),
        ("decide", _DECIDE),
    ):
        if pattern.search(low):
            feats.append(f"cue:{name}")
            feats.append(f"cue:{name}:len{_bin(len(words), _LENGTH_BINS)}")
    if low.rstrip().endswith("?"):
        feats.append("cue:question")
    if _AGREE_START.match(low):
        feats.append("cue:agree_start")
    return feats


def featurize(units: Sequence[Unit]) -> Features:
    """Hashed features of every unit of one meeting (context needs the whole meeting)."""
    n = len(units)
    toks = [tokens(u.text) for u in units]
    lows = [u.text.casefold() for u in units]
    # Topic-neutral centrality: mean in-meeting document frequency of the content words.
    terms = [set(content_words(u.text)) for u in units]
    frequency = Counter(t for ts in terms for t in ts)
    talk: Counter[str] = Counter()
    for u, ts in zip(units, toks, strict=True):
        talk[u.speaker] += len(ts)
    total_talk = sum(talk.values()) or 1
    ranking = {s: r for r, (s, _) in enumerate(talk.most_common())}
    indices: list[int] = []
    indptr = [0]
    for i, unit in enumerate(units):
        feats = _own_features(unit.text, toks[i])
        feats.append(f"pos:{min(9, i * 10 // max(n, 1))}")
        if i >= n - max(1, n // 20):
            feats.append("pos:last5")
        if i < max(1, n // 20):
            feats.append("pos:first5")
        share = talk[unit.speaker] / total_talk
        feats.append(f"talk:{_bin(share, (0.1, 0.2, 0.3, 0.4, 0.5))}")
        feats.append(f"rank:{min(ranking.get(unit.speaker, 3), 3)}")
        if terms[i]:
            centrality = sum(frequency[t] for t in terms[i]) / len(terms[i]) / max(n, 1) * 100
            feats.append(f"central:{_bin(centrality, (0.2, 0.5, 1, 2, 4))}")
            feats.append(f"content:{_bin(len(terms[i]), (1, 2, 3, 5, 8, 13))}")
        else:
            feats.append("content:none")
        prev_same = i > 0 and units[i - 1].speaker == unit.speaker
        feats.append("spk:same_as_prev" if prev_same else "spk:changed")
        for offset, tag in ((-2, "p2"), (-1, "p"), (1, "n"), (2, "n2")):
            j = i + offset
            if not 0 <= j < n:
                feats.append(f"{tag}:none")
                continue
            feats += [f"{tag}:{t}" for t in set(toks[j])]
            if units[j].speaker != unit.speaker:
                feats.append(f"{tag}:other")
                if _AGREE_START.match(lows[j]):
                    feats.append(f"{tag}:other_agrees")
            if _FIRST_PERSON_FUTURE.search(lows[j]):
                feats.append(f"{tag}:i_future")
            if _DECIDE.search(lows[j]):
                feats.append(f"{tag}:decide")
        hashed = sorted({_hash(f) for f in feats})
        indices += hashed
        indptr.append(len(indices))
    return Features(
        indices=np.asarray(indices, dtype=np.int32),
        values=np.ones(len(indices), dtype=np.float32),
        indptr=np.asarray(indptr, dtype=np.int64),
    )


def stack(parts: Sequence[Features]) -> Features:
    offsets = np.cumsum([0] + [len(p.indices) for p in parts[:-1]])
    return Features(
        indices=np.concatenate([p.indices for p in parts]),
        values=np.concatenate([p.values for p in parts]),
        indptr=np.concatenate(
            [np.zeros(1, dtype=np.int64)]
            + [p.indptr[1:] + o for p, o in zip(parts, offsets, strict=True)]
        ),
    )


def _scores(x: Features, weights: np.ndarray) -> np.ndarray:
    """X @ W for CSR X (rows, D) and W (D, k): (rows, k); every row has a bias entry."""
    gathered = weights[x.indices] * x.values[:, None]
    return np.add.reduceat(gathered, x.indptr[:-1], axis=0)


def fit(
    x: Features,
    y: np.ndarray,
    *,
    l2: float | np.ndarray = 1e-4,
    iterations: int = 300,
    learning_rate: float = 0.05,
    positive_weight: float | np.ndarray = 10.0,
) -> np.ndarray:
    """Weighted L2 logistic regression, one column per label, by full-batch Adam.

    Full-batch with a fixed number of steps and float64 sums in a fixed order: the same
    data gives the same weights, bit for bit.
    """
    rows, labels = y.shape
    rows_of = np.repeat(np.arange(rows), np.diff(x.indptr))
    weight = np.where(y > 0, positive_weight, 1.0)
    weight = weight / weight.sum(axis=0)
    w = np.zeros((DIMENSIONS, labels))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, iterations + 1):
        p = sigmoid(_scores(x, w))
        residual = (p - y) * weight
        grad: np.ndarray = np.stack(
            [
                np.bincount(
                    x.indices, weights=x.values * residual[rows_of, k], minlength=DIMENSIONS
                )
                for k in range(labels)
            ],
            axis=1,
        )
        grad += l2 * w
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1**step)
        v_hat = v / (1 - beta2**step)
        w -= learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return w


@dataclass
class MeetingModel:
    """The trained weights (float32, D x labels), the second stage that re-scores each act
    with its neighbours' scores (summarizer/meeting_context.py; None: first stage only),
    and one decision threshold per label, for the final probabilities."""

    weights: np.ndarray
    thresholds: np.ndarray
    labels: tuple[str, ...] = LABELS
    context: ContextStage | None = None

    def first_stage(self, units: Sequence[Unit]) -> np.ndarray:
        """(units, labels) probabilities from each unit's own features."""
        return sigmoid(_scores(featurize(units), self.weights.astype(np.float64)))

    def predict(self, units: Sequence[Unit]) -> dict[str, np.ndarray]:
        """Per label, the probability of every unit."""
        if not units:
            return {label: np.zeros(0) for label in self.labels}
        probs = self.first_stage(units)
        if self.context is not None:
            probs = self.context.apply(probs)
        return {label: probs[:, k] for k, label in enumerate(self.labels)}

    def threshold(self, label: str) -> float:
        return float(self.thresholds[self.labels.index(label)])

    def to_bytes(self) -> bytes:
        """A deterministic .npz: fixed entry order and time stamps, so reruns are identical."""
        arrays: dict[str, np.ndarray] = {
            "weights": self.weights.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float64),
            "labels": np.array(self.labels),
            "dimensions": np.array([DIMENSIONS], dtype=np.int64),
        }
        if self.context is not None:
            arrays["context_weights"] = self.context.weights.astype(np.float64)
            arrays["context_mean"] = self.context.mean.astype(np.float64)
            arrays["context_scale"] = self.context.scale.astype(np.float64)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, array in arrays.items():
                entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                body = io.BytesIO()
                np.lib.format.write_array(body, array, allow_pickle=False)
                archive.writestr(entry, body.getvalue())
        return buffer.getvalue()

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> MeetingModel:
        with np.load(path, allow_pickle=False) as data:
            if int(data["dimensions"][0]) != DIMENSIONS:
                raise ValueError(f"{path}: built for another feature size")
            context = None
            if "context_weights" in data:
                context = ContextStage(
                    weights=data["context_weights"],
                    mean=data["context_mean"],
                    scale=data["context_scale"],
                )
            return cls(
                weights=data["weights"],
                thresholds=data["thresholds"],
                labels=tuple(str(s) for s in data["labels"]),
                context=context,
            )


@cache
def default_model() -> MeetingModel | None:
    """The shipped model, loaded once; None when the file is missing (rules only)."""
    return MeetingModel.load() if MODEL_PATH.is_file() else None
