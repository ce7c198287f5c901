"""Work handed out, taken over and called off in chat, as a second round of fresh threads
showed it (issue 15): formal requests, several people in one message, "instead", "never
mind", quoted lines, clarifying questions, and dates such as "EOD Friday"."""

from __future__ import annotations

from datetime import date

import pytest

from tests.chat import FRIDAY, TODAY, TOMORROW, WEDNESDAY, items_of, recap_lines


@pytest.mark.parametrize(
    "asked",
    [
        "Thomas, could you kindly send the revised budget by Wednesday?",
        "Thomas, would you be able to send the revised budget by Wednesday?",
        "Thomas, would it be possible for you to send the revised budget by Wednesday?",
        "Thomas can u send the revised budget by Wednesday?",
        "Thomas, kindly send the revised budget by Wednesday.",
        "@Thomas pls send the revised budget by Wednesday",
    ],
)
def test_formal_requests_and_certainly(asked) -> None:
    recap = recap_lines(("Ann", asked), ("Thomas", "Certainly."))
    assert [(a.owner, a.task, a.due) for a in recap.action_items] == [
        ("Thomas", "Send the revised budget", WEDNESDAY)
    ]
    assert recap.open_questions == []


def test_one_message_hands_work_to_several_people() -> None:
    people = [("Priya", "ok"), ("Marcus", "ok"), ("Leo", "ok")]
    assert items_of(
        (
            "Eva",
            "Priya will update the landing page, Marcus will run the load test and Leo will "
            "send the press release",
        ),
        *people,
    ) == [
        ("Priya", "Update the landing page", None),
        ("Marcus", "Run the load test", None),
        ("Leo", "Send the press release", None),
    ]
    assert items_of(
        (
            "Eva",
            "for this week: @Priya please own the billing migration, @Marcus handle the "
            "flaky e2e tests, and @Leo update the onboarding docs by Friday",
        ),
        *people,
    ) == [
        ("Priya", "Own the billing migration", None),
        ("Marcus", "Handle the flaky e2e tests", None),
        ("Leo", "Update the onboarding docs", FRIDAY),
    ]
    assert items_of(
        ("Eva", "Action items:\n- @Diego: fix retry backoff (by Wed)"), ("Diego", "ack")
    ) == [("Diego", "Fix retry backoff", WEDNESDAY)]


def test_taken_over_instead_and_called_off() -> None:
    assert items_of(
        ("Ann", "who can look into the 502s on /api/export?"),
        ("Bob", "I'll take it"),
        ("Alice", "actually Bob is out tomorrow, I'll take the 502s instead"),
    ) == [("Alice", "Take the 502s", None)]
    assert (
        items_of(
            ("Ann", "can you book a room for the offsite?"),
            ("Bob", "sure, I'll book it tomorrow"),
            ("Ann", "never mind, not needed anymore"),
        )
        == []
    )
    # Someone who neither asked nor took it on cannot call it off.
    assert (
        len(
            items_of(
                ("Ann", "can you book a room for the offsite?"),
                ("Bob", "sure, I'll book it tomorrow"),
                ("Cid", "never mind, found my charger"),
            )
        )
        == 1
    )


def test_quoted_lines_conditionals_and_asides_make_no_item() -> None:
    assert items_of(("Ann", "> I'll send the invoice to Acme"), ("Ann", "did that happen?")) == []
    assert (
        items_of(
            ("Ann", "if the canary looks good by 4pm I'll promote it, otherwise I'll roll back")
        )
        == []
    )
    assert items_of(("Ann", "thx"), ("Bob", "I'll grab coffee first")) == []
    assert items_of(("Ann", "status?"), ("Bob", "I'll do the release notes tomorrow")) == [
        ("Bob", "Do the release notes", TOMORROW)
    ]


def test_a_clarifying_question_does_not_take_the_owner_away() -> None:
    assert items_of(
        ("Ann", "can anyone update the SSL cert on the legacy box?"),
        ("Lena", "what's the hostname?"),
        ("Kate", "legacy-01.internal"),
        ("Mark", "will do"),
    ) == [("Mark", "Update the SSL cert on the legacy box", None)]


def test_dates_belong_to_their_own_clause_and_request() -> None:
    assert items_of(("Ann", "I'll fix the flaky test, and the team will review it tomorrow")) == [
        ("Ann", "Fix the flaky test", None)
    ]
    items = items_of(
        (
            "Eva",
            "@Priya can you update the landing page copy? @Marcus please run the load test "
            "by Wednesday",
        ),
        ("Priya", "sure"),
        ("Marcus", "ok"),
    )
    assert ("Priya", "Update the landing page copy", None) in items
    assert items_of(
        ("Ann", "the team needs to update the security questionnaire by Friday"),
        ("Bob", "I'll update it"),
    ) == [("Bob", "Update the security questionnaire", FRIDAY)]
    assert items_of(("Ann", "status?"), ("Bob", "I'll send the report EOD Friday")) == [
        ("Bob", "Send the report", FRIDAY)
    ]


def test_it_is_never_a_time_and_the_speakers_own_words_come_first() -> None:
    assert items_of(
        ("Ann", "the quarterly report is due this Friday"), ("Bob", "I'll finish it tonight")
    ) == [("Bob", "Finish the quarterly report", TODAY)]
    assert (
        items_of(("Ann", "cc the vp. sales"), ("Bob", "meeting at 3 p.m. tomorrow, I'll book it"))
        == []
    )
    assert items_of(("Ann", "deploy done"), ("Bob", "nice, I will call it a day then")) == []


def test_a_decline_names_nothing_and_lunch_as_a_time_is_no_aside() -> None:
    assert items_of(
        ("Jo", "Omar, could you own the canary step?"),
        ("Omar", "I can't this sprint, I'm on the migration"),
        ("Jo", "ok, I'll put it in the backlog for next sprint"),
    )[-1] == ("Jo", "Put it in the backlog for next sprint", None)
    assert items_of(
        ("Tom", "PR #482 is ready for review"), ("Priya", "I'll take a look after lunch")
    ) == [("Priya", "Take a look after lunch", None)]


def test_third_review_small_talk_never_mind_and_instead_of() -> None:
    assert items_of(("Ann", "did they accept?"), ("Ben", "nice! btw I'll send them the quote")) == [
        ("Ben", "Send them the quote", None)
    ]
    assert items_of(
        ("Wyn", "@Xan can you restart the staging workers?"),
        ("Xan", "on it"),
        ("Wyn", "also is the VPN down for anyone else?"),
        ("Wyn", "nvm it's back"),  # about the VPN, not the workers
    ) == [("Xan", "Restart the staging workers", None)]
    assert (
        len(
            items_of(
                ("Gus", "I'll write the load test plan today"),
                ("Hal", "I'll run the load test against staging instead of prod"),
            )
        )
        == 2
    )
    assert items_of(("Ann", "x"), ("Bob", "I'll get the alerting in by next Wednesday")) == [
        ("Bob", "Get the alerting in", date(2026, 11, 25))
    ]
