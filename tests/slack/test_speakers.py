"""Naming a recording's speakers in Slack: `@balafon speaker 1 is @bob` in the transcript's
thread and the `speaker_name` people picker on the transcript (a signed block_actions
request to /slack/events) both update the transcript and the recap with chat.update; the
named person is mentioned as the owner of what they said they'd do."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.features.media import MediaRunner
from tests.slack.conftest import ANN, BOB, CY, GENERAL, TEAM, Harness, post_text
from tests.voices import TwoVoices

pytestmark = pytest.mark.anyio


async def _share_recording(slack: Harness) -> dict[str, Any]:
    slack.core.services.media = MediaRunner(TwoVoices, workers=1)
    file = slack.fake.add_file("standup.m4a", b"not decoded by the fake", "audio/mp4")
    message = await slack.share_file(file)
    await slack.settle()
    return message


def _posts(slack: Harness, thread: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The transcript and recap messages as Slack holds them (with their `ts`)."""
    replies = [m for m in slack.fake.bot_messages(GENERAL) if m.get("thread_ts") == thread]
    transcript = next(p for p in replies if p["text"].startswith("Transcript"))
    recap = next(p for p in replies if p["text"].startswith("Recap"))
    return transcript, recap


def _updated(slack: Harness, ts: str) -> list[dict[str, Any]]:
    return [c.args for c in slack.fake.called("chat.update") if c.args["ts"] == ts]


def _item_line(recap: dict[str, Any], word: str) -> str:
    for block in recap["blocks"]:
        for line in (block.get("text") or {}).get("text", "").split("\n"):
            if word in line and " — " in line:  # an action item: "task — owner"
                return line
    raise AssertionError(f"no item about {word}: {post_text(recap)}")


async def _pick(slack: Harness, transcript: dict[str, Any], label: str, user: str) -> None:
    """Ann picks `user` in the transcript's menu for `label` (Slack's block_actions)."""
    body = {
        "type": "block_actions",
        "token": "ZZZZZZWSxiZZZ2yIvs3peJ",
        "api_app_id": "A0BALAFON",
        "team": {"id": TEAM, "domain": "balafon-test"},
        "user": {"id": ANN, "username": "ann", "name": "ann", "team_id": TEAM},
        "channel": {"id": GENERAL, "name": "general"},
        "container": {
            "type": "message",
            "message_ts": transcript["ts"],
            "channel_id": GENERAL,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": slack.fake.response_url(),
        "message": slack.fake.message(GENERAL, transcript["ts"]),
        "actions": [
            {
                "type": "users_select",
                "action_id": "speaker_name",
                "block_id": f"speaker:{label}",
                "selected_user": user,
                "action_ts": "1764083100.000200",
            }
        ],
    }
    encoded = urlencode({"payload": json.dumps(body)}).encode()
    response = await slack.post(encoded, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.text
    await slack.settle()


async def test_naming_by_command_and_by_menu_updates_transcript_and_recap(
    slack: Harness,
) -> None:
    message = await _share_recording(slack)
    transcript, recap = _posts(slack, message["ts"])
    pickers = [
        b["accessory"] for b in transcript["blocks"] if b.get("block_id", "").startswith("speaker:")
    ]
    assert [(p["type"], p["action_id"]) for p in pickers] == [("users_select", "speaker_name")] * 2
    assert "_no owner_" in _item_line(recap, "screenshots")  # nobody named yet

    await slack.mention(GENERAL, ANN, f"speaker 1 is <@{BOB}>", thread_ts=message["ts"])
    await slack.settle()

    transcript_now = _updated(slack, transcript["ts"])[-1]
    assert "Bob" in post_text(transcript_now)
    named = [b for b in transcript_now["blocks"] if b.get("block_id") == "speaker:Speaker 1"]
    assert named[0]["accessory"]["initial_user"] == BOB
    recap_now = _updated(slack, recap["ts"])[-1]
    assert f"<@{BOB}>" in _item_line(recap_now, "screenshots")
    assert "_no owner_" in _item_line(recap_now, "invoices")
    assert any(
        "Speaker 1 of “standup.m4a” is Bob" in p["text"]
        for p in slack.thread_replies(GENERAL, message["ts"])
    )

    await _pick(slack, transcript, "Speaker 2", CY)

    recap_now = _updated(slack, recap["ts"])[-1]
    assert f"<@{CY}>" in _item_line(recap_now, "invoices")
    assert f"<@{BOB}>" in _item_line(recap_now, "screenshots")
    assert "Cy" in post_text(_updated(slack, transcript["ts"])[-1])
    assert len(slack.thread_replies(GENERAL, message["ts"])) == 5  # progress, 2 posts, 2 names


async def test_someone_outside_the_channel_cannot_name(slack: Harness) -> None:
    slack.fake.add_user("U0EVE", "Eve")  # in the workspace, not in #general
    message = await _share_recording(slack)
    _, recap = _posts(slack, message["ts"])

    await slack.mention(GENERAL, "U0EVE", f"speaker 1 is <@{BOB}>", thread_ts=message["ts"])
    await slack.settle()

    assert not _updated(slack, recap["ts"])
    assert any(
        "Only people in this channel" in p["text"]
        for p in slack.thread_replies(GENERAL, message["ts"])
    )


@pytest.mark.slow
async def test_real_speech_two_voices_named_by_command(slack: Harness, tmp_path) -> None:
    """Two espeak-ng voices, transcribed and diarized for real; naming Speaker 1 gives its
    "I will…" item an owner. Skipped while the transcriber gives no speaker labels
    (diarization is another part of #14)."""
    from tests.speech import synthesize_dialogue

    audio, _ = synthesize_dialogue(
        [
            (0, "Good morning everyone. I will update the store screenshots by Wednesday."),
            (1, "Thanks. We decided to ship the release on Friday."),
            (0, "Great, that works for me."),
        ],
        tmp_path / "standup.m4a",
        "m4a",
    )
    file = slack.fake.add_file("standup.m4a", audio.read_bytes(), "audio/mp4")
    message = await slack.share_file(file)
    await slack.settle()
    transcript, recap = _posts(slack, message["ts"])
    pickers = [b for b in transcript["blocks"] if b.get("block_id", "").startswith("speaker:")]
    if not pickers:
        pytest.skip("the transcriber gives no speaker labels here (diarization is off)")
    label = pickers[0]["block_id"].removeprefix("speaker:")
    assert "screenshot" in post_text(recap).lower()

    await slack.mention(GENERAL, ANN, f"{label.lower()} is <@{BOB}>", thread_ts=message["ts"])
    await slack.settle()

    assert f"<@{BOB}>" in _item_line(_updated(slack, recap["ts"])[-1], "screenshot")
