"""Scores for the evaluation harness: WER, ROUGE and fuzzy item matching.

Pure functions on strings, so that the numbers in docs/quality.md can be reproduced and
unit-tested without a model.

- WER: both sides go through :func:`normalize_text` first, so that casing, punctuation and
  spelling conventions ("forty-two" vs "42", "Mr." vs "mister") are not counted as errors;
  the counts are corpus-level (total errors / total reference words), as jiwer does.
- ROUGE-1, ROUGE-2 and ROUGE-L F1 follow Google's ``rouge-score`` package with
  ``use_stemmer=False``: lowercase, every run of characters other than ``a-z0-9`` is a
  separator, no stemming, no stop-word removal. ROUGE-L is the LCS over the whole text
  (``rougeL``), not the sentence-split ``rougeLsum``.
- Items (action items, decisions) are matched one-to-one, greedily best-first, on a fuzzy
  string similarity; see :func:`item_similarity` for the scorer and the threshold.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import jiwer
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq
from rapidfuzz.utils import default_process

from .normalize import normalize_text

__all__ = [
    "DEFAULT_MATCH_THRESHOLD",
    "PRF",
    "MatchResult",
    "MatchedPair",
    "RougeScore",
    "RougeScores",
    "WordErrors",
    "item_similarity",
    "match_items",
    "normalize_text",
    "rouge",
    "rouge_l",
    "rouge_n",
    "rouge_tokenize",
    "word_error_rate",
    "word_errors",
]

# --------------------------------------------------------------------------------------
# Word error rate
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WordErrors:
    """Alignment counts of hypothesis against reference; they add up over a corpus."""

    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def reference_words(self) -> int:
        return self.hits + self.substitutions + self.deletions

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float | None:
        """Errors per reference word; None when the reference has no words."""
        return self.errors / self.reference_words if self.reference_words else None

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )


def word_errors(
    references: Sequence[str] | str,
    hypotheses: Sequence[str] | str,
    *,
    standardize: bool = True,
) -> WordErrors:
    """Summed alignment counts after :func:`normalize_text` on both sides."""
    refs = [references] if isinstance(references, str) else list(references)
    hyps = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if not refs:
        return WordErrors()
    out = jiwer.process_words(
        [normalize_text(r, standardize=standardize) for r in refs],
        [normalize_text(h, standardize=standardize) for h in hyps],
    )
    return WordErrors(out.hits, out.substitutions, out.deletions, out.insertions)


def word_error_rate(
    references: Sequence[str], hypotheses: Sequence[str], *, standardize: bool = True
) -> float:
    """Corpus-level WER: total errors over total reference words (not a mean of clips).

    Weighting by length is what makes one short, badly recognised clip not dominate the
    figure. Raises ValueError when the references hold no word at all.
    """
    wer = word_errors(references, hypotheses, standardize=standardize).wer
    if wer is None:
        raise ValueError("WER is undefined: the references hold no words")
    return wer


# --------------------------------------------------------------------------------------
# ROUGE
# --------------------------------------------------------------------------------------

_ROUGE_SEPARATOR = re.compile(r"[^a-z0-9]+")


def rouge_tokenize(text: str) -> list[str]:
    """rouge-score's tokeniser without stemming: lowercase, split on non-[a-z0-9]."""
    return _ROUGE_SEPARATOR.sub(" ", text.lower()).split()


@dataclass(frozen=True)
class RougeScore:
    precision: float
    recall: float
    fmeasure: float

    @classmethod
    def from_overlap(cls, overlap: int, predicted: int, reference: int) -> RougeScore:
        precision = overlap / predicted if predicted else 0.0
        recall = overlap / reference if reference else 0.0
        return cls(precision, recall, _f1(precision, recall))


@dataclass(frozen=True)
class RougeScores:
    rouge1: RougeScore
    rouge2: RougeScore
    rouge_l: RougeScore


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _rouge_n_tokens(ref: Sequence[str], pred: Sequence[str], n: int) -> RougeScore:
    ref_grams, pred_grams = _ngrams(ref, n), _ngrams(pred, n)
    overlap = sum((ref_grams & pred_grams).values())
    return RougeScore.from_overlap(overlap, sum(pred_grams.values()), sum(ref_grams.values()))


def _rouge_l_tokens(ref: Sequence[str], pred: Sequence[str]) -> RougeScore:
    # rapidfuzz's LCS works on any sequence of hashables, in C++ (bit-parallel).
    lcs = LCSseq.similarity(list(ref), list(pred)) if ref and pred else 0
    return RougeScore.from_overlap(lcs, len(pred), len(ref))


