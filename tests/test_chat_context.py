"""Chat threads as people type them, beyond the cases of tests/test_chat_threads.py: any
work verb after "I'll", lower-case sentences, an offer after a decline, "it" and "ask
Jenna" read from the message answered, a choice that settles a question (issue 15)."""

from __future__ import annotations

from datetime import date

import pytest

from summarizer.text import split_sentences
from tests.chat import FRIDAY, TODAY, TOMORROW, WEDNESDAY, items_of, recap_lines


def _questions(*lines: tuple[str, str]) -> list[str]:
    return [q.text for q in recap_lines(*lines).open_questions]


@pytest.mark.parametrize(
    ("said", "task"),
    [
        ("I'll expand the volume and add an alert at 80%", "Expand the volume"),
        ("ok I'll counter with 10% and see what they say", "Counter with 10%"),
        ("I'm gonna rewrite the parser", "Rewrite the parser"),
        ("I'll reach out to the vendor", "Reach out to the vendor"),
        ("I'll loop in support", "Loop in support"),
    ],
)
def test_the_verbs_of_everyday_work_make_commitments(said, task) -> None:
    items = items_of(("Ann", "The staging db ran out of disk again."), ("Bob", said))
    assert [(owner, text.split(" and ")[0]) for owner, text, _ in items] == [("Bob", task)]


@pytest.mark.parametrize(
    "said",
    [
        "I'll be honest, this is rough",
        "I'll let you know",
        "I'll head out now",
        "I'll catch up later",
        "I'll second that",
        "I'll stick with the current plan",
        "let me explain the issue",
        "I'll miss the standup tomorrow",
        "I'll keep you posted",
        "I will wait for Bob",
        "I'm going to the office tomorrow",
        "I'll also need the keys",
        "I'll lose my mind if this happens again",
        "I'll drink to that",
        "I'll hold you to that",
        "ok I'll give you that, but the deadline stays",
        "I'll cross that bridge when we get there",
        "sorry, I'll shut up next time",
        "I'm gonna scream into a pillow",
        "let me play devil's advocate here",
        "I'll put it this way: the pods restart every 40 minutes",
        "Dan owns that service, pinging him",  # news about Dan, not his task
        "Noah takes PTO next week",
    ],
)
def test_talk_after_ill_is_no_item(said) -> None:
    assert items_of(("Ann", "The staging db ran out of disk again."), ("Bob", said)) == []


def test_lower_case_chat_is_split_into_sentences() -> None:
    assert split_sentences("Thanks! can you also write it up?") == [
        "Thanks!",
        "can you also write it up?",
    ]
    assert split_sentences("ugh. who's on call?") == ["ugh.", "who's on call?"]
    assert split_sentences("done. sent it") == ["done.", "sent it"]
    assert split_sentences("1. We drop CSV. 2. Noah takes it.") == [
        "1. We drop CSV.",
        "2. Noah takes it.",
    ]
    for kept in (
        "tea, coffee, etc. and milk",
        "see e.g. the docs",
        "approx. ten",
        "v1.2. then",
        "I'll send the MSA to Globex Inc. by friday",  # a capital: a name, not a sentence
        "I'll fix the EU dashboard! tomorrow at the latest",  # the date goes with it
    ):
        assert split_sentences(kept) == [kept]


def test_a_request_after_thanks_is_accepted_by_will_do() -> None:
    assert items_of(
        ("Dev", "thanks! can you also write up what happened for the retro?"),
        ("Maria", "sure, will do by Wednesday"),
    ) == [("Maria", "Write up what happened for the retro", WEDNESDAY)]


def test_whos_asks_who_and_i_am_answers_it() -> None:
    assert _questions(("Dev", "ugh. who's on call this week?"), ("Maria", "I am.")) == []


def test_an_offer_after_someone_else_declines() -> None:
    assert items_of(
        ("Lee", "@Tom docs?"),
        ("Tom", "Sorry, I'm out Thursday and Friday. Maybe Ana?"),
        ("Ana", "I can take the docs, will have them ready Friday"),
    ) == [("Ana", "Take the docs", FRIDAY)]


