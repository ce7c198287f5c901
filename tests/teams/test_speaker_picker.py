"""The Teams people picker on a transcript card: one per speaker label, and its submit
(a message activity whose `value` is the button's data plus the picked Entra id) names the
speaker as `@balafon speaker N is @them` does. Forged values change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.teams import cards
from bot.features.media import MediaRunner
from bot.features.speakers import NOT_A_MEMBER
from bot.ports import SpeakerChoice, TranscriptReply
from summarizer.types import Segment, Transcript
from tests.teams.conftest import ANN, BOB, CHANNEL, CY, TEAM, Harness
from tests.teams.fake_microsoft import Sent
from tests.teams.test_files import inline
from tests.voices import TwoVoices

pytestmark = pytest.mark.anyio


def _containers(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in card["body"] if b.get("type") == "Container"]


def _pickers(card: dict[str, Any]) -> dict[str, tuple[dict, dict]]:
    """label -> (the Input.ChoiceSet, the Action.Submit's data)."""
    found = {}
    for container in _containers(card):
        picker = next(i for i in container["items"] if i["type"] == "Input.ChoiceSet")
        [action_set] = [i for i in container["items"] if i["type"] == "ActionSet"]
        [submit] = action_set["actions"]
        assert submit["type"] == "Action.Submit"
        found[submit["data"]["label"]] = (picker, submit["data"])
    return found


def test_a_transcript_card_has_a_people_picker_per_label_capped_at_ten() -> None:
    transcript = Transcript(
        segments=[Segment(start=0.0, end=1.0, text="hello", speaker="Speaker 1")],
        language="en",
        duration=1.0,
    )
    choices = tuple(SpeakerChoice(label=f"Speaker {n}") for n in range(1, 13))
    choices = (SpeakerChoice(label="Speaker 1", name="Bob Stone", user_id=BOB.aad), *choices[1:])
    [activity] = cards.render(
        TranscriptReply(transcript=transcript, filename="x.txt", speakers=choices)
    )
    card = cards.card_of(activity)
    pickers = _pickers(card)

    assert list(pickers) == [f"Speaker {n}" for n in range(1, 11)]
    picker, data = pickers["Speaker 2"]
    assert data == {"balafon": "speaker_name", "label": "Speaker 2"}
    assert picker["id"] == "speaker_2"
    assert picker["choices.data"] == {
        "type": "Data.Query",
        "dataset": "graph.microsoft.com/users",
    }
    first, _ = pickers["Speaker 1"]  # named already: prepopulated
    assert first["value"] == BOB.aad
    assert first["choices"] == [{"title": "Bob Stone", "value": BOB.aad}]
    assert "value" not in picker


def test_a_transcript_without_labels_has_no_picker() -> None:
    transcript = Transcript(
        segments=[Segment(start=0.0, end=1.0, text="hello")], language="en", duration=1.0
    )
    [activity] = cards.render(TranscriptReply(transcript=transcript, filename="x.txt"))
    assert _containers(cards.card_of(activity)) == []


async def _transcribed(teams: Harness) -> tuple[dict[str, Any], Sent, Sent]:
    teams.core.services.media = MediaRunner(TwoVoices, workers=1)
    teams.fake.members[TEAM] |= {ANN.aad, ANN.id, BOB.aad}
    teams.fake.names[BOB.aad] = BOB.name
    file = inline(teams.fake, "standup.webm", b"not decoded by the fake" * 10, "video/webm")
    shared = await teams.say(teams.channel_message("standup", attachments=[file]))
    await teams.settle()
    sent = teams.replies(CHANNEL, shared["id"])
    transcript = next(s for s in sent if "Speaker 1" in s.text and "Recap" not in s.text)
    recap = next(s for s in sent if "Recap" in s.text)
    return shared, transcript, recap


def _submit(teams: Harness, shared: dict, transcript: Sent, value: Any, **kw: Any) -> dict:
    activity = teams.channel_message("", thread=shared["id"], **kw)
    activity.pop("text", None)
    activity["replyToId"] = transcript.id
    activity["value"] = value
    return activity


async def test_picking_a_person_names_the_speaker_with_a_mention(teams: Harness) -> None:
    shared, transcript, recap = await _transcribed(teams)
    assert "Speaker 1" in _pickers(transcript.card)
    assert "Bob" not in recap.text

    value = {"balafon": "speaker_name", "label": "Speaker 1", "speaker_1": BOB.aad}
    await teams.say(_submit(teams, shared, transcript, value))
    await teams.settle()

    assert transcript.updates and "Bob Stone" in transcript.text
    assert recap.updates
    screenshots = next(x for x in recap.text.split("\n") if "screenshots" in x and " — " in x)
    assert "<at>Bob Stone</at>" in screenshots
    entities = recap.card.get("msteams", {}).get("entities", [])
    assert any(e.get("mentioned", {}).get("id") == BOB.aad for e in entities)
    picker, _ = _pickers(transcript.card)["Speaker 1"]  # the updated card shows the choice
    assert picker["value"] == BOB.aad


@pytest.mark.parametrize(
    "value",
    [
        {"balafon": "speaker_name", "label": "Speaker 1<at>", "speaker_1": BOB.aad},
        {"balafon": "speaker_name", "label": "Speaker 0", "speaker_0": BOB.aad},
        {"balafon": "speaker_name", "label": "Speaker 1", "speaker_1": BOB.aad + "0" * 5000},
        {"balafon": "speaker_name", "label": "Speaker 1", "speaker_1": "29:1BobStoneTeamsId"},
        {"balafon": "speaker_name", "label": "Speaker 1", "speaker_1": [BOB.aad]},
        {"balafon": "speaker_name", "label": ["Speaker 1"], "speaker_1": BOB.aad},
        {"balafon": "other", "label": "Speaker 1", "speaker_1": BOB.aad},
        {"balafon": "speaker_name", "label": "Speaker 1", "speaker_2": BOB.aad},
        [BOB.aad],
        "speaker 1 is bob",
    ],
)
async def test_a_forged_value_changes_nothing(teams: Harness, value: Any) -> None:
    shared, transcript, recap = await _transcribed(teams)
    before = len(teams.fake.sent)

    await teams.say(_submit(teams, shared, transcript, value))
    await teams.settle()

    assert not transcript.updates and not recap.updates
    assert len(teams.fake.sent) == before  # not even an answer


async def test_a_non_member_is_refused(teams: Harness) -> None:
    shared, transcript, recap = await _transcribed(teams)

    value = {"balafon": "speaker_name", "label": "Speaker 1", "speaker_1": BOB.aad}
    await teams.say(_submit(teams, shared, transcript, value, user=CY))
    await teams.settle()

    assert not transcript.updates and not recap.updates
    assert "Bob" not in recap.text
    refusal = NOT_A_MEMBER.split(".")[0]
    assert any(refusal in s.text for s in teams.replies(CHANNEL, shared["id"]))