def rouge_n(reference: str, prediction: str, n: int) -> RougeScore:
    """ROUGE-N: clipped n-gram overlap; 0 when either side has no n-gram."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return _rouge_n_tokens(rouge_tokenize(reference), rouge_tokenize(prediction), n)


def rouge_l(reference: str, prediction: str) -> RougeScore:
    """ROUGE-L: longest common subsequence of tokens over the whole text."""
    return _rouge_l_tokens(rouge_tokenize(reference), rouge_tokenize(prediction))


def rouge(reference: str, prediction: str) -> RougeScores:
    """ROUGE-1, ROUGE-2 and ROUGE-L of one prediction against one reference."""
    ref, pred = rouge_tokenize(reference), rouge_tokenize(prediction)
    return RougeScores(
        rouge1=_rouge_n_tokens(ref, pred, 1),
        rouge2=_rouge_n_tokens(ref, pred, 2),
        rouge_l=_rouge_l_tokens(ref, pred),
    )


# --------------------------------------------------------------------------------------
# Fuzzy one-to-one matching of items
# --------------------------------------------------------------------------------------

# Calibrated on AMI action items: 14 hand-written "owner + task" paraphrases of reference
# items against the 267 pairs of *distinct* reference items of the same meeting. At 70,
# 13/14 paraphrases match and 6% of the distinct pairs would (those share the owner's role
# and "work on the ... design"); at 65 it is 14/14 and 12%, at 75 11/14 and 3%.
DEFAULT_MATCH_THRESHOLD = 70.0


def item_similarity(prediction: str, reference: str) -> float:
    """Similarity in [0, 100]: the mean of rapidfuzz's token_set_ratio and token_sort_ratio.

    token_set_ratio alone scores 100 whenever one side's words are a subset of the other's
    ("remote" vs "The designer will work on the remote"), so it is averaged with
    token_sort_ratio, which penalises the words left over. Both ignore word order, case and
    punctuation, which suits "X will do Y" vs "do Y" phrasing.
    """
    a, b = default_process(prediction), default_process(reference)
    if not a or not b:
        return 0.0
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


@dataclass(frozen=True)
class PRF:
    """Counts behind precision / recall / F1; add them up for a micro-average.

    Conventions for empty sides: with nothing predicted precision is 1 (no false
    positive); with nothing to find recall is 1 (nothing missed). So predicting nothing
    where there is nothing scores 1/1/1, and predicting items where there are none scores
    precision 0.
    """

    true_positives: int = 0
    predicted: int = 0
    reference: int = 0

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.reference if self.reference else 1.0

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    def __add__(self, other: PRF) -> PRF:
        return PRF(
            self.true_positives + other.true_positives,
            self.predicted + other.predicted,
            self.reference + other.reference,
        )

    @classmethod
    def total(cls, parts: Iterable[PRF]) -> PRF:
        result = cls()
        for part in parts:
            result = result + PRF(part.true_positives, part.predicted, part.reference)
        return result


@dataclass(frozen=True)
class MatchedPair:
    prediction_index: int
    reference_index: int
    prediction: str
    reference: str
    score: float


@dataclass(frozen=True)
class MatchResult(PRF):
    """A one-to-one matching, with what was matched and what was left over."""

    pairs: tuple[MatchedPair, ...] = ()
    unmatched_predictions: tuple[str, ...] = ()
    unmatched_references: tuple[str, ...] = ()
    threshold: float = DEFAULT_MATCH_THRESHOLD


def match_items(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    threshold: float = DEFAULT_MATCH_THRESHOLD,
    scorer: Callable[[str, str], float] = item_similarity,
) -> MatchResult:
    """Match predicted items to reference items one-to-one, greedily, best pair first.

    Every pair scoring at least ``threshold`` is a candidate; the highest-scoring pair is
    taken, its two items leave the pool, and so on (ties: earlier prediction, then earlier
    reference). Greedy is not the optimal assignment, but with items this short and few it
    rarely differs, and it is easy to explain.
    """
    candidates = [
        (score, p, r)
        for p, pred in enumerate(predictions)
        for r, ref in enumerate(references)
        if (score := scorer(pred, ref)) >= threshold
    ]
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_p: set[int] = set()
    used_r: set[int] = set()
    pairs: list[MatchedPair] = []
    for score, p, r in candidates:
        if p in used_p or r in used_r:
            continue
        used_p.add(p)
        used_r.add(r)
        pairs.append(MatchedPair(p, r, predictions[p], references[r], score))
    return MatchResult(
        true_positives=len(pairs),
        predicted=len(predictions),
        reference=len(references),
        pairs=tuple(pairs),
        unmatched_predictions=tuple(x for i, x in enumerate(predictions) if i not in used_p),
        unmatched_references=tuple(x for i, x in enumerate(references) if i not in used_r),
        threshold=threshold,
    )