@pytest.mark.parametrize(
    ("before", "said", "expected"),
    [
        (
            "ok let's go with the checklist then",
            "I'll mock it up later this week",
            ("Mock up the checklist", FRIDAY),
        ),
        (
            "also we need the security questionnaire back to them by Friday",
            "I'll fill it in",
            ("Fill in the security questionnaire", FRIDAY),
        ),
        (  # two things it could be: the task keeps its own words
            "the questionnaire and the contract are both late",
            "I'll fill it in today",
            ("Fill it in", TODAY),
        ),
    ],
)
def test_it_is_read_from_the_message_answered(before, said, expected) -> None:
    items = items_of(("Kim", before), ("Raj", said))
    assert [(task, due) for _, task, due in items] == [expected]


def test_whom_to_ask_gets_what_from_the_question_answered() -> None:
    assert items_of(
        ("Kim", "Do we need legal review for the new consent text?"),
        ("Raj", "yes, I think so. I will ask Jenna tomorrow"),
    ) == [("Raj", "Ask Jenna whether we need legal review for the new consent text", TOMORROW)]
    items = items_of(("Kim", "Who presents on Friday?"), ("Raj", "not sure, I will ask Jenna"))
    assert [task for _, task, _ in items] == ["Ask Jenna: who presents on Friday"]


def test_a_choice_settles_the_question_and_other_talk_does_not() -> None:
    asked = ("Kim", "For onboarding, option A (wizard) or option B (checklist)?")
    assert (
        _questions(
            asked,
            ("Raj", "B tested better in the last study"),
            ("Kim", "ok let's go with the checklist"),
        )
        == []
    )
    assert _questions(
        asked, ("Raj", "B tested better in the last study"), ("Kim", "let's go with lunch first")
    ) == ["For onboarding, option A (wizard) or option B (checklist)?"]


def test_notes_that_hand_out_work_and_a_volunteer_who_says_me() -> None:
    assert items_of(
        ("Eva", "Sprint planning notes:"),
        ("Eva", "2. Noah takes the auth refactor."),
        ("Noah", "👍"),
        ("Eva", "3. Need someone to update the onboarding docs by Friday"),
        ("Mia", "me"),
        ("Eva", "thanks Mia"),
    ) == [("Noah", "Take the auth refactor", None), ("Mia", "Update the onboarding docs", FRIDAY)]
    # Nobody volunteered: no owner is made up, and "Bob reports…" is news, not a task.
    assert items_of(
        ("Eva", "Need someone to update the onboarding docs by Friday"),
        ("Bob", "Bob reports that CI is flaky again"),
    ) == [(None, "Update the onboarding docs", FRIDAY)]
    assert items_of(("Eva", "We need someone to rethink pricing"), ("Bob", "hmm")) == []


def test_i_think_we_should_and_agreed_is_a_decision() -> None:
    recap = recap_lines(
        ("Ken", "The Datadog contract renews on Jan 3."),
        ("Ken", "I think we should negotiate a lower tier."),
        ("Pat", "agreed"),
    )
    assert [d.text for d in recap.decisions] == ["We should negotiate a lower tier"]
    recap = recap_lines(("Ken", "I think we should negotiate a lower tier."), ("Pat", "not sure"))
    assert recap.decisions == []


def test_one_message_with_two_commitments_gives_twoitems_of() -> None:
    assert items_of(
        (
            "Sam",
            "Standup: I'll fix the flaky login test today, and I'll review the PR tomorrow.",
        )
    ) == [("Sam", "Fix the flaky login test", TODAY), ("Sam", "Review the PR", TOMORROW)]


def test_a_request_to_two_people_accepted_with_we() -> None:
    assert items_of(
        ("Grace", "Ada, could you and Charles prepare the demo for the board?"),
        ("Ada", "Yes, we'll have it ready by Thursday."),
    ) == [("Ada", "Prepare the demo for the board with Charles", date(2026, 11, 19))]


def test_a_bare_yes_answers_and_a_done_request_is_no_question() -> None:
    assert _questions(("Lin", "is the release still on for Thursday?"), ("Sam", "yes")) == []
    assert (
        _questions(
            ("Jo", "I'm blocked on the staging creds, who can share them?"),
            ("Ops", "I'll DM them to you in 5 min"),
        )
        == []
    )
    recap = recap_lines(
        ("Ravi", "can you also loop in support so they can reply to the customer?"),
        ("Meg", "done, pinged Jess"),
    )
    assert (recap.action_items, recap.open_questions) == ([], [])


