"""The /recap slash command and the "Summarize thread" message shortcut, over HTTP."""

from __future__ import annotations

import json

import pytest

from bot import sentences as messages
from tests.slack.conftest import ANN, BOB, CY, GENERAL, OTHER, Harness, post_text

# A recap of another channel is answered privately where it was asked.
ANOTHER_CHANNEL_ACK = messages.WORKING_RECAP.format(
    where=messages.RECAP_ONLY_YOU.format(where=messages.RECAP_IN_CHANNEL)
)

pytestmark = pytest.mark.anyio


async def _chatter(slack: Harness) -> None:
    await slack.say(GENERAL, ANN, "I will write the migration guide by Friday.", minutes_ago=90)
    await slack.say(GENERAL, BOB, "We decided to ship the beta on Monday.", minutes_ago=60)
    await slack.settle()


async def test_slash_command_acks_ephemerally_then_posts_the_recap(slack: Harness) -> None:
    await _chatter(slack)
    response = await slack.slash("24h")
    assert response.status_code == 200
    # The ack cannot be edited later: it says where the recap will appear.
    ack = "Working on a recap… it will be posted in this channel."
    assert response.json() == {"text": ack, "response_type": "ephemeral"}
    assert not slack.fake.posts()  # the ack went out before any work
    await slack.settle()

    [recap] = slack.fake.posts(GENERAL)
    assert "thread_ts" not in recap  # a slash command has no thread: in the channel
    assert "Recap of <#C0GENERAL> (24h)" in post_text(recap)
    assert "Write the migration guide — <@U0ANN>" in post_text(recap)
    assert "ship the beta on Monday" in post_text(recap)
    # History was read in pages (the fake pages by two) within the window.
    history = slack.fake.called("conversations.history")
    assert history and all(c.args["channel"] == GENERAL for c in history)
    assert history[0].args.get("oldest")


async def test_slash_help_and_bad_windows_answer_at_once(slack: Harness) -> None:
    help_ = await slack.slash("help")
    assert help_.json()["response_type"] == "ephemeral"
    assert "Here's what I can do" in json.dumps(help_.json())
    bad = await slack.slash("since banana")
    assert "couldn't read the time window" in json.dumps(bad.json())
    await slack.settle()
    assert slack.core.services.queue.counts() == {} and not slack.fake.posts()


async def test_cross_channel_recap_is_refused_to_non_members(slack: Harness) -> None:
    slack.fake.add_message(OTHER, BOB, "The acquisition of Globex closes on Monday.", minutes_ago=5)
    # Ann is not in #other: refused, privately, without reading the channel.
    response = await slack.slash("24h <#C0OTHER|other>", user=ANN)
    assert response.json()["response_type"] == "ephemeral"
    await slack.settle()
    [refusal] = slack.fake.responses
    assert refusal["response_type"] == "ephemeral"
    assert "you're not in <#C0OTHER>" in post_text(refusal)
    assert "Globex" not in json.dumps(slack.fake.responses)
    assert not slack.fake.called("conversations.history") and not slack.fake.posts()

    # Bob is a member: he gets it, visible to him only.
    await slack.slash("24h <#C0OTHER|other>", user=BOB)
    await slack.settle()
    recap = slack.fake.responses[-1]
    assert recap["response_type"] == "ephemeral" and "Globex" in post_text(recap)
    assert not slack.fake.posts()


async def test_cross_channel_recap_by_mention_is_refused_in_the_thread(slack: Harness) -> None:
    slack.fake.add_message(OTHER, BOB, "Salaries are reviewed in March.", minutes_ago=5)
    message, _ = await slack.mention(GENERAL, CY, "recap 24h <#C0OTHER|other>")
    await slack.settle()
    ephemeral = slack.fake.called("chat.postEphemeral")
    assert [c.args["user"] for c in ephemeral] == [CY, CY]  # the ack, then the refusal
    assert "you're not in <#C0OTHER>" in post_text(ephemeral[-1].args)
    assert ephemeral[-1].args["thread_ts"] == message["ts"]
    assert "Salaries" not in json.dumps([c.args for c in slack.fake.calls])


async def test_slash_command_where_the_bot_is_not_a_member_says_so(slack: Harness) -> None:
    slack.fake.channels["C0NOBOT"] = {"members": [ANN], "messages": []}
    await slack.slash("24h", channel="C0NOBOT")
    await slack.settle()
    [answer] = slack.fake.responses
    assert "I'm not a member of <#C0NOBOT>" in post_text(answer)
    assert "/invite" in post_text(answer)


async def test_summarize_thread_shortcut_recaps_the_thread(slack: Harness) -> None:
    root = await slack.say(GENERAL, ANN, "The payments deploy failed last night.", minutes_ago=20)
    await slack.say(
        GENERAL, BOB, "I will roll back the payments deploy today.", thread_ts=root["ts"]
    )
    await slack.say(GENERAL, CY, "Unrelated: lunch on Friday?")
    response = await slack.shortcut(root["ts"], user=BOB)
    assert response.status_code == 200 and response.text == ""
    await slack.settle()

    [recap] = slack.thread_replies(GENERAL, root["ts"])
    assert "Thread recap" in post_text(recap) and "lunch" not in post_text(recap)
    assert "Roll back the payments deploy — <@U0BOB>" in post_text(recap)
    [ack] = slack.fake.called("chat.postEphemeral")
    assert ack.args["user"] == BOB and ack.args["thread_ts"] == root["ts"]
    assert ack.args["text"] == "Working on a recap… it will be posted in this thread."


