"""One post-processor for the items both engines extract: the same normalisation, the same
fuzzy dedupe, the same owner checks, whichever engine found them.

Two items are duplicates when their normalised texts are at least `SIMILAR` alike by
rapidfuzz's token-set ratio (so "Send the deck to Ann" and "send the deck to Ann." are
one item), they name the same numbers and, for action items, their owners do not
contradict each other. The first one stays; a later duplicate fills in what it lacks
(owner, due date, reference) and raises its confidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from rapidfuzz import fuzz

from summarizer.types import ActionItem

# Token-set similarity (0-100) from which two texts are the same item.
SIMILAR = 90

_T = TypeVar("_T")
_PUNCTUATION = re.compile(r"[^\w\s]")
_NUMBER = re.compile(r"\d+")


_CLAUSE_END = re.compile(
    r",?\s+(?:so that|so|because|since|but|although|though|unless|if|which|whereas)\s+|"
    r",\s+(?:and|then|I'll|I will|we'll|will)\s+|;|\s+-\s+",
    re.IGNORECASE,
)
_MAX_TASK_WORDS = 16


def first_clause(task: str) -> str:
    """The task without the reasons and asides that follow it ("..., so I can ...")."""
    task = _CLAUSE_END.split(task, maxsplit=1)[0]
    tokens = task.split()
    return " ".join(tokens[:_MAX_TASK_WORDS]) if len(tokens) > _MAX_TASK_WORDS else task


def normalize_item_text(text: str) -> str:
    """The text two items are compared by: case-folded, punctuation and spacing ignored."""
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


def similar(first: str, second: str) -> bool:
    """Whether two item texts say the same thing (compare normalised texts).

    Texts that name different numbers are different items ("Verify step 1" and "Verify
    step 5" score 92: token-set similarity barely sees one digit).
    """
    return fuzz.token_set_ratio(first, second) >= SIMILAR and _NUMBER.findall(
        first
    ) == _NUMBER.findall(second)


def dedupe_similar(items: Iterable[_T], text: Callable[[_T], str]) -> list[_T]:
    """Drop items whose text, as written, is similar to an earlier one's; keep the first.

    For decisions and questions of the offline engine: its evaluation numbers were tuned
    on texts compared as written.
    """
    kept: list[_T] = []
    for item in items:
        if all(not similar(text(item), text(other)) for other in kept):
            kept.append(item)
    return kept


def dedupe_exact(items: Iterable[_T], text: Callable[[_T], str]) -> list[_T]:
    """Drop empty items and items whose normalised text repeats an earlier one's."""
    seen: set[str] = set()
    kept: list[_T] = []
    for item in items:
        key = normalize_item_text(text(item))
        if key and key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def tidy_action_items(
    items: Iterable[ActionItem],
    participants: Sequence[str],
    participant_ids: Mapping[str, str],
) -> list[ActionItem]:
    """Action items with one-line tasks, owners that took part (with their platform ids),
    and each task once: a duplicate fills in what the first of its kind lacks."""
    kept: list[ActionItem] = []
    keys: list[str] = []
    for item in items:
        task = " ".join(item.task.split())
        key = normalize_item_text(task)
        if not key:
            continue
        owner = item.owner if item.owner in participants else None
        item = item.model_copy(
            update={
                "task": task,
                "owner": owner,
                "owner_id": participant_ids.get(owner) if owner else None,
            }
        )
        first = next(
            (
                existing
                for existing, existing_key in zip(kept, keys, strict=True)
                if similar(key, existing_key) and _same_owner(existing, item)
            ),
            None,
        )
        if first is None:
            kept.append(item)
            keys.append(key)
        else:
            _fill_in(first, item)
    return kept


def _same_owner(first: ActionItem, second: ActionItem) -> bool:
    return first.owner is None or second.owner is None or first.owner == second.owner


def _fill_in(first: ActionItem, duplicate: ActionItem) -> None:
    first.owner = first.owner or duplicate.owner
    first.owner_id = first.owner_id or duplicate.owner_id
    first.due = first.due or duplicate.due
    first.ref = first.ref or duplicate.ref
    first.confidence = max(first.confidence, duplicate.confidence)