def test_asap_is_due_today() -> None:
    assert items_of(
        ("Ravi", "customer X reports data loss"), ("Meg", "I'll look into it ASAP")
    ) == [("Meg", "Look into it", TODAY)]


def test_an_acceptance_that_says_when_gives_the_date() -> None:
    assert items_of(
        ("Lee", "@Priya can you take the on-call handover doc? need it before Thursday's sync"),
        ("Priya", "yep, on it"),
    ) == [("Priya", "Take the on-call handover doc", date(2026, 11, 19))]
    assert items_of(
        ("Lee", "@Priya can you take the on-call handover doc?"),
        ("Priya", "yep, I'll have a draft tomorrow"),
    ) == [("Priya", "Take the on-call handover doc", TOMORROW)]


def test_on_it_answers_and_markers_are_read_after_a_bullet() -> None:
    assert _questions(("Lee", "@Tom and the runbook links for the pager?"), ("Tom", "on it")) == []
    assert _questions(
        ("Lee", "Also: are we keeping the pager rotation weekly?"),
        ("Ana", "- Open question: do they need on-prem?"),
    ) == ["Are we keeping the pager rotation weekly?", "Do they need on-prem?"]


def test_an_assignment_asking_right_is_a_request() -> None:
    assert items_of(
        ("Ann", "And Tom, you'll update the FAQ, right?"),
        ("Tom", "Yes, I'll do it by Wednesday."),
    ) == [("Tom", "Update the FAQ", WEDNESDAY)]
    # Declined: still a task, nobody's (as for "can you…?")
    assert items_of(("Ann", "Tom, you'll update the FAQ, right?"), ("Tom", "Sorry, no time")) == [
        (None, "Update the FAQ", None)
    ]


@pytest.mark.parametrize(
    ("before", "said", "task"),
    [  # a verb ends the phrase "it" stands for, and "this one" is no pronoun
        ("the nightly export crashed again", "I'll fix it today", "Fix the nightly export"),
        ("@Dan your PR broke staging", "oops, I'll revert it", "Revert your PR"),
        ("ugh that sounds terrible", "yeah I'll fix it tomorrow", None),  # "fix it": too vague
        ("the flaky checkout test failed again", "I'll take this one", None),
        ("the release on Friday broke login", "I'll fix it", "Fix the release"),  # no due
    ],
)
def test_it_stands_for_the_thing_not_for_what_happened_to_it(before, said, task) -> None:
    items = items_of(("Ann", before), ("Dan", said))
    assert [t for _, t, _ in items] == ([task] if task else [])
    assert all(due in (None, TODAY, TOMORROW) for _, _, due in items)


def test_a_bare_ok_takes_on_only_what_was_asked_of_its_author() -> None:
    assert items_of(
        ("Ann", "can someone send the agenda before the call?"),
        ("Mo", "ok"),
        ("Ned", "I'll send it"),
    ) == [("Ned", "Send the agenda before the call", None)]
    items = items_of(
        ("Ann", "can someone restart the staging runner?"),
        ("Jan", "is it stuck again?"),
        ("Kai", "yes"),  # answers Jan
    )
    assert [owner for owner, _, _ in items] != ["Kai"]
    recap = recap_lines(
        ("Ann", "can someone rotate the API keys?"),
        ("Bob", "did anyone update the changelog?"),
        ("Cid", "done"),  # the changelog, not the keys
    )
    assert [a.task for a in recap.action_items] == ["Rotate the API keys"]
    assert recap.open_questions == []
    # A question that takes the request on is no question in between.
    assert items_of(("Ann", "Bob, can you review the spec?"), ("Bob", "sure, by when?")) == [
        ("Bob", "Review the spec", None)
    ]


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("when do we cut the release branch?", "ok"),
        ("who's writing the postmortem?", "ok"),
        ("is the migration safe to run during business hours?", "we'll find out 😬"),
        ("anyone know if the VPN is down for everyone?", "I'll ping you"),
    ],
)
def test_an_ok_or_a_promise_to_tell_answers_no_question(question, reply) -> None:
    recap = recap_lines(("Ann", question), ("Bob", reply))
    assert len(recap.open_questions) == 1
    assert all(":" not in a.task for a in recap.action_items)