async def test_auto_transcribe_setting_is_per_channel(slack: Harness) -> None:
    message, _ = await slack.mention(GENERAL, ANN, "auto-transcribe off")
    await slack.settle()
    [answer] = slack.fake.posts(GENERAL)
    assert "Auto-transcription is off here" in answer["text"]
    assert answer["thread_ts"] == message["ts"]
    repo = slack.core.services.repo
    workspace = repo.get_workspace("slack", "T0BALAFON")
    channel = repo.get_channel(workspace.id, GENERAL)
    assert channel.auto_transcribe is False
    other = repo.get_or_create_channel(workspace.id, OTHER)  # as on first sight
    assert other.auto_transcribe is True


async def test_digest_subscription_uses_the_requesters_time_zone(slack: Harness) -> None:
    response = await slack.slash("digest weekdays 17:30", user=ANN)
    assert response.json()["response_type"] == "ephemeral"
    await slack.settle()
    text = json.dumps(slack.fake.posts() + slack.fake.responses) + json.dumps(response.json())
    assert "every weekday at 17:30 (Europe/Paris)" in text
    [subscription] = slack.core.services.digests.active_subscriptions()
    assert (subscription.channel_external_id, subscription.timezone) == (GENERAL, "Europe/Paris")
    off = await slack.slash("digest off", user=ANN)
    await slack.settle()
    assert slack.core.services.digests.active_subscriptions() == []
    assert off.status_code == 200


async def test_a_channel_that_does_not_exist_is_said_at_once(slack: Harness) -> None:
    """`/recap 7d #nope`: Slack leaves a name it does not know as text (`#nope`), and an
    id it does not know stays an id: both are answered in the ack, with no job."""
    typed = await slack.slash("7d #nope")
    unknown_id = await slack.slash("7d <#C0NOPE|nope>")
    _, mentioned = await slack.mention(GENERAL, CY, "recap 7d #nope")
    assert mentioned.status_code == 200
    for answer, shown in ((typed, "#nope"), (unknown_id, "#C0NOPE")):
        body = answer.json()
        assert body["response_type"] == "ephemeral"
        assert f"no channel {shown} that I can see" in post_text(body)
        assert "Working on a recap" not in post_text(body)
    assert slack.core.services.queue.counts() == {}  # nothing was queued
    await slack.settle()
    assert slack.core.services.queue.counts() == {} and not slack.fake.responses
    [reply] = slack.fake.posts(GENERAL)  # the mention is answered in its thread
    assert "no channel #nope" in post_text(reply)
    assert not slack.fake.called("chat.postEphemeral")  # no "Working on a recap…"
    assert slack.fake.called("conversations.list") and slack.fake.called("conversations.info")
    assert not slack.fake.called("conversations.history")


async def test_a_channel_named_as_typed_is_found_by_its_name(slack: Harness) -> None:
    slack.fake.add_message(OTHER, BOB, "The acquisition of Globex closes on Monday.", minutes_ago=5)
    # Without escaping (or pasted as text) `#other` arrives as a name, not `<#C0OTHER|…>`.
    response = await slack.slash("24h #other", user=BOB)
    assert response.json()["text"] == ANOTHER_CHANNEL_ACK
    await slack.settle()
    recap = slack.fake.responses[-1]
    assert recap["response_type"] == "ephemeral" and "Globex" in post_text(recap)
    assert "Recap of <#C0OTHER>" in post_text(recap)


async def test_when_slack_cannot_say_the_job_checks_the_channel(slack: Harness) -> None:
    slack.fake.add_message(OTHER, BOB, "Salaries are reviewed in March.", minutes_ago=5)
    slack.fake.fail_next("conversations.info", error="internal_error")
    response = await slack.slash("24h <#C0OTHER|other>", user=ANN)
    assert response.json()["text"] == ANOTHER_CHANNEL_ACK  # could not tell: queued
    await slack.settle()
    [refusal] = slack.fake.responses  # the job asked again, then checked membership
    assert "you're not in <#C0OTHER>" in post_text(refusal)
    assert "Salaries" not in json.dumps(slack.fake.responses)


async def test_status_says_what_the_bot_does_in_the_channel(slack: Harness) -> None:
    await slack.mention(GENERAL, ANN, "auto-transcribe off")
    await slack.settle()
    message, _ = await slack.mention(GENERAL, ANN, "status")
    await slack.settle()
    [answer] = [p for p in slack.fake.posts(GENERAL) if p.get("thread_ts") == message["ts"]]
    text = post_text(answer)
    assert "Auto-transcription: off" in text and "Digest: none" in text
    assert "kept until" in text and "the offline engine" in text
    asked, _ = await slack.mention(GENERAL, ANN, "help")
    await slack.settle()
    [help_] = [p for p in slack.fake.posts(GENERAL) if p.get("thread_ts") == asked["ts"]]
    assert "@balafon status" in post_text(help_)
