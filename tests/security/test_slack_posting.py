"""Issue #11 item 9: a crash between Slack accepting a post and the bot recording it must
not post twice. Each post carries its delivery key in message metadata; a retried delivery
looks for it in the thread (or channel) first.

The crash is injected at the storage layer, in the step that records the posted message's
id: the real AsyncWebClient has already had chat.postMessage accepted by the fake Slack.
The worker dies there (a BaseException, so nothing after it runs); the job's lease runs
out and a fresh worker takes the job again, as after a restart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ports import Place, ReplyTarget, TextReply, TranscriptReply
from summarizer.types import Segment, Transcript
from tests.security.slack_support import start_harness
from tests.slack.conftest import (
    ANN,
    BOB,
    GENERAL,
    TEAM,
    Harness,
    fake,
    sqlite_engine,
)
from tests.slack.fake_slack import BOT_USER

__all__ = ["fake", "sqlite_engine"]
pytestmark = pytest.mark.anyio


class Crash(BaseException):
    """The process dying: not an Exception, so no handler of ours sees it."""


@pytest.fixture
async def slack(fake, sqlite_engine, tmp_path: Path) -> AsyncIterator[Harness]:
    harness, lifespan = await start_harness(fake, sqlite_engine, tmp_path, lease_seconds=0.3)
    async with lifespan:
        try:
            yield harness
        finally:
            await harness.http.aclose()


def crash_when_recording(slack: Harness, suffix: str) -> list[str]:
    """Make the next record of a delivery whose key ends with `suffix` kill the worker."""
    repo = slack.core.services.repo
    real = repo.record_delivery
    crashed: list[str] = []

    def record(key: str, *args, **kwargs):
        if key.endswith(suffix) and not crashed:
            crashed.append(key)
            raise Crash(key)
        return real(key, *args, **kwargs)

    repo.record_delivery = record  # type: ignore[method-assign]
    return crashed


async def restart_worker(slack: Harness) -> None:
    """A new worker (as after a restart) takes the job once the dead one's lease is out."""
    await asyncio.sleep(0.4)
    worker = slack.core.services.worker()
    assert await worker.drain() == 1
    await slack.adapter.settle()


def bot_replies(slack: Harness, thread: str | None) -> list[dict]:
    return [
        m
        for m in slack.fake.channels[GENERAL]["messages"]
        if m.get("user") == BOT_USER and m.get("thread_ts") == thread
    ]


async def test_a_recap_accepted_before_a_crash_is_not_posted_again(slack: Harness) -> None:
    root = await slack.say(GENERAL, ANN, "The payments deploy failed last night.")
    thread = root["ts"]
    await slack.say(GENERAL, BOB, "I will roll back the payments deploy today.", thread_ts=thread)
    await slack.say(GENERAL, ANN, "We decided to freeze releases until Friday.", thread_ts=thread)
    await slack.mention(GENERAL, ANN, "recap", thread_ts=thread)
    await slack.adapter.settle()
    crashed = crash_when_recording(slack, ":recap")

    with pytest.raises(Crash):
        await slack.worker.drain()
    assert crashed and len(bot_replies(slack, thread)) == 1  # Slack accepted the post
    [first] = bot_replies(slack, thread)
    assert first["metadata"]["event_payload"]["key"] == crashed[0]
    assert slack.core.services.queue.get(1).status == "running"  # died mid-run

    await restart_worker(slack)

    assert bot_replies(slack, thread) == [first]  # exactly one recap in the thread
    assert len(slack.fake.called("chat.postMessage")) == 1
    lookups = [
        c for c in slack.fake.called("conversations.replies") if c.args.get("include_all_metadata")
    ]
    assert lookups and all(c.args["ts"] == thread for c in lookups)
    assert slack.core.services.repo.delivery(crashed[0]).message_id == first["ts"]
    assert slack.core.services.queue.get(1).status == "done"


async def test_a_top_level_post_is_found_in_the_channel(slack: Harness) -> None:
    target = ReplyTarget(place=Place(platform="slack", workspace=TEAM, channel=GENERAL))
    crash_when_recording(slack, "digest")
    with pytest.raises(Crash):
        await slack.core.deliver("k:digest", slack.adapter, target, TextReply(text="Daily digest"))
    # The retry, after the restart: found through conversations.history, not posted again.
    ts = await slack.core.deliver("k:digest", slack.adapter, target, TextReply(text="Daily digest"))
    assert [m["ts"] for m in bot_replies(slack, None)] == [ts]
    assert len(slack.fake.called("chat.postMessage")) == 1
    [lookup] = slack.fake.called("conversations.history")
    assert lookup.args["include_all_metadata"] in ("1", "true", True)


async def test_an_uploaded_transcript_is_not_uploaded_again(slack: Harness) -> None:
    sentence = "We went through every open incident and agreed on owners for each one. "
    transcript = Transcript(
        segments=[Segment(start=i * 5.0, end=i * 5.0 + 4.5, text=sentence) for i in range(60)],
        duration=300.0,
    )
    place = Place(platform="slack", workspace=TEAM, channel=GENERAL, thread="1.000100")
    target, reply = (
        ReplyTarget(place=place),
        TranscriptReply(transcript=transcript, filename="a.txt"),
    )
    crash_when_recording(slack, ":transcript")
    with pytest.raises(Crash):
        await slack.core.deliver("job:9:F1:transcript", slack.adapter, target, reply)
    file_id = await slack.core.deliver("job:9:F1:transcript", slack.adapter, target, reply)
    [upload] = slack.fake.called("files.completeUploadExternal")
    assert file_id == f"file:{json.loads(upload.args['files'])[0]['id']}"
    # A later, separate delivery of the same file name is a new upload, not a duplicate.
    await slack.core.deliver("job:10:F1:transcript", slack.adapter, target, reply)
    assert len(slack.fake.called("files.completeUploadExternal")) == 2


async def test_a_reply_split_in_parts_posts_only_the_missing_parts(slack: Harness) -> None:
    target = ReplyTarget(
        place=Place(platform="slack", workspace=TEAM, channel=GENERAL, thread="1.1")
    )
    long_text = "\n".join(f"line {n} " + "x" * 2900 for n in range(60))  # > 50 blocks
    reply = TextReply(text=long_text)
    calls = {"n": 0}
    real = slack.adapter.client_for  # the real client; it dies after its first accepted part

    def crash_after_first(token: str):
        client = real(token)
        original = client.chat_postMessage

        async def post(**kwargs):
            found = await original(**kwargs)
            calls["n"] += 1
            if calls["n"] == 1:
                raise Crash("after part 0")
            return found

        client.chat_postMessage = post  # type: ignore[method-assign]
        return client

    slack.adapter.client_for = crash_after_first  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await slack.core.deliver("k:long", slack.adapter, target, reply)
    slack.adapter.client_for = real  # type: ignore[method-assign]
    slack.adapter._clients.clear()
    first = await slack.core.deliver("k:long", slack.adapter, target, reply)
    posted = bot_replies(slack, "1.1")
    parts = [m["metadata"]["event_payload"]["part"] for m in posted]
    assert parts == [0, 1] and posted[0]["ts"] == first
