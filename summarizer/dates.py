"""Find due dates in free text and normalise them against the time they were written.

A small grammar finds the phrase ("by Friday", "tomorrow", "end of week", "March 5");
relative phrases are resolved here so their meaning is predictable, absolute ones go
through dateparser. Without a reference time a relative phrase cannot be resolved and
yields no date rather than a wrong one.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Any

_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")),
    ("numeric", re.compile(r"\b(\d{1,2}/\d{1,2}(?:/\d{2,4})?)\b")),
    (
        "month_day",
        re.compile(rf"\b((?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b", re.I),
    ),
    (
        "day_month",
        re.compile(
            rf"\b(\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})(?:\s+\d{{4}})?)\b", re.I
        ),
    ),
    (
        "today",
        re.compile(
            rf"\b(today|tonight|(?:eod|end of (?:the )?day|cob|close of business)(?!\s+{_WEEKDAY})|"
            r"asap|as soon as possible)\b",
            re.I,
        ),
    ),
    ("tomorrow", re.compile(r"\b(tomorrow|tmrw|tmr)\b", re.I)),
    # "later this week" means by its end; a bare "this week" may date the past ("the bug
    # we saw this week").
    (
        "end_week",
        re.compile(r"\b(eow|end of (?:the |this )?week|(?:later|sometime|by) this week)\b", re.I),
    ),
    ("end_next_week", re.compile(r"\b(end of next week)\b", re.I)),
    ("end_month", re.compile(r"\b(eom|end of (?:the |this )?month)\b", re.I)),
    ("next_week", re.compile(r"\b(next week)\b", re.I)),
    ("next_month", re.compile(r"\b(next month)\b", re.I)),
    ("in_n", re.compile(r"\b(in (\d+|an?|one|two|three|four|five) (day|week)s?)\b", re.I)),
    ("next_weekday", re.compile(rf"\b(next ({_WEEKDAY}))\b", re.I)),
    (
        "weekday",
        re.compile(
            rf"\b(?:by|on|before|until|till|due|this|ready|eod|cob|end of (?:the )?day|"
            rf"\d{{1,2}}(?::\d\d)?\s*[ap]m)\s+({_WEEKDAY})\b",
            re.I,
        ),
    ),
]


def _weekday_index(word: str) -> int | None:
    word = word.casefold()
    for name, index in _WEEKDAYS.items():
        if word == name or (len(word) >= 3 and name.startswith(word)):
            return index
    return None


def _next_weekday(base: date, weekday: int) -> date:
    """The first `weekday` strictly after `base` ("by Friday" said on a Friday: next week)."""
    return base + timedelta(days=(weekday - base.weekday() - 1) % 7 + 1)


def _absolute(phrase: str, base: datetime | None) -> date | None:
    import dateparser  # slow to import: only when an absolute date needs it

    settings: dict[str, Any] = {"PREFER_DATES_FROM": "future", "REQUIRE_PARTS": ["day", "month"]}
    if base is not None:
        settings["RELATIVE_BASE"] = base.replace(tzinfo=None)
    parsed = dateparser.parse(phrase, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _resolve(kind: str, match: re.Match[str], base: datetime | None) -> date | None:
    if kind in {"iso", "numeric", "month_day", "day_month"}:
        phrase = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", match.group(1), flags=re.I)
        return _absolute(phrase.replace(" of ", " "), base)
    if base is None:
        return None
    today = base.date()
    if kind == "today":
        return today
    if kind == "tomorrow":
        return today + timedelta(days=1)
    if kind == "end_week":
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        return friday if today.weekday() <= 4 else today
    if kind == "end_next_week":
        return today + timedelta(days=11 - today.weekday())
    if kind == "end_month":
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if kind == "next_week":
        return today + timedelta(days=7 - today.weekday())
    if kind == "next_month":
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return date(year, month, 1)
    if kind == "in_n":
        count_word = match.group(2).casefold()
        count = int(count_word) if count_word.isdigit() else _NUMBER_WORDS[count_word]
        unit = 7 if match.group(3).casefold() == "week" else 1
        return today + timedelta(days=count * unit)
    weekday = _weekday_index(match.group(2) if kind == "next_weekday" else match.group(1))
    if weekday is None:
        return None
    coming = _next_weekday(today, weekday)
    if kind == "next_weekday" and coming - today < timedelta(days=7 - today.weekday()):
        # "next Friday" said on a Monday is the Friday of next week, not this one.
        return coming + timedelta(days=7)
    return coming


_DEADLINE = re.compile(r"(?:\b(?:by|before|until|till|due)\s+)$", re.I)


def find_due(
    text: str, base: datetime | None, *, deadline: bool = False
) -> tuple[date | None, str | None]:
    """The due date written in `text`, resolved against `base`, and its phrase: the first
    one said as a deadline ("by next Tuesday") if any, else the first one. `deadline`:
    only a deadline ("the release on Friday broke login" gives none)."""
    best: tuple[bool, int, str, re.Match[str]] | None = None
    for kind, pattern in _PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        said_as_deadline = bool(
            _DEADLINE.search(text[: match.start()])
            or re.match(r"(?:by|before|until|till|due)\b", match.group(0), re.I)
        )
        candidate = (not said_as_deadline, match.start(), kind, match)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    if best is None or (deadline and best[0]):
        return None, None
    _, _, kind, match = best
    return _resolve(kind, match, base), match.group(0)


def normalize_due(phrase: str | None, base: datetime | None) -> date | None:
    """Normalise a due date written by a person or a model ("Friday", "2026-12-01")."""
    if not phrase or not phrase.strip():
        return None
    phrase = phrase.strip()
    try:
        return date.fromisoformat(phrase[:10])
    except ValueError:
        pass
    found, _ = find_due(phrase, base)
    if found is not None:
        return found
    weekday = _weekday_index(phrase.split()[0]) if phrase.split() else None
    if weekday is not None and base is not None and len(phrase.split()) == 1:
        return _next_weekday(base.date(), weekday)
    return _absolute(phrase, base) if base is not None else None
