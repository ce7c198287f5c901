"""The Teams bot in memory: botbuilder's TestAdapter drives TeamsBot and the core, and
collects what the bot sends, in the turn and proactively (jobs)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity

from adapters.teams import TeamsOptions
from adapters.teams.bot import TeamsBot
from adapters.teams.platform import TeamsPlatform
from adapters.teams.references import ConversationStore
from bot.inbound import Inbound
from bot.jobs import JobQueue, Worker
from bot.main import build_services
from bot.ports import ChatMessage, Place, ProgressReply, ReplyTarget
from bot.storage.db import create_db_engine
from summarizer.pipeline import Summarizer
from tests.db import migrated_sqlite
from tests.teams.fake_microsoft import card_texts

pytestmark = pytest.mark.anyio

PAYLOAD = json.loads((Path(__file__).parent / "payloads" / "message.json").read_text())
BOT_ID = PAYLOAD["recipient"]["id"]
TENANT = PAYLOAD["conversation"]["tenantId"]
CHANNEL = "19:Qd2sDesignChannel0001@thread.tacv2"
CHAT = "19:b8e4f1c2a7d94e3f8a6b5c4d3e2f1a0b@thread.v2"
PERSONAL = "a:1Personal"
BOB = {"id": "29:1Bob", "name": "Bob Stone", "aadObjectId": "22222222-2222-4222-8222-222222222222"}
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday


class Bot:
    """TeamsBot over a TestAdapter, with the core on SQLite and a worker to drain."""

    def __init__(self, tmp_path: Path) -> None:
        engine = create_db_engine(migrated_sqlite(tmp_path / "unit.db"))
        queue = JobQueue(engine)
        self.core = Inbound(
            build_services(
                engine=engine,
                summarizer=Summarizer(),
                transcriber_factory=lambda: pytest.fail("no transcription expected"),
                max_media_bytes=10_000,
                clock=lambda: NOW,
            )
        )
        self.adapter = TestAdapter()
        store = ConversationStore(engine)
        self.platform = TeamsPlatform(
            bot_adapter=self.adapter,
            references=store,
            options=TeamsOptions(allow_anonymous=True),
            tokens=None,
        )
        self.core.services.register(self.platform)
        self.bot = TeamsBot(core=self.core, platform=self.platform)
        self.adapter.logic = self.bot.on_turn
        self.worker = Worker(
            queue, self.core.services.jobs, on_failure=self.core.services.jobs.on_failure
        )
        self._ids = iter(range(1_763_900_000_100, 1_763_900_099_999))
        self.history: list[ChatMessage] = []

        async def fetch_messages(place, *, oldest=None, latest=None):  # Graph's part
            return list(self.history)

        self.platform.fetch_messages = fetch_messages

    def activity(
        self,
        text: str,
        *,
        conversation: str,
        kind: str,
        mention: bool = True,
        root: str | None = None,
    ) -> Activity:
        data = copy.deepcopy(PAYLOAD)
        ident = str(next(self._ids))
        data["id"] = ident
        data["conversation"].update(conversationType=kind, id=conversation)
        if kind == "channel":
            data["conversation"]["id"] = f"{conversation};messageid={root or ident}"
        else:
            data["channelData"] = {"tenant": {"id": TENANT}}
        data["text"] = f"<at>balafon</at> {text}" if mention else text
        if not mention:
            data["entities"] = [e for e in data["entities"] if e["type"] != "mention"]
        return Activity().deserialize(data)

    def sent(self) -> list[Activity]:
        found = list(self.adapter.activity_buffer)
        self.adapter.activity_buffer.clear()
        return found


def _text(activity: Activity) -> str:
    if activity.attachments:
        return "\n".join(card_texts(activity.attachments[0].content["body"]))
    return activity.text or ""


@pytest.fixture
def teams_bot(tmp_path: Path) -> Bot:
    return Bot(tmp_path)


async def test_help_in_the_personal_chat(teams_bot: Bot) -> None:
    activity = teams_bot.activity("help", conversation=PERSONAL, kind="personal", mention=False)

    def is_help(reply: Activity, description: str | None = None) -> None:
        text = _text(reply)
        assert reply.attachments[0].content_type == "application/vnd.microsoft.card.adaptive"
        assert "Here's what I can do" in text and "meeting recaps are off" in text

    flow = await teams_bot.adapter.send(activity)
    await flow.assert_reply(is_help)


async def test_recap_since_monday_uses_the_senders_time_zone_and_posts_a_card(
    teams_bot: Bot,
) -> None:
    teams_bot.history = [
        ChatMessage(
            id="1",
            author_id=BOB["aadObjectId"],
            author_name="Bob Stone",
            text="I will update the pricing page tomorrow.",
            at=NOW - timedelta(hours=30),
        ),
    ]
    await teams_bot.adapter.receive_activity(
        teams_bot.activity("recap since Monday", conversation=CHAT, kind="groupChat")
    )
    [ack] = teams_bot.sent()
    assert ack.text.startswith("Working on a recap")
    [job] = [teams_bot.core.services.queue.get(1)]
    # Monday 00:00 in Europe/Berlin (the sender's zone), not in UTC.
    since = datetime.fromisoformat(job.payload["since"])
    assert since == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert job.payload["window_text"] == "since Monday"

    assert await teams_bot.worker.drain() == 1
    [recap] = teams_bot.sent()
    assert recap.conversation.id == CHAT and recap.reply_to_id is None  # a proactive post
    assert "Recap of this conversation (since Monday)" in _text(recap)
    assert "Update the pricing page — <at>Bob Stone</at>" in _text(recap)
    entities = recap.attachments[0].content["msteams"]["entities"]
    assert entities[0]["mentioned"]["id"] == BOB["aadObjectId"]


async def test_the_same_activity_twice_gets_one_answer(teams_bot: Bot) -> None:
    activity = teams_bot.activity("recap", conversation=CHAT, kind="groupChat")
    await teams_bot.adapter.receive_activity(activity)
    await teams_bot.adapter.receive_activity(copy.deepcopy(activity))
    assert len(teams_bot.sent()) == 1
    assert teams_bot.core.services.queue.counts() == {"queued": 1}


async def test_a_command_posted_in_a_channel_recaps_the_channel_into_its_own_thread(
    teams_bot: Bot,
) -> None:
    activity = teams_bot.activity("recap 7d", conversation=CHANNEL, kind="channel")
    await teams_bot.adapter.receive_activity(activity)
    job = teams_bot.core.services.queue.get(1)
    assert job.payload["source"]["thread"] is None  # the channel, not a one-message thread
    assert job.payload["source"]["channel"] == CHANNEL
    assert job.payload["reply"]["place"]["thread"] == activity.id
    # ... and a command inside a thread recaps that thread.
    reply = teams_bot.activity("recap", conversation=CHANNEL, kind="channel", root=activity.id)
    await teams_bot.adapter.receive_activity(reply)
    assert teams_bot.core.services.queue.get(2).payload["source"]["thread"] == activity.id


async def test_transcribe_without_a_file_explains_what_to_do(teams_bot: Bot) -> None:
    await teams_bot.adapter.receive_activity(
        teams_bot.activity("transcribe", conversation=PERSONAL, kind="personal", mention=False)
    )
    [reply] = teams_bot.sent()
    assert "I didn't find an audio or video file" in _text(reply)


async def test_messages_not_addressed_to_the_bot_are_stored_silently(teams_bot: Bot) -> None:
    activity = teams_bot.activity(
        "We decided to keep the old logo.", conversation=CHAT, kind="groupChat", mention=False
    )
    await teams_bot.adapter.receive_activity(activity)
    assert teams_bot.sent() == []
    workspace = teams_bot.core.services.repo.get_workspace("teams", TENANT)
    channel = teams_bot.core.services.repo.get_channel(workspace.id, CHAT)
    [row] = teams_bot.core.services.repo.messages(channel)
    assert row.text == "We decided to keep the old logo." and row.author_name == "Ann Lee"


async def test_progress_updates_replace_the_same_message(teams_bot: Bot) -> None:
    await teams_bot.adapter.receive_activity(
        teams_bot.activity("hello", conversation=CHAT, kind="groupChat", mention=False)
    )
    target = ReplyTarget(place=Place(platform="teams", workspace=TENANT, channel=CHAT))
    message_id = await teams_bot.platform.post(
        target, ProgressReply(text="Downloading…", fraction=0)
    )
    await teams_bot.platform.update(
        target, message_id, ProgressReply(text="Transcribing…", fraction=0.5)
    )
    [update] = teams_bot.adapter.updated_activities
    assert update.id == message_id and update.conversation.id == CHAT
    assert "▰▰▰▰▰▱▱▱▱▱ 50%" in _text(update)


async def test_installing_greets_in_a_personal_chat_only(teams_bot: Bot) -> None:
    for kind, conversation in (("personal", PERSONAL), ("groupChat", CHAT)):
        data: dict[str, Any] = copy.deepcopy(PAYLOAD)
        data.update(type="installationUpdate", action="add", text=None, entities=[])
        data["conversation"].update(conversationType=kind, id=conversation)
        await teams_bot.adapter.receive_activity(Activity().deserialize(data))
    [welcome] = teams_bot.sent()
    assert welcome.conversation.id == PERSONAL and "`@balafon help`" in welcome.text
    assert await teams_bot.platform.references.get(TENANT, CHAT) is not None


async def test_digest_subscription_in_the_senders_time_zone(teams_bot: Bot) -> None:
    await teams_bot.adapter.receive_activity(
        teams_bot.activity("digest daily 09:00", conversation=CHAT, kind="groupChat")
    )
    [reply] = teams_bot.sent()
    assert "every day at 09:00 (Europe/Berlin)" in _text(reply)
    [subscription] = teams_bot.core.services.digests.active_subscriptions()
    assert (subscription.platform, subscription.timezone) == ("teams", "Europe/Berlin")
