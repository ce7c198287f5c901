"""Adaptive Card rendering: owners as real mentions, people's text inert, long content
split under Teams' message size."""

from __future__ import annotations

import json
from datetime import date

from adapters.teams import cards
from bot.features import help_text
from bot.ports import ErrorReply, ProgressReply, RecapReply, TextReply, TranscriptReply
from summarizer.types import ActionItem, Decision, OpenQuestion, Recap, Segment, Transcript

BOB = "22222222-2222-4222-8222-222222222222"


def _text(card: dict) -> str:
    return "\n".join(block.get("text", "") for block in card["body"])


def _recap(**changes) -> Recap:
    values = {
        "summary": "The deploy failed; Bob rolls it back.",
        "key_points": ["Payments deploy failed"],
        "decisions": [Decision(text="Freeze releases until Friday", ref="17")],
        "action_items": [
            ActionItem(
                task="Roll back the deploy",
                owner="Bob Stone",
                owner_id=BOB,
                due=date(2026, 11, 26),
                ref="18",
            ),
            ActionItem(
                task="Write the report", owner="Cy Park", owner_id="U0SLACKID", ref="t=1:05"
            ),
            ActionItem(task="Check the alerts", owner=None),
        ],
        "open_questions": [OpenQuestion(text="Who tells support?", asked_by="Ann Lee", ref="19")],
    }
    return Recap(**{**values, **changes})


def test_a_recap_card_mentions_owners_by_their_teams_id_only() -> None:
    links = {"17": "https://teams.microsoft.com/l/message/x/17", "19": "javascript:alert(1)"}
    [activity] = cards.render(RecapReply(recap=_recap(), title="Thread recap", links=links))
    card = cards.card_of(activity)
    text = _text(card)
    assert card["type"] == "AdaptiveCard" and card["msteams"]["width"] == "Full"
    assert "- Roll back the deploy — <at>Bob Stone</at> · due Thu 26 Nov 2026" in text
    # An id that is not a Teams/Entra id gets the plain name, and no owner says so.
    assert "- Write the report — Cy Park · at 1:05" in text
    assert "- Check the alerts — _no owner_" in text
    assert card["msteams"]["entities"] == [
        {
            "type": "mention",
            "text": "<at>Bob Stone</at>",
            "mentioned": {"id": BOB, "name": "Bob Stone"},
        }
    ]
    assert (
        "Freeze releases until Friday · [source](https://teams.microsoft.com/l/message/x/17)"
        in text
    )
    assert "javascript" not in text  # only http(s) links are made
    assert "Who tells support? (asked by Ann Lee)" in text
    assert "Made by the offline engine." in text
    assert activity.summary.startswith("Thread recap: The deploy failed")


def test_text_from_people_is_inert() -> None:
    hostile = Recap(
        summary="<at>Everyone</at> @channel @here see [this](https://evil.example) </at>",
        action_items=[
            ActionItem(task="Ping <at>Bob Stone</at> @team", owner="<at>Eve</at>", owner_id=BOB)
        ],
    )
    [activity] = cards.render(
        RecapReply(recap=hostile, title="Recap of <#C1>"), names={"C1": "Design"}
    )
    card = cards.card_of(activity)
    body = json.dumps(card["body"], ensure_ascii=False)
    assert "<at>Everyone</at>" not in body and "<at>Bob Stone</at> @" not in body
    for word in ("@channel", "@here", "@team", "](https://evil"):
        assert word not in body
    # The owner's own mention markup is rebuilt from a cleaned name: no nested tags.
    [entity] = card["msteams"]["entities"]
    assert "<" not in entity["mentioned"]["name"].replace("\u2060", "")[1:]
    assert "Recap of Design" in body


def test_core_text_becomes_card_markdown() -> None:
    [activity] = cards.render(TextReply(text=help_text()))
    text = _text(cards.card_of(activity))
    assert text.startswith("**Here's what I can do**")
    [error] = cards.render(ErrorReply(text="No <#C9> here"))
    block = cards.card_of(error)["body"][0]
    assert block["color"] == "Attention" and block["text"] == "⚠️ No this conversation here"


def test_progress_shows_a_bar() -> None:
    [activity] = cards.render(ProgressReply(text="Transcribing “a.m4a”…", fraction=0.42))
    bar = cards.card_of(activity)["body"][-1]
    assert bar["text"] == "▰▰▰▰▱▱▱▱▱▱ 42%" and bar["fontType"] == "Monospace"


def test_a_transcript_says_what_it_skipped_under_its_text() -> None:
    transcript = Transcript(
        segments=[Segment(start=0, end=3, text="We ship on Friday.")],
        duration=30.0,
        notes=["Skipped 0:22 of silence."],
    )
    [activity] = cards.render(TranscriptReply(transcript=transcript, filename="x.txt"))
    note = cards.card_of(activity)["body"][-1]
    assert note["text"] == "Skipped 0:22 of silence." and note["isSubtle"]


def test_long_transcripts_are_split_into_several_messages_under_the_size_limit() -> None:
    sentence = "We went through every open incident and agreed on owners for each one. " * 3
    transcript = Transcript(
        segments=[Segment(start=i * 5.0, end=i * 5.0 + 4.5, text=sentence) for i in range(400)],
        duration=2000.0,
    )
    activities = cards.render(TranscriptReply(transcript=transcript, filename="x.txt"))
    assert 3 <= len(activities) <= cards.MAX_MESSAGES
    for number, activity in enumerate(activities):
        size = len(json.dumps(activity.serialize(), ensure_ascii=False).encode())
        assert size < 28_000
        text = _text(cards.card_of(activity))
        if number:
            assert text.startswith(f"(continued, {number + 1}/{len(activities)})")
    first = _text(cards.card_of(activities[0]))
    assert first.startswith("Transcript (33:20, 15600 words)") and "[0:00]" in first


def test_content_beyond_ten_messages_is_cut_with_a_note() -> None:
    transcript = Transcript(
        segments=[Segment(start=i, end=i + 1, text="word " * 400) for i in range(400)],
        duration=400.0,
    )
    activities = cards.render(TranscriptReply(transcript=transcript, filename="x.txt"))
    assert len(activities) == cards.MAX_MESSAGES
    assert "more parts were left out" in _text(cards.card_of(activities[-1]))


def test_each_split_card_declares_only_the_mentions_it_uses() -> None:
    items = [
        ActionItem(
            task=f"Task number {i} " + "with a long description " * 20,
            owner="Bob Stone",
            owner_id=BOB,
        )
        for i in range(60)
    ]
    items.append(
        ActionItem(
            task="Last one", owner="Ann Lee", owner_id="11111111-1111-4111-8111-111111111111"
        )
    )
    activities = cards.render(
        RecapReply(recap=Recap(summary="Many tasks.", action_items=items), title="Recap")
    )
    assert len(activities) > 1
    for activity in activities:
        card = cards.card_of(activity)
        used = {e["text"] for e in card["msteams"].get("entities", [])}
        assert used == {m for m in ("<at>Bob Stone</at>", "<at>Ann Lee</at>") if m in _text(card)}
