"""The shapes a commitment or an assignment takes in a chat line, and cutting a line that
makes several into one clause each.

"I'll send the deck", "I can take the docs"; "Noah will update the docs", "- Noah takes the
auth refactor" (present tense, in a list only); "@Marcus handle the flaky tests"; and a
line that hands out several ("I'll fix the test today, and I'll review the PR tomorrow",
"Priya will update the page, Marcus will run the load test").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from summarizer.text import Sentence

_IGNORE_CASE = re.IGNORECASE
# "I'll send the deck", "let me check", "I can take the docs".
COMMITMENT = re.compile(
    r"\b(?:I'll|I will|I'm going to|I am going to|I'm gonna|let me|I can(?= take\b))\s+(.+)",
    _IGNORE_CASE,
)
# "@Marcus handle the flaky e2e tests", "@Diego: fix retry backoff": work handed to a person.
AT_ASSIGN = re.compile(r"^@(?P<name>[\w.\-]+(?:\s[A-Z][\w.\-]*)?)\s*[,:]?\s+(?P<task>.+)$")
# "- ", "• ", "2. ": a line of a list, as in meeting notes.
_LIST_ITEM = re.compile(r"^\s*(?:[-*•‣–]|\d{1,2}[.)])\s+")
# "for this week: @Priya please own…": a short label before a line that names someone.
_LABEL = re.compile(r"^[^:@?]{1,30}:\s+(?=@\w)")
THIRD_PERSON = re.compile(
    r"^@?(?P<name>[A-Z][\w.\-]*(?:\s[A-Z][\w.\-]*)?)\s+"
    r"(?:(?:will|is going to|to|should|needs to|can)\s+(?P<task>.+)"
    # Notes hand out work in the present: "- Noah takes the auth refactor" (in a list only:
    # "Dan owns that service" in a sentence is news, not a task).
    r"|(?P<assigned>takes|owns|handles|leads|drives|covers|picks up)\s+(?P<rest>.+))$"
)


def without_list_marker(sentence: Sentence) -> tuple[str, bool]:
    """The sentence without a list marker ("- ", "2. ") or a label before an "@name", and
    whether it had a list marker."""
    listed = _LIST_ITEM.match(sentence.text)
    text = (sentence.text[listed.end() :] if listed else sentence.text).strip()
    return _LABEL.sub("", text), bool(listed)


def third_person_task(match: re.Match[str]) -> str:
    """ "Noah will update the docs" -> "update the docs"; "Noah takes the auth refactor"
    -> "take the auth refactor"."""
    if match.group("task"):
        return match.group("task")
    verb, _, particle = match.group("assigned").partition(" ")
    return " ".join(w for w in (verb.removesuffix("s"), particle, match.group("rest")) if w)


# "I'll fix the login test today, and I'll review Priya's PR tomorrow": two commitments.
# "Priya will update the page, Marcus will run the load test and @Leo send the notes".
_NEXT_COMMITMENT = re.compile(
    r"[,;]?\s+(?:(?:and|then|also)\s+)*(?=(?:I'll|I will|I'm going to|I'm gonna)\s)"
    r"|(?:[,;]\s*(?:and\s+)?|\s+and\s+)(?=@\w|[A-Z][\w.\-]*\s+(?:will|is going to)\s)",
    _IGNORE_CASE,
)


def _assigns(clause: str) -> bool:
    return bool(COMMITMENT.match(clause) or THIRD_PERSON.match(clause) or AT_ASSIGN.match(clause))


def commitment_clauses(sentences: Sequence[Sentence]) -> tuple[list[Sentence], list[int]]:
    """The sentences with each one that makes several commitments cut into one clause per
    commitment, and the position of the sentence each clause came from."""
    clauses: list[Sentence] = []
    origin: list[int] = []
    for position, sentence in enumerate(sentences):
        parts = [p.strip() for p in _NEXT_COMMITMENT.split(sentence.text) if p.strip()]
        conditional = re.search(r"\b(?:if|unless|otherwise)\b", sentence.text, _IGNORE_CASE)
        if conditional or sum(1 for p in parts if _assigns(p)) < 2:
            parts = [sentence.text]
        clauses += [replace(sentence, text=part) for part in parts]
        origin += [position] * len(parts)
    return clauses, origin
