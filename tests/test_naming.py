"""Speakers as people in the pipeline: names given to labels own "I'll…" items, labels
nobody named own nothing (offline and LLM engines), typed names are inert, voices match
remembered profiles once each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from summarizer.naming import (
    SpeakerName,
    apply_names,
    clean_name,
    match_voices,
    running_mean,
    speaker_labels,
)
from summarizer.pipeline import Summarizer, transcript_to_conversation
from summarizer.types import Segment, Transcript
from tests.fake_openai import FakeOpenAI, Reply


def standup() -> Transcript:
    return Transcript(
        segments=[
            Segment(start=0, end=4, speaker="Speaker 1", text="I'll update the store screenshots."),
            Segment(start=4, end=8, speaker="Speaker 2", text="I will send the invoices today."),
            Segment(start=8, end=12, speaker="Speaker 1", text="Good, thanks."),
        ],
        duration=12,
    )


def owners(recap) -> dict[str, tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    return {item.task: (item.owner, item.owner_id) for item in recap.action_items}


def test_unnamed_speakers_own_nothing_offline() -> None:
    recap = Summarizer().recap(transcript_to_conversation(standup()))

    assert len(recap.action_items) == 2
    assert all(item.owner is None and item.owner_id is None for item in recap.action_items)
    assert "Speaker 1" in recap.participants  # still quoted as they are


def test_a_named_speaker_owns_their_first_person_items_offline() -> None:
    names = {"Speaker 1": SpeakerName("Kofi Mensah", "U1")}
    conversation = transcript_to_conversation(standup(), names=names)

    assert conversation.unnamed == ["Speaker 2"]
    assert conversation.participant_ids == {"Kofi Mensah": "U1"}
    found = owners(Summarizer().recap(conversation))
    screenshots = next(task for task in found if "screenshots" in task)
    invoices = next(task for task in found if "invoices" in task)
    assert found[screenshots] == ("Kofi Mensah", "U1")
    assert found[invoices] == (None, None)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def test_the_llm_never_makes_an_unnamed_label_an_owner(server: FakeOpenAI) -> None:
    draft = {
        "summary": "Screenshots and invoices.",
        "key_points": [],
        "decisions": [],
        "open_questions": [],
        "action_items": [
            {
                "task": "Update the screenshots",
                "owner": "Kofi Mensah",
                "due": None,
                "source": 1,
                "confidence": 0.9,
            },
            {
                "task": "Send the invoices",
                "owner": "Speaker 2",
                "due": None,
                "source": 2,
                "confidence": 0.9,
            },
        ],
    }
    server.enqueue(Reply.json(draft))
    config = server.config()
    names = {"Speaker 1": SpeakerName("Kofi Mensah", "U1")}
    recap = Summarizer(llm=config).recap(transcript_to_conversation(standup(), names=names))

    assert owners(recap) == {
        "Update the screenshots": ("Kofi Mensah", "U1"),
        "Send the invoices": (None, None),
    }
    prompt = str(server.requests[0].body)
    assert "Participants (the only possible owners): Kofi Mensah" in prompt
    assert "owners): Kofi Mensah, Speaker 2" not in prompt


def test_teams_voice_tag_names_are_people_not_labels() -> None:
    transcript = Transcript(
        segments=[Segment(start=0, end=3, speaker="Ama Owusu", text="I'll book the room.")]
    )
    conversation = transcript_to_conversation(transcript)

    assert conversation.unnamed == []
    recap = Summarizer().recap(conversation)
    assert [item.owner for item in recap.action_items] == ["Ama Owusu"]


def test_apply_names_and_labels() -> None:
    named = apply_names(standup(), {"Speaker 2": SpeakerName("Ama")})

    assert [s.speaker for s in named.segments] == ["Speaker 1", "Ama", "Speaker 1"]
    assert speaker_labels(standup()) == ["Speaker 1", "Speaker 2"]
    assert speaker_labels(named) == ["Speaker 1"]


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Kofi", "Kofi"),
        ("<!channel> Kofi", "channel Kofi"),
        ("@here", "here"),
        ("<@U123>", "U123"),
        ("[x](https://evil)", "x https evil"),
        ("a\nb\tc\u202e", "a b c"),
        ("K" * 200, "K" * 60),
    ],
)
def test_typed_names_are_made_inert(typed: str, kept: str) -> None:
    assert clean_name(typed) == kept


def test_voices_match_profiles_once_each_above_the_threshold() -> None:
    profiles = {"U1": [1.0, 0.0, 0.0], "U2": [0.0, 1.0, 0.0]}
    voices = {
        "Speaker 1": [0.95, 0.1, 0.0],  # U1
        "Speaker 2": [0.9, 0.2, 0.0],  # also closest to U1, but U1 is taken
        "Speaker 3": [0.0, 0.0, 1.0],  # nobody
    }

    assert match_voices(voices, profiles) == {"Speaker 1": "U1"}
    assert match_voices({"Speaker 1": [0.1, 0.99, 0.0]}, profiles) == {"Speaker 1": "U2"}


def test_running_mean_is_the_mean() -> None:
    mean = running_mean([1.0, 0.0], 1, [0.0, 1.0])

    assert mean == pytest.approx([0.5, 0.5])
    assert running_mean(mean, 2, [1.0, 1.0]) == pytest.approx([2 / 3, 2 / 3])
    assert running_mean([], 0, [0.6, 0.8]) == [0.6, 0.8]


def test_channel_history_marks_unnamed_speaker_labels() -> None:
    """A recording's segments in a channel window: an unnamed label owns nothing, a named
    speaker (with a platform id) and a chat author are people."""
    from datetime import UTC, datetime

    from bot.conversations import to_conversation
    from bot.ports import ChatMessage

    at = datetime(2026, 12, 7, 9, tzinfo=UTC)
    conversation = to_conversation(
        [
            ChatMessage(id="1", author_id=None, author_name="Speaker 1", text="I'll do it.", at=at),
            ChatMessage(id="2", author_id="U2", author_name="Speaker 2", text="Fine.", at=at),
            ChatMessage(id="3", author_id="U3", author_name="Kofi", text="I'll go.", at=at),
        ]
    )
    assert conversation.unnamed == ["Speaker 1"]
