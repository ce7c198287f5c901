"""What chat threads need beyond single sentences: a request and its answer are one item,
declines and completed work are no items, questions stay open until answered, agreement
makes a decision, pronouns point back (issue 15, part 3; the summary's side is in
tests/test_chat_summary.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from summarizer.types import Recap
from tests.chat import recap_lines

FIXTURES = Path(__file__).parent / "fixtures"
TODAY, TOMORROW = date(2026, 11, 16), date(2026, 11, 17)
THURSDAY, FRIDAY = date(2026, 11, 19), date(2026, 11, 20)


def _items(recap: Recap) -> list[tuple[str | None, str, date | None]]:
    return [(a.owner, a.task, a.due) for a in recap.action_items]


# A request and its acceptance are one item, owned by the one who accepts, due from either.
@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                ("Ann", "Kofi, can you chase legal by Thursday?"),
                ("Kofi", "Yes, I will get it signed off by Thursday."),
            ],
            [("Kofi", "Chase legal", THURSDAY)],
        ),
        (
            [
                ("Ann", "Could you update the pricing page?"),
                ("Bob", "Sure, I'll get that done by Friday."),
                ("Cid", "Thanks!"),
            ],
            [("Bob", "Update the pricing page", FRIDAY)],
        ),
        (
            [
                ("Ann", "@Lena can you book the meeting room for the offsite?"),
                ("Lena", "On it, I'll book the room tomorrow."),
            ],
            [("Lena", "Book the meeting room for the offsite", TOMORROW)],
        ),
        (  # the acceptance says what the request did, and how: its wording
            [
                ("Ann", "Bob, can you own the login bug?"),
                ("Bob", "Yes, I will fix the login bug by Wednesday."),
            ],
            [("Bob", "Fix the login bug", date(2026, 11, 18))],
        ),
        (  # the acceptance adds a second, different task: two items
            [
                ("Ann", "Bob, can you review the API spec by Friday?"),
                ("Bob", "Sure. I'll also write the migration guide tomorrow."),
            ],
            [
                ("Bob", "Review the API spec", FRIDAY),
                ("Bob", "Write the migration guide", TOMORROW),
            ],
        ),
    ],
)
def test_request_and_acceptance_are_one_item(lines, expected) -> None:
    assert _items(recap_lines(*lines)) == expected


# "I can do X" answering a request is the speaker's item; a decline is nobody's item.
@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                ("Ann", "Can someone cover the onsite interview on Friday?"),
                ("Cid", "Sorry, I'm off on Friday."),
                ("Bob", "I can do the Friday onsite interview."),
            ],
            [("Bob", "Cover the onsite interview", FRIDAY)],
        ),
        (
            [
                ("Ann", "Who can take the customer demo on Thursday?"),
                ("Bob", "I can take the customer demo."),
            ],
            [("Bob", "Take the customer demo", THURSDAY)],
        ),
        (
            [
                ("Ann", "Dana, can you run the vendor call on Friday?"),
                ("Dana", "Sorry, I'm off on Friday."),
            ],
            [(None, "Run the vendor call", FRIDAY)],
        ),
        (  # two people: the other one declined, so not theirs either
            [
                ("Ann", "Can you restart the staging cluster tonight?"),
                ("Bob", "Sorry, I can't tonight."),
            ],
            [(None, "Restart the staging cluster", TODAY)],
        ),
        (
            [
                ("Ann", "Dana, can you run the vendor call on Friday?"),
                ("Dana", "Unfortunately I won't be able to, I'm travelling."),
                ("Eve", "I can run it."),
            ],
            [("Eve", "Run the vendor call", FRIDAY)],
        ),
    ],
)
def test_offers_take_requests_and_declines_do_not(lines, expected) -> None:
    assert _items(recap_lines(*lines)) == expected


def test_i_can_without_a_request_is_no_item() -> None:
    recap = recap_lines(
        ("Ann", "I can do pretty much anything with the new dashboard."),
        ("Bob", "Nice, I can see the load graphs too."),
    )
    assert recap.action_items == []


# A question stays open unless someone answers it.
@pytest.mark.parametrize(
    "lines",
    [
        [
            ("Ann", "Should we migrate billing to the new cluster?"),
            ("Bob", "Good point."),
            ("Cid", "Not sure."),
        ],
        [
            ("Ann", "Who owns the vendor contract renewal?"),
            ("Bob", "We have not decided that yet."),
        ],
        [("Ann", "Is the SSO rollout still planned for this quarter?"), ("Bob", "Still open.")],
        [
            ("Ann", "Do we need a security review for the export feature?"),
            ("Bob", "The staging deploy finished at noon."),
            ("Cid", "Lunch is here."),
        ],
        [
            ("Ann", "Which region should host the new replica?"),
            ("Bob", "Hmm, good question."),
            ("Cid", "Depends, let me think about it."),
        ],
        [  # a commitment further on is about something else, not a "who" answer
            ("Ann", "Who owns the customer email announcing the change?"),
            ("Bob", "Not sure yet, we need to ask marketing."),
            ("Cid", "I will update the status page before the release."),
        ],
        [
            ("Ann", "When do we tell the customers?"),
            ("Bob", "Not decided yet."),
            ("Cid", "The demo is tomorrow morning."),
        ],
    ],
)
def test_unanswered_question_stays_open(lines) -> None:
    recap = recap_lines(*lines)
    assert [q.text for q in recap.open_questions] == [lines[0][1]]


@pytest.mark.parametrize(
    "lines",
    [
        [("Ann", "Do we still support Internet Explorer?"), ("Bob", "No, we dropped it in March.")],
        [("Ann", "Who owns the vendor contract renewal?"), ("Bob", "Maria does, she signed it.")],
        [("Ann", "When is the code freeze this sprint?"), ("Bob", "Next Tuesday at noon.")],
        [
            ("Ann", "Which region should host the new replica?"),
            ("Bob", "The Frankfurt region, it is closest to the customers."),
        ],
    ],
)
def test_answered_question_is_not_open(lines) -> None:
    assert recap_lines(*lines).open_questions == []


# A proposal that others agree to is a decision.
@pytest.mark.parametrize(
    ("lines", "decision"),
    [
        (
            [("Ann", "We'll freeze deploys until the postmortem. Agreed?"), ("Bob", "Agreed.")],
            "We'll freeze deploys until the postmortem",
        ),
        (
            [
                ("Ann", "Let's move the standup to 10am. Any objections?"),
                ("Bob", "No objections, works for me."),
            ],
            "Let's move the standup to 10am",
        ),
        (
            [
                ("Ann", "Proposal: we switch the on-call rotation to weekly shifts."),
                ("Bob", "+1"),
                ("Cid", "Sounds good."),
            ],
            "We switch the on-call rotation to weekly shifts",
        ),
    ],
)
def test_agreed_proposal_is_a_decision(lines, decision) -> None:
    assert [d.text for d in recap_lines(*lines).decisions] == [decision]


@pytest.mark.parametrize(
    "lines",
    [
        [
            ("Ann", "We'll freeze deploys until the postmortem. Agreed?"),
            ("Bob", "Not sure, the hotfix still needs to ship."),
        ],
        [("Ann", "We'll freeze deploys until the postmortem. Agreed?")],
        [("Ann", "I'll send the board deck tomorrow."), ("Bob", "Sounds good.")],
    ],
)
def test_proposal_without_agreement_is_no_decision(lines) -> None:
    assert recap_lines(*lines).decisions == []


# Past-tense reports are no items, and a request already done is none either.
@pytest.mark.parametrize(
    "lines",
    [
        [("Ann", "Can you restart the pods?"), ("Bob", "I already restarted the pods.")],
        [("Ann", "Could you send the invoice to finance?"), ("Bob", "Done, sent it this morning.")],
        [("Ann", "Dana, can you rotate the API keys?"), ("Dana", "I've rotated them yesterday.")],
        [("Bob", "I already restarted the pods."), ("Ann", "Thanks.")],
    ],
)
def test_past_tense_reports_are_no_items(lines) -> None:
    assert recap_lines(*lines).action_items == []


def test_request_answered_with_a_future_commitment_stays_an_item() -> None:
    recap = recap_lines(
        ("Ann", "Can you restart the pods?"), ("Bob", "Sure, I'll restart them after lunch.")
    )
    assert _items(recap) == [("Bob", "Restart the pods", None)]


# A pronoun in a commitment names whom and what from the message it answers.
@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [("Ann", "Ask the CEO who presents the keynote."), ("Bob", "I will ask her today.")],
            [("Bob", "Ask the CEO who presents the keynote", TODAY)],
        ),
        (
            [("Ann", "Someone has to fix the flaky login test."), ("Bob", "I'll fix it tomorrow.")],
            [("Bob", "Fix the flaky login test", TOMORROW)],
        ),
        (  # two candidates: ambiguous, the sentence stays as written
            [
                ("Ann", "Email the CFO about the budget."),
                ("Cid", "And email the auditor about the invoices."),
                ("Bob", "I'll email her today."),
            ],
            [("Bob", "Email her", TODAY)],
        ),
    ],
)
def test_pronoun_is_resolved_from_context_when_unambiguous(lines, expected) -> None:
    assert _items(recap_lines(*lines)) == expected


def test_aside_question_is_not_an_open_question() -> None:
    recap = recap_lines(
        ("Jon", "Off-topic: anyone up for the climbing gym on Thursday?"),
        ("Eve", "Btw, is the canteen open during the holidays?"),
    )
    assert recap.open_questions == []


def test_a_reply_to_a_later_question_does_not_answer_an_earlier_one() -> None:
    recap = recap_lines(
        ("Aisha", "What salary band are we offering for this role?"),
        ("Priya", "Let's book the interview room first. Any objections?"),
        ("Tom", "No objections."),
    )
    assert [q.text for q in recap.open_questions] == [
        "What salary band are we offering for this role?"
    ]
