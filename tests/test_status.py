"""`@balafon status` (bot/features/status.py) through the in-memory platform, and the
job payloads stored before they were typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import sentences
from bot.commands import Outcome
from bot.features import help_text
from bot.features.recap import RecapPayload
from bot.features.transcription import TranscribePayload
from bot.inbound import CommandRequest, Inbound
from bot.main import build_services
from bot.ports import FileRef, Place, ReplyTarget, TextReply
from bot.storage.db import create_db_engine
from summarizer.config import LLMConfig
from summarizer.pipeline import Summarizer
from tests.db import migrated_sqlite
from tests.memory_platform import MemoryPlatform, memory_bot

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
HERE = Place(platform="memory", workspace="T1", channel="C1")


async def _say(core: Inbound, text: str, key: str) -> Outcome:
    request = CommandRequest(place=HERE, user_id="U-Ann", text=text, event_key=key)
    return await core.handle_command(request)


@pytest.mark.anyio
async def test_status_says_what_the_bot_does_in_the_channel(engine) -> None:
    core, _, _ = memory_bot(engine, clock=lambda: NOW)
    first = (await _say(core, "status", "Ev1")).reply
    assert isinstance(first, TextReply)
    assert sentences.STATUS_AUTO_ON in first.text
    assert sentences.STATUS_NO_DIGEST in first.text
    assert sentences.STATUS_RETENTION_FOREVER in first.text
    assert sentences.STATUS_OFFLINE in first.text
    await _say(core, "auto-transcribe off", "Ev2")
    await _say(core, "digest daily 09:00", "Ev3")
    then = (await _say(core, "@balafon status", "Ev4")).reply
    assert isinstance(then, TextReply)
    assert sentences.STATUS_AUTO_OFF in then.text
    assert "every day at 09:00" in then.text or "daily" in then.text.lower()
    assert sentences.STATUS_NO_DIGEST not in then.text
    assert (await _say(core, "status", "Ev4")).duplicate  # a retried event: answered once


@pytest.mark.anyio
async def test_status_of_a_channel_never_seen_stores_nothing(engine) -> None:
    core, _, _ = memory_bot(engine, clock=lambda: NOW)
    answer = (await _say(core, "status", "Ev1")).reply
    assert isinstance(answer, TextReply) and sentences.STATUS_AUTO_ON in answer.text
    assert await core.services.conversations.get_channel(HERE) is None  # a read


@pytest.mark.anyio
async def test_status_says_when_digests_are_off_and_when_the_llm_cannot_be_used(
    tmp_path,
) -> None:
    """A server without digests does not offer `digest daily 09:00`; an LLM that could not
    be set up means every recap comes from the offline engine, and status says so."""
    broken = Summarizer(llm=LLMConfig(model="no-such-provider:model-x"))
    assert broken.llm_setup_error
    services = build_services(
        engine=create_db_engine(migrated_sqlite(tmp_path / "status.db")),
        clock=lambda: NOW,
        summarizer=broken,
        transcriber_factory=lambda: pytest.fail("no transcription"),
        max_media_bytes=10_000,
        digests=False,
    )
    services.register(MemoryPlatform())
    answer = (await _say(Inbound(services), "status", "Ev1")).reply
    assert isinstance(answer, TextReply)
    assert sentences.STATUS_DIGESTS_OFF in answer.text
    assert sentences.STATUS_NO_DIGEST not in answer.text
    model = broken.engine
    assert sentences.STATUS_LLM_BROKEN.format(model=model) in answer.text


def test_help_lists_status_and_drops_what_a_platform_cannot_do() -> None:
    assert "`@balafon status`" in help_text()
    assert "#other-channel" in help_text()
    teams_like = help_text(frozenset(), ("• Meetings.", "", "A note."))
    assert "#other-channel" not in teams_like
    assert teams_like.endswith("• `@balafon help` — this message.\n• Meetings.\n\nA note.")


def test_payloads_stored_before_the_registry_still_parse() -> None:
    """Rows written by the old code (plain dicts) are read into the typed payloads."""
    place = {"platform": "slack", "workspace": "T1", "channel": "C1", "thread": None}
    reply = {"place": {**place, "thread": "111.1"}, "ephemeral_to": None, "response_url": None}
    recap = RecapPayload.model_validate(
        {
            "platform": "slack",
            "source": place,
            "since": "2026-11-24T15:00:00+00:00",
            "until": "2026-11-25T15:00:00+00:00",
            "window_text": None,
            "requested_by": "U1",
            "reply": reply,
        }
    )
    assert recap.reply == ReplyTarget(place=Place(**{**place, "thread": "111.1"}))
    assert recap.since == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    media = TranscribePayload.model_validate(
        {
            "platform": "slack",
            "source": place,
            "message_id": "111.1",
            "files": [
                {"id": "F1", "name": "a.mp3", "mimetype": "audio/mpeg", "size": 3, "url": None}
            ],
            "reply": reply,
        }
    )
    assert media.files == [FileRef(id="F1", name="a.mp3", mimetype="audio/mpeg", size=3)]
    assert TranscribePayload.model_validate(media.stored()) == media
