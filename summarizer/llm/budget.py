"""Token budget: a tokenizer-free estimate, and cutting work into pieces that fit it.

tiktoken needs to download its encodings, and other providers' tokenizers differ anyway,
so tokens are estimated: English text averages about 4 characters per token in GPT-style
BPE vocabularies, and a non-ASCII character counts as a whole token, which is about right
for CJK and over-counts accented or Cyrillic text. Overestimating only costs an extra
chunk; underestimating overflows the model's context.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

CHARS_PER_TOKEN = 4

_T = TypeVar("_T")

# One message as the model sees it, with its global number (citations stay valid per chunk).
NumberedLine = tuple[int, str]


def estimate_tokens(text: str) -> int:
    """Tokens in `text`, estimated as ASCII characters / 4 + one per non-ASCII character."""
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return math.ceil((len(text) - non_ascii) / CHARS_PER_TOKEN) + non_ascii


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` whose estimate stays within `max_tokens`."""
    cost = 0.0
    for index, ch in enumerate(text):
        cost += 1.0 if ord(ch) > 127 else 1.0 / CHARS_PER_TOKEN
        if cost > max_tokens:
            return text[:index].rstrip()
    return text


def split_into_chunks(lines: Sequence[NumberedLine], budget: int) -> list[list[NumberedLine]]:
    """Consecutive messages in chunks of at most `budget` estimated tokens (one line each)."""
    chunks: list[list[NumberedLine]] = [[]]
    used = 0
    for number, text in lines:
        cost = estimate_tokens(text) + 1  # the newline
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append((number, text))
        used += cost
    return chunks


def group_within_budget(
    items: Sequence[_T], budget: int, cost: Callable[[_T], int]
) -> list[list[_T]]:
    """Consecutive items in groups that fit `budget`; never a lone item that could pair up,
    so every level of a merge tree at least halves the count."""
    groups: list[list[_T]] = [[]]
    used = 0
    for item in items:
        spent = cost(item)
        if len(groups[-1]) >= 2 and used + spent > budget:
            groups.append([])
            used = 0
        groups[-1].append(item)
        used += spent
    return groups
