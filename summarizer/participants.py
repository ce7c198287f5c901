"""Resolve a name written in a conversation to one of its participants.

Owners of action items must be people who took part: a name that does not resolve to
exactly one participant is dropped rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_STRIP = re.compile(r"^[@\s]+|[\s.,:;!?'\"()]+$")
_UNNAMED_SPEAKER = re.compile(r"Speaker \d+")


def is_unnamed_speaker(name: str | None) -> bool:
    """True for diarization's placeholder labels ("Speaker 1"): a voice, not a person, so
    it is quoted in recaps but owns no action item until someone names it."""
    return bool(name) and _UNNAMED_SPEAKER.fullmatch(name or "") is not None


def _key(name: str) -> str:
    return _STRIP.sub("", name).casefold()


def match_participant(name: str | None, participants: Sequence[str]) -> str | None:
    """Return the participant that `name` designates, or None when none or several do.

    Matches a full name case-insensitively (with or without a leading "@"), then a unique
    first name ("Dana" for "Dana Scully"), then a unique handle-like prefix ("dana.s").
    """
    if not name:
        return None
    wanted = _key(name)
    if not wanted or wanted in {"everyone", "channel", "here", "all", "team", "we", "us"}:
        return None
    exact = [p for p in participants if _key(p) == wanted]
    if len(exact) == 1:
        return exact[0]
    first = [p for p in participants if _key(p).split()[:1] == [wanted]]
    if len(first) == 1:
        return first[0]
    compact = re.sub(r"[\s._-]+", "", wanted)
    handle = [
        p
        for p in participants
        if re.sub(r"[\s._-]+", "", _key(p)).startswith(compact) and len(compact) >= 3
    ]
    if len(handle) == 1:
        return handle[0]
    return None


def mentioned_participants(text: str, participants: Sequence[str]) -> list[str]:
    """Participants named in `text` as "@name" or as a whole word (first or full name)."""
    found: list[str] = []
    lowered = text.casefold()
    for person in participants:
        full = person.casefold()
        first = full.split()[0] if full.split() else full
        for candidate in (full, first):  # fixed order, whatever PYTHONHASHSEED
            if len(candidate) < 2:
                continue
            if re.search(rf"(?<![\w@])@?{re.escape(candidate)}(?!\w)", lowered):
                found.append(person)
                break
    # A first name shared by two participants identifies no one.
    firsts = [p.casefold().split()[0] for p in found if p.split()]
    return [
        p for p in found if firsts.count(p.casefold().split()[0]) == 1 or p.casefold() in lowered
    ]
