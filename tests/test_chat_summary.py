"""What a chat recap shows besides its items: no asides or personal chatter, no
first-person sentence without its author, no key point that repeats an action item; and
realistic threads that exercise all of the chat rules together (issue 15, part 3)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from summarizer.conversation_formats import load_conversation
from summarizer.offline import offline_recap
from summarizer.types import Conversation, Message, Recap

FIXTURES = Path(__file__).parent / "fixtures"
MONDAY = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def _recap(*lines: tuple[str, str]) -> Recap:
    return offline_recap(
        Conversation(
            messages=[
                Message(author=author, text=text, at=MONDAY, ref=f"m{i}")
                for i, (author, text) in enumerate(lines)
            ]
        )
    )


_ASIDES = [
    ("Ann", "Random note: the coffee machine on floor three is broken again."),
    ("Bob", "Btw my kid's football team won the league on Saturday!"),
    ("Cid", "Unrelated, but the parking garage closes early this week."),
    ("Ann", "The database migration needs a maintenance window before the release."),
    ("Bob", "The migration scripts were tested against a copy of production data."),
    ("Cid", "Side note: happy birthday to Dana, cake in the kitchen at three."),
    ("Ann", "The maintenance window should avoid the month-end billing run."),
    ("Bob", "I think the billing run finishes around midnight on the last day."),
]


def test_asides_and_chatter_stay_out_of_the_summary() -> None:
    recap = _recap(*_ASIDES)
    shown = " ".join([recap.summary, *recap.key_points]).casefold()
    for aside in ("coffee", "football", "parking", "birthday"):
        assert aside not in shown
    assert "migration" in shown


_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i'll|i've|i'd|me|my)\b", re.I)


def _attributed(line: str, participants: list[str]) -> bool:
    return any(line.startswith(f"{p}: ") or line.endswith(f"({p})") for p in participants)


def _lines(recap: Recap) -> list[str]:
    return [*re.split(r"(?<=[.!?])\s+(?=[A-Z])", recap.summary), *recap.key_points]


@pytest.mark.parametrize(
    "lines",
    [
        [
            ("Ann", "I restarted the ingest workers after the memory alert fired twice."),
            ("Bob", "The queue latency dropped back under two seconds afterwards."),
            ("Ann", "I think the leak comes from the new image resizing library."),
            ("Bob", "I'll open a ticket with the library maintainers today."),
        ],
        [("Ann", "I reviewed the vendor contract and my main worry is the liability cap.")],
    ],
)
def test_first_person_lines_say_who_said_them(lines) -> None:
    recap = _recap(*lines)
    first_person = [s for s in _lines(recap) if _FIRST_PERSON.search(s.split(": ", 1)[-1])]
    assert first_person
    for line in first_person:
        assert _attributed(line.rstrip("."), ["Ann", "Bob"]), line


def test_key_points_do_not_repeat_the_action_items() -> None:
    recap = _recap(
        ("Ann", "Action: Bob to update the onboarding checklist for contractors by Friday."),
        ("Cid", "The onboarding checklist for contractors still lists the old VPN client."),
        ("Bob", "The new VPN client needs a different certificate on every laptop."),
        ("Ann", "Security wants the certificates rotated every ninety days from now on."),
        ("Cid", "Procurement approved the extra licences for the contractor laptops."),
        ("Bob", "The helpdesk macros still point people to the retired wiki pages."),
    )
    assert [a.task for a in recap.action_items] == [
        "Update the onboarding checklist for contractors"
    ]
    for line in _lines(recap):
        assert "onboarding checklist" not in line, line


# The realistic threads: every expected item exactly once, with owner and due date, and
# every question that nobody answered kept.
THREADS = sorted(FIXTURES.glob("chat_*.json"))


def test_there_are_realistic_threads() -> None:
    assert len(THREADS) >= 3


@pytest.mark.parametrize("path", THREADS, ids=lambda p: p.stem)
def test_realistic_thread(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected").read_text())
    recap = offline_recap(load_conversation(path))
    items = [[a.owner, a.task, a.due.isoformat() if a.due else None] for a in recap.action_items]
    assert sorted(items, key=str) == sorted(expected["action_items"], key=str)
    assert [q.text for q in recap.open_questions] == expected["open_questions"]
    assert [d.text for d in recap.decisions] == expected["decisions"]
    shown = " ".join([recap.summary, *recap.key_points]).casefold()
    for aside in expected["not_in_summary"]:
        assert aside.casefold() not in shown
