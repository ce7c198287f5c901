"""Owners and tasks of spoken action items (summarizer/meeting_owners.py)."""

from __future__ import annotations

import pytest

from summarizer.meeting_owners import meeting_owner, mentions, spoken_task
from summarizer.text import Sentence

ROLES = ["Project Manager", "Industrial Designer", "User Interface", "Marketing"]
PEOPLE = ["Ama Owusu", "Kofi Mensah", "Dana Scully"]


def acts(*lines: tuple[str, str]) -> list[Sentence]:
    return [
        Sentence(text=text, author=author, index=i, at=None, ref=str(i), raw=text)
        for i, (author, text) in enumerate(lines)
    ]


def owner_of_last(participants: list[str], *lines: tuple[str, str]) -> str | None:
    sentences = acts(*lines)
    return meeting_owner(sentences, len(sentences) - 1, participants)


@pytest.mark.parametrize(
    ("text", "owner"),
    [
        (
            "as the industrial designer, you're gonna be working on the design",
            "Industrial Designer",
        ),
        ("and marketing you're gonna be thinking about trend watching.", "Marketing"),
        (
            "Um User Interface Designer gonna be thinking about our user interface,",
            "User Interface",
        ),
        (
            "The Industrial Designer is going to work on the components design",
            "Industrial Designer",
        ),
        (
            "In the meantime, the Industrial Designer over here is gonna work on the look and feel",
            "Industrial Designer",
        ),
        ("you two are gonna work on the prototype together", None),
        ("we'll have to decide on the basic functionality", None),
        ("you're gonna look at product evaluation.", None),  # nobody named, nobody answered
        ("the marketing report is on the drive", None),  # a role word, no work handed out
    ],
)
def test_work_handed_out_by_role(text: str, owner: str | None) -> None:
    assert owner_of_last(ROLES, ("Project Manager", text)) == owner


def test_names_and_first_names_assign_and_the_speaker_commits() -> None:
    assert owner_of_last(PEOPLE, ("Ama Owusu", "Kofi, you'll draft the brief by Friday")) == (
        "Kofi Mensah"
    )
    assert owner_of_last(PEOPLE, ("Ama Owusu", "Dana will be doing the budget review")) == (
        "Dana Scully"
    )
    assert owner_of_last(PEOPLE, ("Ama Owusu", "I'll send the minutes to everyone")) == "Ama Owusu"
    assert owner_of_last(PEOPLE, ("Ama Owusu", "I'll tell you what I think")) is None
    assert owner_of_last(PEOPLE, ("Ama Owusu", "Kofi, I'd like you to work on the layout")) == (
        "Kofi Mensah"
    )
    assert owner_of_last(PEOPLE, ("Ama Owusu", "I'm supposed to do the final report")) == (
        "Ama Owusu"
    )
    # Talk that only looks like an assignment, or like a commitment.
    for said in (
        "Kofi, there will be a review of the budget on Friday",
        "Kofi, you're missing the point about the budget",
        "I have to disagree with the price",
    ):
        assert owner_of_last(PEOPLE, ("Ama Owusu", said)) is None, said
    sentences = acts(
        ("Ama Owusu", "I know you're working on the remote"), ("Kofi Mensah", "I'll check")
    )
    assert meeting_owner(sentences, 0, PEOPLE) is None
    # Two people named: the work is shared, no single owner.
    assert owner_of_last(PEOPLE, ("Ama Owusu", "Kofi and Dana, you'll test the build")) is None


def test_a_bare_address_names_whom_the_next_act_assigns() -> None:
    assert (
        owner_of_last(
            ROLES,
            ("Project Manager", "Um and uh marketing executive,"),
            ("Project Manager", "you'll be just thinking about what requirements it has"),
        )
        == "Marketing"
    )
    # The earlier act talks about the user interface; it does not address anyone.
    assert (
        owner_of_last(
            ROLES,
            ("Project Manager", "um the user interface concept needs work,"),
            ("Project Manager", "and you're going to do some trend watching."),
        )
        is None
    )


def test_a_request_is_owned_by_whoever_takes_it_on() -> None:
    lines = [
        ("User Interface", "Can you e-mail your slides as well?"),
        ("Project Manager", "Yes, I think I can."),
    ]
    sentences = acts(*lines)
    assert meeting_owner(sentences, 0, ROLES) == "Project Manager"
    assert meeting_owner(sentences, 1, ROLES) == "Project Manager"
    # "Okay" in a meeting is a backchannel, and a decline takes nothing on.
    for reply in ("Okay.", "Sorry, I can't do that this week."):
        sentences = acts(
            ("Project Manager", "Could you check the battery prices?"), ("Marketing", reply)
        )
        assert meeting_owner(sentences, 0, ROLES) is None


def test_mentions_need_the_whole_role_or_an_unusual_first_name() -> None:
    assert mentions("the user wants big buttons", ROLES) == []
    assert mentions("for our industrial design person", ROLES) == ["Industrial Designer"]
    assert mentions("Kofi said so", PEOPLE) == ["Kofi Mensah"]
    assert mentions("Kofi said so", PEOPLE, speaker="Kofi Mensah") == []


@pytest.mark.parametrize(
    ("said", "task"),
    [
        (
            "as the industrial designer, you're gonna be working on the working design",
            "Work on the working design",
        ),
        ("Kofi, you'll draft the brief by Friday", "Draft the brief by Friday"),
        ("I'll just attach it to an email.", "Attach it to an email"),
        ("Can you e-mail your slides as well?", "E-mail your slides as well"),
        (
            "we should probably consult with our legal department",
            "Consult with our legal department",
        ),
        ("The Industrial Designer is going to work on the components", "Work on the components"),
        ("you'll be thinking about the buttons, you know", "Think about the buttons"),
        ("I'll be honest with you", "I'll be honest with you"),  # no task: only tidied
        ("In the meantime, you're looking at the working design", "Look at the working design"),
        (
            "You'll be looking you'll be looking at the user interface concept,",
            "Look at the user interface concept",
        ),
        (
            "Kofi, I'd like you to work on the basic look and feel",
            "Work on the basic look and feel",
        ),
        (
            "If you can check the evaluation with some pilots",
            "Check the evaluation with some pilots",
        ),
        ("I'm supposed to do the final report at the end", "Do the final report at the end"),
        # Talk, not a task, and a task of one word: left as said.
        (
            "Which I'll presume he'll work out what that means",
            "Which I'll presume he'll work out what that means",
        ),
        ("What you have to do", "What you have to do"),
        # Opinions and descriptions in the progressive are not tasks.
        ("I'm thinking we should drop it", "I'm thinking we should drop it"),
        ("So basically, I think we're running out of time", "I think we're running out of time"),
        ("I hope you're feeling better", "I hope you're feeling better"),
        ("you're using the old version", "You're using the old version"),
        ("I think you'll love it", "I think you'll love it"),
        ("I'll be coming back with the numbers", "Come back with the numbers"),
        (
            "Shapes and colours and basically how to make it attractive.",
            "Shapes and colours and basically how to make it attractive",
        ),
    ],
)
def test_spoken_tasks_read_as_tasks(said: str, task: str) -> None:
    assert spoken_task(said, ROLES + PEOPLE) == task
