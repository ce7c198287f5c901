"""When a reported action item is one the channel already has (issue #16): a second recap
of the same thread, or a digest window that overlaps an earlier one, reports the same
commitment again, and it must update that item rather than add another. Pure functions."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from summarizer.types import ActionItem

# Two wordings of one task citing the same message: at least this share of their words
# in common (Dice coefficient of their word sets), e.g. "Send the report to finance by
# Friday" and "Send finance the report".
SIMILAR = 0.5
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words that say nothing about which task it is.
_FILLER = frozenset("a an the to of for and or by on in at with is be will should please".split())


class Stored(Protocol):
    """What identity reads of a stored item."""

    key: str
    task: str
    source_ref: str | None


S = TypeVar("S", bound=Stored)


def normalise(text: str) -> str:
    """Lower case, accents and punctuation off, words separated by one space."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text
    return " ".join(_WORD.findall(folded.casefold()))


def words(text: str) -> frozenset[str]:
    return frozenset(word for word in normalise(text).split() if word not in _FILLER)


def similarity(a: str, b: str) -> float:
    """How much two task wordings have in common, 0..1."""
    left, right = words(a), words(b)
    if not left or not right:
        return 1.0 if normalise(a) == normalise(b) else 0.0
    return 2 * len(left & right) / (len(left) + len(right))


def owner_key(item: ActionItem) -> str:
    return item.owner_id or normalise(item.owner or "")


def is_position(ref: str | None) -> bool:
    """A position in a recording ("t=00:01:23"), as a transcript's own recap cites: unlike
    a message id, the same position recurs in every recording of the channel."""
    return bool(ref) and str(ref).startswith("t=")


def item_key(item: ActionItem, scope: str = "") -> str:
    """The identity a new item is stored under (64 hex characters): its source and task
    when it cites one (a position in a recording within `scope`, the recording), else its
    task and owner."""
    if item.ref:
        where = f"{scope}|{item.ref}" if scope and is_position(item.ref) else item.ref
        basis = f"ref\n{where}\n{normalise(item.task)}"
    else:
        basis = f"task\n{normalise(item.task)}\n{owner_key(item)}"
    return hashlib.sha256(basis.encode()).hexdigest()


def best_match(item: ActionItem, candidates: Iterable[S]) -> S | None:
    """The stored item `item` reports again, if any: one citing the same source with a
    similar wording (the most similar), or, when it cites none, the one stored under its
    key (same normalised task and owner)."""
    if not item.ref:
        key = item_key(item)
        return next((row for row in candidates if row.key == key), None)
    scored = [
        (similarity(item.task, row.task), row) for row in candidates if row.source_ref == item.ref
    ]
    scored = [(score, row) for score, row in scored if score >= SIMILAR]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def lookup_refs(items: Sequence[ActionItem]) -> tuple[set[str], set[str]]:
    """What to read from the store to match `items`: (source refs, keys of those without)."""
    refs = {item.ref for item in items if item.ref}
    keys = {item_key(item) for item in items if not item.ref}
    return refs, keys
