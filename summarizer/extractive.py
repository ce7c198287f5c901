"""Extractive recap: pick the sentences that best cover what was talked about.

SumBasic (Nenkova & Vanderwende, 2005): a sentence scores the mean probability of its
content words; after a pick, the probabilities of the words it used are squared so the
next pick covers something else. Linear in the conversation's length, no model needed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from summarizer.text import Sentence, content_words, is_filler, sanitize_text, words

_MIN_WORDS = 5
_MAX_WORDS = 45


def _budget(sentence_count: int, low: int, high: int) -> int:
    """How many sentences to pick: grows with the log of the conversation's length."""
    return max(low, min(high, round(math.log2(max(sentence_count, 2)))))


def _candidates(sentences: list[Sentence]) -> list[tuple[int, Sentence, list[str]]]:
    chosen = []
    for position, sentence in enumerate(sentences):
        count = len(words(sentence.text))
        if count < _MIN_WORDS or count > _MAX_WORDS or is_filler(sentence.text):
            continue
        if sentence.text.rstrip().endswith("?"):
            continue  # questions are reported separately, they make poor summary lines
        terms = content_words(sentence.text)
        if len(terms) >= 3:
            chosen.append((position, sentence, terms))
    return chosen


def rank_sentences(sentences: list[Sentence], count: int) -> list[Sentence]:
    """The `count` most representative sentences, best first, with little redundancy."""
    candidates = _candidates(sentences)
    if not candidates:
        return []
    frequency = Counter(term for _, _, terms in candidates for term in set(terms))
    total = sum(frequency.values())
    probability = {term: n / total for term, n in frequency.items()}
    picked: list[Sentence] = []
    used: set[int] = set()
    while len(picked) < count and len(used) < len(candidates):
        best_score, best = -1.0, None
        for position, sentence, terms in candidates:
            if position in used:
                continue
            unique = set(terms)
            # Mean probability, with a mild preference for sentences that say more. fsum is
            # exact whatever the set's order (which follows PYTHONHASHSEED), so a recap is
            # the same in every process and equal scores stay equal: the earlier one wins.
            mean = math.fsum(probability[t] for t in unique) / len(unique)
            score = mean * math.log(1 + len(unique))
            if score > best_score:
                best_score, best = score, (position, sentence, unique)
        if best is None:
            break
        position, sentence, unique = best
        used.add(position)
        picked.append(sentence)
        for term in unique:
            probability[term] **= 2
    return picked


def extractive_summary(
    sentences: list[Sentence],
    *,
    skip: AbstractSet[int] = frozenset(),
    phrase: Callable[[Sentence], str] | None = None,
) -> tuple[str, list[Sentence]]:
    """A short summary paragraph and the key-point sentences, both in conversation order.

    Sentences at the positions in `skip` (already reported as action items or decisions)
    are left out unless nothing else is left. `phrase` says how a picked sentence reads
    in the summary (as written by default).
    """
    summary_count = _budget(len(sentences), 1, 3)
    key_count = _budget(len(sentences), 2, 6)
    rest = [s for i, s in enumerate(sentences) if i not in skip]
    ranked = rank_sentences(rest, summary_count + key_count) or rank_sentences(
        sentences, summary_count + key_count
    )
    order = {id(s): i for i, s in enumerate(sentences)}
    summary = sorted(ranked[:summary_count], key=lambda s: order[id(s)])
    key_points = sorted(ranked[summary_count:], key=lambda s: order[id(s)])
    text = " ".join(_as_sentence(phrase(s) if phrase else s.text) for s in summary)
    return sanitize_text(text), key_points


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?" else text + "."
