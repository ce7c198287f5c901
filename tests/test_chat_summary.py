"""What a chat recap shows besides its items: no asides or personal chatter, no
first-person sentence without its author, no key point that repeats an action item; and
realistic threads that exercise all of the chat rules together (issue 15, part 3)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from summarizer.conversation_formats import load_conversation
from summarizer.offline import offline_recap
from summarizer.types import Recap
from tests.chat import recap_lines

FIXTURES = Path(__file__).parent / "fixtures"


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
    recap = recap_lines(*_ASIDES)
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
    recap = recap_lines(*lines)
    first_person = [s for s in _lines(recap) if _FIRST_PERSON.search(s.split(": ", 1)[-1])]
    assert first_person
    for line in first_person:
        assert _attributed(line.rstrip("."), ["Ann", "Bob"]), line


def test_key_points_do_not_repeat_the_action_items() -> None:
    recap = recap_lines(
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


# The realistic threads (tests/fixtures/chat_threads/, written for these tests): every
# expected item exactly once, with its owner and due date; the questions nobody answered
# kept; the agreed decisions; no aside in the summary. Messages are dated Monday 2026-11-16.
THREADS = {
    "incident_followup": {
        "action_items": [
            ("Kofi Mensah", "Chase the cloud provider for their incident report", "2026-11-18"),
            ("Lars Eriksen", "Draft the customer status update", "2026-11-16"),
            ("Dana Ruiz", "Fix the alert threshold for the queue depth", "2026-11-17"),
        ],
        "open_questions": ["Do we need to notify the data protection officer about the outage?"],
        "decisions": ["We'll freeze deploys until the postmortem"],
        "not_in_summary": ["wifi", "dentist", "Yes, I will", "I can draft"],
    },
    "hiring_loop": {
        "action_items": [
            ("Aisha Bello", "Do the onsite interview", "2026-11-20"),
            ("Ravi Kumar", "Send Aisha the interview packet", "2026-11-18"),
            ("Aisha Bello", "Ask the CTO who joins the final round", "2026-11-16"),
            ("Tom Walsh", "Write the interview scorecard template", "2026-11-19"),
        ],
        "open_questions": ["What salary band are we offering for this role?"],
        "decisions": ["Let's make the offer decision within two days of the onsite"],
        "not_in_summary": ["marathon", "legs", "I will ask him"],
    },
    "vendor_renewal": {
        "action_items": [
            ("Kofi Asante", "Chase legal", "2026-11-19"),
            ("Marta Silva", "Collect the seat counts from each team", "2026-11-18"),
            ("Ben Osei", "Compare the offer with the two alternative vendors", "2026-11-23"),
        ],
        "open_questions": ["Should we ask for a two-year term to lock the current price?"],
        "decisions": ["We'll cap the paid seats at forty for the first year"],
        "not_in_summary": ["parking", "pizza", "signed off"],
    },
    "app_launch": {
        "action_items": [
            ("Elena Rossi", "Update the app store screenshots", "2026-11-20"),
            ("Sam Adeyemi", "Prepare the launch day social posts", "2026-11-23"),
        ],
        "open_questions": ["Do we localize the release notes for Japan this time?"],
        "decisions": ["We'll move the launch webinar to Wednesday"],
        "not_in_summary": ["climbing", "gym", "swamped"],
    },
}


def test_every_thread_fixture_is_checked() -> None:
    on_disk = {p.stem for p in (FIXTURES / "chat_threads").glob("*.json")}
    assert on_disk == set(THREADS)


@pytest.mark.parametrize("name", sorted(THREADS))
def test_realistic_thread(name: str) -> None:
    expected = THREADS[name]
    recap = offline_recap(load_conversation(FIXTURES / "chat_threads" / f"{name}.json"))
    items = [(a.owner, a.task, a.due.isoformat() if a.due else None) for a in recap.action_items]
    assert sorted(items) == sorted(expected["action_items"])  # each once, owner and date
    assert len(items) == len(set(items))
    assert [q.text for q in recap.open_questions] == expected["open_questions"]
    assert [d.text for d in recap.decisions] == expected["decisions"]
    shown = " ".join([recap.summary, *recap.key_points]).casefold()
    for left_out in expected["not_in_summary"]:
        assert left_out.casefold() not in shown
    for line in _lines(recap):
        if _FIRST_PERSON.search(line.split(": ", 1)[-1]):
            assert _attributed(line.rstrip("."), recap.participants), line
