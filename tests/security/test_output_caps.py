"""Issue #11 item 10: model output is unbounded (a 3 MB summary became 21 Slack messages).
The recap is capped before rendering (summary, key points, items, names, counts, with a
note), and a Slack reply is at most a few messages, the rest a file.

The real langchain/OpenAI client talks to the fake OpenAI server on 127.0.0.1; the real app
and bolt talk to the fake Slack on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from adapters.teams import cards
from bot.ports import Place, RecapReply, ReplyTarget, TextReply
from bot.storage.models import ActionItemRecord, RecapRecord
from summarizer import limits
from summarizer.config import LLMConfig
from summarizer.pipeline import Summarizer
from summarizer.types import Conversation, Message
from tests.fake_openai import FakeOpenAI, Reply
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
A_FEW = 3  # messages a Slack reply may take (adapters.slack.blocks.MAX_MESSAGES)
HUGE_SUMMARY = "The team talked. " * (3 * 2**20 // 17)  # about 3 MB


def flood() -> dict:
    """What a misbehaving (or manipulated) model answers: megabytes, ten thousand items."""
    return {
        "summary": HUGE_SUMMARY,
        "key_points": [f"Point {n} " + "p" * 400 for n in range(1000)],
        "decisions": [{"text": f"Decision {n} " + "d" * 700, "source": None} for n in range(1000)],
        "action_items": [
            {
                "task": f"Task number {n} " + "t" * 600,
                "owner": "Bob",
                "due": None,
                "confidence": 0.9,
                "source": None,
            }
            for n in range(10_000)
        ],
        "open_questions": [
            {"text": f"Question {n} " + "q" * 700, "asked_by": "Ann", "source": None}
            for n in range(1000)
        ],
    }


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.handler = lambda body: Reply.json(flood())
        yield server


def llm(server: FakeOpenAI) -> LLMConfig:
    return server.config(timeout_seconds=30)


@pytest.fixture
async def slack(fake, sqlite_engine, tmp_path: Path, openai) -> AsyncIterator[Harness]:
    harness, lifespan = await start_harness(fake, sqlite_engine, tmp_path)
    harness.core.services.summarizer = Summarizer(llm=llm(openai))
    async with lifespan:
        try:
            yield harness
        finally:
            await harness.http.aclose()


def _bot_thread(slack: Harness, thread: str) -> list[dict]:
    return [
        m
        for m in slack.fake.channels[GENERAL]["messages"]
        if m.get("user") == BOT_USER and m.get("thread_ts") == thread
    ]


async def test_a_flooding_model_gets_one_short_recap_in_the_thread(slack: Harness) -> None:
    root = await slack.say(GENERAL, ANN, "The payments deploy failed last night.")
    thread = root["ts"]
    await slack.say(GENERAL, BOB, "I will roll back the payments deploy today.", thread_ts=thread)
    await slack.mention(GENERAL, ANN, "recap", thread_ts=thread)
    await slack.settle()

    posted = _bot_thread(slack, thread)
    assert 1 <= len(posted) <= A_FEW
    text = json.dumps([m["blocks"] for m in posted], ensure_ascii=False)
    assert len(text) < 120_000  # from about 13 MB of model output
    assert text.count("The team talked.") <= limits.MAX_SUMMARY_CHARS // 17 + 1
    assert text.count("Task number ") == limits.MAX_ITEMS
    assert text.count("Decision ") == limits.MAX_ITEMS
    assert text.count("Question ") == limits.MAX_ITEMS
    assert text.count("Point ") == limits.MAX_KEY_POINTS
    assert "t" * limits.MAX_ITEM_CHARS not in text  # each item's text was shortened
    assert "too long to show in full" in text  # and the reader is told
    # What is stored (for digests and exports) is the capped recap too.
    with Session(slack.core.services.repo.engine) as session:
        [record] = session.exec(select(RecapRecord)).all()
        assert len(record.recap["summary"]) <= limits.MAX_SUMMARY_CHARS
        assert len(session.exec(select(ActionItemRecord)).all()) <= limits.MAX_ITEMS


def test_every_platform_gets_the_capped_recap(openai: FakeOpenAI) -> None:
    """The cap is in the summariser, before any renderer: Teams cards (and the playground,
    the API and the CLI, which use the same Summarizer) get the capped recap."""
    conversation = Conversation(
        messages=[
            Message(author="Ann", author_id="U0ANN", text="Deploy failed."),
            Message(author="Bob", author_id="U0BOB", text="I will roll it back."),
        ]
    )
    recap = Summarizer(llm=llm(openai)).recap(conversation)
    assert len(recap.summary) <= limits.MAX_SUMMARY_CHARS
    assert len(recap.action_items) == limits.MAX_ITEMS
    assert all(len(a.task) <= limits.MAX_ITEM_CHARS for a in recap.action_items)
    assert len(recap.key_points) <= limits.MAX_KEY_POINTS
    assert recap.notes[-1].startswith("This recap was too long to show in full")
    activities = cards.render(RecapReply(recap=recap, title="Thread recap"))
    assert 1 <= len(activities) <= 3


async def test_a_reply_longer_than_a_few_messages_ends_in_a_file(slack: Harness) -> None:
    """Beyond MAX_MESSAGES messages (a long digest, a long text), the reply is cut and the
    whole of it goes up as a file in the same thread."""
    lines = [f"line {n} " + "x" * 2900 for n in range(400)]  # about 8 messages of blocks
    target = ReplyTarget(
        place=Place(platform="slack", workspace=TEAM, channel=GENERAL, thread="1.000200")
    )
    await slack.core.deliver("k:long", slack.adapter, target, TextReply(text="\n".join(lines)))
    posted = _bot_thread(slack, "1.000200")
    assert len(posted) == A_FEW  # two messages, then the file's message
    assert len(slack.fake.called("chat.postMessage")) == A_FEW - 1
    [upload] = slack.fake.called("files.completeUploadExternal")
    file_id = json.loads(upload.args["files"])[0]["id"]
    assert slack.fake.uploads[file_id].decode() == "\n".join(lines)
    assert posted[-1]["files"][0]["id"] == file_id
