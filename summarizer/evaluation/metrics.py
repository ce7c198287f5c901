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
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import jiwer
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq
from rapidfuzz.utils import default_process

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
# Text normalisation for WER
# --------------------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['’‘`´]")
# "i.e." -> "ie", "U.S.A." -> "usa": dotted single letters are one word, not several.
_DOTTED_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")
_DIGIT_GROUP_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# A word is a run of letters/digits; "12.5" keeps its decimal point.
_WORD = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros"}
_CURRENCY_AMOUNT = re.compile(r"([$£€])\s?(\d+(?:[.,]\d+)*)")
_TITLES = {"mr": "mister", "mrs": "missus"}

_ONES = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
_TEENS = {
    w: i + 10
    for i, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: (i + 2) * 10
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINAL_ONES = {
    w: i + 1
    for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth".split())
}
_ORDINAL_TEENS = {
    w: i + 10
    for i, w in enumerate(
        (
            "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
            "eighteenth nineteenth"
        ).split()
    )
}
_ORDINAL_TENS = {
    w: (i + 2) * 10
    for i, w in enumerate(
        "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split()
    )
}
_ORDINAL_SCALES = {"thousandth": 1_000, "millionth": 1_000_000, "billionth": 1_000_000_000}

_ONE, _TEEN, _TEN, _HUNDRED, _SCALE, _AND = "one", "teen", "ten", "hundred", "scale", "and"


def _classify(word: str) -> tuple[str, int, bool] | None:
    """(kind, value, is_ordinal) of a number word, or None for any other word."""
    for table, kind in ((_ONES, _ONE), (_TEENS, _TEEN), (_TENS, _TEN), (_SCALES, _SCALE)):
        if word in table:
            return kind, table[word], False
    for table, kind in (
        (_ORDINAL_ONES, _ONE),
        (_ORDINAL_TEENS, _TEEN),
        (_ORDINAL_TENS, _TEN),
        (_ORDINAL_SCALES, _SCALE),
    ):
        if word in table:
            return kind, table[word], True
    if word == "hundred":
        return _HUNDRED, 100, False
    if word == "hundredth":
        return _HUNDRED, 100, True
    return None


def _ordinal_suffix(value: int) -> str:
    if 11 <= value % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")


class _NumberParser:
    """Turns runs of English number words into digits; every other word passes through.

    Handles cardinals up to billions ("one hundred and five" -> 105), ordinals ("fifteenth"
    -> 15th, "twenty first" -> 21st), years read as pairs ("fourteen fifty five" -> 1455,
    "nineteen hundred" -> 1900), "a hundred" / "a thousand", and decimals with single
    digits ("two point five" -> 2.5). Adjacent numbers that cannot form one value stay
    separate ("one two three" -> 1 2 3). Every number word is converted, whatever it means
    ("no one" -> "no 1", "a second" -> "a 2nd"): harmless, as both sides get the same
    rewrite. Not handled: "oh" for zero, years read from
    "twenty" ("twenty twenty" -> 20 20), fractions, plural "hundreds"/"thousands".
    """

    def __init__(self) -> None:
        self.out: list[str] = []
        self._reset()

    def _reset(self) -> None:
        self.total = 0
        self.current = 0
        self.last: str | None = None  # kind of the last word of the number being read
        self.last_scale: int | None = None

    def _flush(self, suffix: str = "") -> None:
        if self.last is not None:
            self.out.append(f"{self.total + self.current}{suffix}")
        self._reset()

    def _after_group_start(self) -> bool:
        # A new group can continue after "hundred", "thousand" or an inner "and".
        return self.last in (_HUNDRED, _SCALE, _AND)

    def _bare_teen(self) -> bool:
        return self.last == _TEEN and self.total == 0 and 10 <= self.current <= 19

    def _add(self, kind: str, value: int) -> None:
        if kind == _ONE:
            if self.last is None:
                self.current = value
            elif (self.last == _TEN and self.current % 10 == 0) or self._after_group_start():
                self.current += value
            else:
                self._flush()
                self.current = value
        elif kind in (_TEEN, _TEN):
            if self.last is None:
                self.current = value
            elif self._after_group_start() and self.current % 100 == 0:
                self.current += value
            elif self._bare_teen():
                self.current = self.current * 100 + value  # a year: "nineteen twelve"
            else:
                self._flush()
                self.current = value
        elif kind == _HUNDRED:
            if self.last is None:
                self.current = 100
            elif self.last in (_ONE, _TEEN, _TEN) and 0 < self.current < 100:
                self.current *= 100
            else:
                self._flush()
                self.current = 100
        else:  # _SCALE
            if self.last is None:
                self.total, self.current = value, 0
            elif (
                self.last in (_ONE, _TEEN, _TEN, _HUNDRED)
                and 0 < self.current < 1000
                and (self.last_scale is None or value < self.last_scale)
            ):
                self.total += self.current * value
                self.current = 0
            else:
                self._flush()
                self.total, self.current = value, 0
            self.last_scale = value
        self.last = kind

    def run(self, words: list[str]) -> list[str]:
        i = 0
        while i < len(words):
            word = words[i]
            nxt = _classify(words[i + 1]) if i + 1 < len(words) else None
            info = _classify(word)
            if info is not None:
                kind, value, ordinal = info
                self._add(kind, value)
                if ordinal:
                    value = self.total + self.current
                    self._flush(_ordinal_suffix(value))
                i += 1
                continue
            if (
                word == "a"
                and self.last is None
                and nxt is not None
                and nxt[0] in (_HUNDRED, _SCALE)
                and not nxt[2]
            ):
                self._add(_ONE, 1)  # "a hundred" -> 100
                i += 1
                continue
            if (
                word == "and"
                and self.last in (_HUNDRED, _SCALE)
                and nxt is not None
                and nxt[0] in (_ONE, _TEEN, _TEN)
            ):
                self.last = _AND  # "one hundred and five" -> 105
                i += 1
                continue
            if (
                word.isdigit()
                and self.last is None
                and nxt is not None
                and nxt[0] in (_HUNDRED, _SCALE)
                and not nxt[2]
            ):
                self.current, self.last = int(word), _ONE  # "2 million" -> 2000000
                i += 1
                continue
            if word == "point" and self.last is not None:
                digits = []
                j = i + 1
                while j < len(words) and words[j] in _ONES:
                    digits.append(str(_ONES[words[j]]))
                    j += 1
                if digits:
                    self._flush("." + "".join(digits))
                    i = j
                    continue
            self._flush()
            self.out.append(word)
            i += 1
        self._flush()
        return self.out


def normalize_text(text: str, *, standardize: bool = True) -> str:
    """Normalise a transcript for WER so that only real recognition errors count.

    Always: Unicode NFKC, lowercase, apostrophes dropped ("it's" -> "its"), dotted
    acronyms joined ("i.e." -> "ie"), thousands separators dropped ("1,000" -> "1000"),
    every other non-alphanumeric character (hyphens included) turned into a space, and
    whitespace collapsed. A decimal point between digits is kept ("12.5").

    With ``standardize`` (the default) also: currency and percent signs become words
    ("$5" -> "5 dollars", "5%" -> "5 percent"), "mr"/"mrs" become "mister"/"missus", and
    English number words become digits ("fourteen fifty-five" -> "1455", "fifteenth" ->
    "15th", "forty-two" -> "42"; see :class:`_NumberParser` for what is covered). This is
    applied identically to reference and hypothesis, so it cannot turn a wrong word into a
    right one; it only stops "forty-two" vs "42" counting as two errors. It also merges a
    multi-word number into one token, which shrinks the reference word count a little
    (the same trade-off Whisper's own English normaliser makes). No spelling variants
    (colour/color), contractions or filler words are touched.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("", text)
    text = _DIGIT_GROUP_COMMA.sub("", text)
    if standardize:
        text = _CURRENCY_AMOUNT.sub(lambda m: f" {m.group(2)} {_CURRENCY[m.group(1)]} ", text)
        text = text.replace("%", " percent ").replace("&", " and ")
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    words = _WORD.findall(text)
    if standardize:
        words = [_TITLES.get(w, w) for w in words]
        words = _NumberParser().run(words)
    return " ".join(words)


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
