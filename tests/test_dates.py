from datetime import UTC, date, datetime

import pytest

from summarizer.dates import find_due, normalize_due

MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
FRIDAY = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [
        ("send it by Friday", MONDAY, date(2026, 11, 27)),
        ("by Friday", FRIDAY, date(2026, 12, 4)),  # said on a Friday: the next one
        ("ship on Tue", MONDAY, date(2026, 11, 24)),
        ("tomorrow please", MONDAY, date(2026, 11, 24)),
        ("before EOD", MONDAY, date(2026, 11, 23)),
        ("by end of week", MONDAY, date(2026, 11, 27)),
        ("I'll mock it up later this week", MONDAY, date(2026, 11, 27)),
        ("the incident from this week, by next Tuesday", MONDAY, date(2026, 12, 1)),
        ("will have them ready Friday", MONDAY, date(2026, 11, 27)),
        ("sometime next week", MONDAY, date(2026, 11, 30)),
        ("next Friday", MONDAY, date(2026, 12, 4)),
        ("end of month", MONDAY, date(2026, 11, 30)),
        ("in 2 days", MONDAY, date(2026, 11, 25)),
        ("in a week", MONDAY, date(2026, 11, 30)),
        ("by March 5", MONDAY, date(2027, 3, 5)),
        ("on the 5th of December", MONDAY, date(2026, 12, 5)),
        ("due 2027-01-15", MONDAY, date(2027, 1, 15)),
        ("by 12/3", MONDAY, date(2026, 12, 3)),
    ],
)
def test_due_phrases_resolve_against_the_message_time(text, base, expected) -> None:
    assert find_due(text, base)[0] == expected


def test_no_date_and_no_false_friends() -> None:
    assert find_due("I may look at it", MONDAY) == (None, None)
    assert find_due("the second option is better", MONDAY) == (None, None)
    assert find_due("I'm in Berlin Friday", MONDAY) == (None, None)  # a bare weekday is no date
    assert find_due("the bug we saw this week", MONDAY) == (None, None)
    assert find_due("what went live Friday", MONDAY) == (None, None)
    # Only a deadline, when asked for one: the release's day is not the fix's due date.
    assert find_due("the release on Friday broke login", MONDAY, deadline=True) == (None, None)
    assert find_due("we need it back by Friday", MONDAY, deadline=True)[0] == date(2026, 11, 27)


def test_relative_dates_need_a_reference_time() -> None:
    assert find_due("by Friday", None)[0] is None
    assert find_due("by 2027-01-15", None)[0] == date(2027, 1, 15)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("Friday", date(2026, 11, 27)),
        ("tomorrow", date(2026, 11, 24)),
        ("December 3", date(2026, 12, 3)),
        ("", None),
        (None, None),
        ("whenever", None),
    ],
)
def test_normalize_due_of_model_output(phrase, expected) -> None:
    assert normalize_due(phrase, MONDAY) == expected
