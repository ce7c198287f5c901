"""The core driven through an in-memory platform: commands become jobs, jobs post once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot import sentences as messages
from bot.inbound import CommandRequest
from bot.ports import (
    ChatMessage,
    ErrorReply,
    FileRef,
    Place,
    ProgressReply,
    RecapReply,
    Reply,
    TextReply,
)
from summarizer.types import Segment, Transcript
from tests.memory_platform import MemoryPlatform, memory_bot

# A recap of another channel asked for in a thread is answered there, privately.
ANOTHER_CHANNEL_ACK = messages.WORKING_RECAP.format(
    where=messages.RECAP_ONLY_YOU.format(where=messages.RECAP_IN_THREAD)
)

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def _msg(id_: str, author: str, text: str, minutes_ago: float, thread: str | None = None):
    return ChatMessage(
        id=id_,
        author_id=f"U-{author}",
        author_name=author,
        text=text,
        at=NOW - timedelta(minutes=minutes_ago),
        thread=thread,
    )


@pytest.fixture
def bot(engine):
    core, worker, platform = memory_bot(engine, clock=lambda: NOW)
    return core, worker, platform


def _request(text: str, key: str, *, channel="C1", thread=None, message_id="m-cmd", via="mention"):
    return CommandRequest(
        place=Place(platform="memory", workspace="T1", channel=channel, thread=thread),
        user_id="U-Ann",
        text=text,
        event_key=key,
        message_id=message_id,
        via=via,
    )


def _recaps(platform: MemoryPlatform) -> list[RecapReply]:
    return [p.reply for p in platform.posts.values() if isinstance(p.reply, RecapReply)]


@pytest.mark.anyio
async def test_thread_recap_posted_once_in_the_thread(bot) -> None:
    core, worker, platform = bot
    platform.add("C1", _msg("t1", "Ann", "The deploy failed on the payments service.", 30))
    platform.add("C1", _msg("t2", "Bob", "I'll roll back the payments deploy today.", 20, "t1"))
    platform.add("C1", _msg("x", "Eve", "Unrelated lunch plans for Friday.", 10))

    outcome = await core.handle_command(_request("recap", "Ev1", thread="t1"))
    assert outcome.ack == "Working on a recap… it will be posted in this thread."
    assert outcome.job_id
    retry = await core.handle_command(_request("recap", "Ev1", thread="t1"))
    assert retry.duplicate

    assert await worker.drain() == 1
    [posted] = platform.posts.values()
    assert posted.target.place.thread == "t1"
    recap = posted.reply.recap
    assert [(a.owner, a.owner_id, a.task) for a in recap.action_items] == [
        ("Bob", "U-Bob", "Roll back the payments deploy")
    ]
    assert "lunch" not in recap.model_dump_json()
    assert posted.reply.links["t2"] == "https://chat.example/C1/t2"


@pytest.mark.anyio
async def test_channel_window_recap_reflects_edits_and_deletes(bot) -> None:
    core, worker, platform = bot
    place = Place(platform="memory", workspace="T1", channel="C1")
    first = platform.add("C1", _msg("a", "Ann", "I'll write the migration guide by Friday.", 60))
    platform.add("C1", _msg("b", "Bob", "I'll update the dashboards tomorrow.", 50))
    await core.handle_command(_request("recap 24h", "Ev1"))
    await worker.drain()
    tasks = {a.task for a in _recaps(platform)[-1].recap.action_items}
    assert tasks == {"Write the migration guide", "Update the dashboards"}

    # Live events: an edit and a delete; the next recap uses the store (no new history call).
    calls = platform.history_calls
    edited = ChatMessage(**{**first.__dict__, "text": "I'll write the upgrade FAQ by Friday."})
    await core.record_edit(place, edited)
    await core.record_delete(place, "b")
    await core.handle_command(_request("recap 24h", "Ev2"))
    await worker.drain()
    assert platform.history_calls == calls
    tasks = {a.task for a in _recaps(platform)[-1].recap.action_items}
    assert tasks == {"Write the upgrade FAQ"}


@pytest.mark.anyio
async def test_cross_channel_recap_needs_membership(bot) -> None:
    core, worker, platform = bot
    platform.add("C-secret", _msg("s", "Zed", "The acquisition closes on Monday.", 5))
    platform.members["C-secret"] = {"U-Zed"}
    await core.handle_command(_request("recap 24h #C-secret", "Ev1"))
    await worker.drain()
    [posted] = platform.posts.values()
    assert isinstance(posted.reply, ErrorReply)
    assert posted.target.ephemeral_to == "U-Ann"
    assert "acquisition" not in str(posted.reply)

    platform.members["C-secret"].add("U-Ann")
    await core.handle_command(_request("recap 24h #C-secret", "Ev2"))
    await worker.drain()
    [recap] = _recaps(platform)
    assert "acquisition" in recap.recap.summary
    only_for_ann = [p for p in platform.posts.values() if isinstance(p.reply, RecapReply)]
    assert only_for_ann[0].target.ephemeral_to == "U-Ann"


@pytest.mark.anyio
async def test_immediate_replies_for_help_unknown_and_bad_windows(bot) -> None:
    core, _, _ = bot
    help_ = await core.handle_command(_request("help", "Ev1"))
    assert isinstance(help_.reply, TextReply) and "recap" in help_.reply.text
    unknown = await core.handle_command(_request("dance", "Ev2"))
    assert "didn't understand" in unknown.reply.text
    bad = await core.handle_command(_request("recap since banana", "Ev3"))
    assert isinstance(bad.reply, ErrorReply) and "24h" in bad.reply.text
    assert core.services.queue.counts() == {}


@pytest.mark.anyio
async def test_empty_window_says_so(bot) -> None:
    core, worker, platform = bot
    await core.handle_command(_request("recap 1h", "Ev1"))
    await worker.drain()
    [posted] = platform.posts.values()
    assert posted.reply.text == messages.NOTHING_TO_RECAP.format(where="in that window")


@pytest.mark.anyio
async def test_bot_messages_and_mass_mentions_never_reach_the_recap(bot) -> None:
    core, worker, platform = bot
    platform.add("C1", _msg("a", "Ann", "@channel please review the incident report by Friday.", 9))
    bot_msg = ChatMessage(
        id="b",
        author_id="B1",
        author_name="balafon",
        text="Recap: I'll do everything.",
        at=NOW - timedelta(minutes=8),
        from_bot=True,
    )
    platform.add("C1", bot_msg)
    await core.handle_command(_request("recap 1h", "Ev1"))
    await worker.drain()
    [recap] = _recaps(platform)
    dumped = recap.recap.model_dump_json()
    assert "@channel" not in dumped and "do everything" not in dumped


@pytest.mark.anyio
async def test_failed_job_tells_the_user_once(bot, monkeypatch) -> None:
    core, worker, platform = bot
    platform.add("C1", _msg("a", "Ann", "Some text to recap here today.", 9))

    def broken(conversation):
        raise RuntimeError("disk full")

    monkeypatch.setattr(core.services.summarizer, "recap", broken)
    job = (await core.handle_command(_request("recap 1h", "Ev1"))).job_id
    for _ in range(3):
        await worker.drain()
        core.services.queue.engine.dispose()
        from sqlalchemy import update
        from sqlmodel import Session

        from bot.storage.models import Job

        with Session(core.services.queue.engine) as session:
            session.execute(update(Job).values(run_after=NOW - timedelta(days=1)))
            session.commit()
    assert core.services.queue.get(job).status == "failed"
    errors = [p.reply for p in platform.posts.values() if isinstance(p.reply, ErrorReply)]
    assert len(errors) == 1 and f"#{job}" in errors[0].text
    assert "disk full" not in errors[0].text


@pytest.mark.anyio
async def test_without_platform_history_the_store_answers(bot) -> None:
    core, worker, platform = bot
    platform.history_available = False
    place = Place(platform="memory", workspace="T1", channel="C1")
    for message in (
        _msg("r", "Ann", "The invoice export breaks on leap years.", 30),
        _msg("s", "Bob", "I'll patch the invoice export tomorrow.", 20, "r"),
    ):
        await core.record_message(place, message)
    await core.handle_command(_request("recap", "Ev1", thread="r"))
    await core.handle_command(_request("recap 24h", "Ev2"))
    await worker.drain()
    thread, channel = _recaps(platform)
    for recap in (thread, channel):
        assert [(a.owner, a.task) for a in recap.recap.action_items] == [
            ("Bob", "Patch the invoice export")
        ]


class _SlowEarlyUpdates(MemoryPlatform):
    """A platform whose first progress updates take long (a slow network), recording
    updates in the order they land."""

    def __init__(self) -> None:
        super().__init__()
        self.landed: list[Reply] = []

    async def update(self, target, message_id, reply) -> None:
        if isinstance(reply, ProgressReply) and (reply.fraction or 0) < 0.5:
            await asyncio.sleep(0.8)
        self.landed.append(reply)
        await super().update(target, message_id, reply)


class _QuickTranscriber:
    """Reports progress as fast as it can (as a short file does), then a transcript."""

    def transcribe(self, path, *, on_progress=None) -> Transcript:
        for fraction in (0.2, 0.4, 0.6, 0.8, 0.96, 1.0):
            on_progress(fraction)
        text = "I will send the release notes to the support team tomorrow."
        return Transcript(segments=[Segment(start=0, end=4, text=text)], duration=4.0)


@pytest.mark.anyio
async def test_transcription_progress_lands_in_order_and_ends_on_the_final_state(
    engine, tmp_path
) -> None:
    platform = _SlowEarlyUpdates()
    core, worker, _ = memory_bot(
        engine, clock=lambda: NOW, platform=platform, transcriber_factory=_QuickTranscriber
    )
    recording = tmp_path / "call.ogg"
    recording.write_bytes(b"OggS fake")
    platform.files["f1"] = recording
    request = CommandRequest(
        place=Place(platform="memory", workspace="T1", channel="C1"),
        user_id="U-Ann",
        text="transcribe",
        event_key="Ev1",
        message_id="m1",
        files=(FileRef(id="f1", name="call.ogg", mimetype="audio/ogg", size=9),),
    )

    async def run() -> None:
        await core.handle_command(request)
        await worker.drain()
        await asyncio.sleep(2)  # an update still on its way would land meanwhile

    await run()
    progress = [p for p in platform.posts.values() if isinstance(p.reply, ProgressReply)]
    assert len(progress) == 1
    final = progress[0].last
    assert final.fraction == 1.0 and final.text.startswith("Transcribed “call.ogg”")
    assert platform.landed[-1] == final  # nothing arrived after the final state
    fractions = [r.fraction for r in platform.landed if r.text.startswith("Transcribing")]
    assert fractions == sorted(fractions) and fractions[0] == 0.0
    assert progress[0].reply.text == "Downloading “call.ogg”…"


@pytest.mark.anyio
async def test_a_platform_with_local_files_says_receiving_not_downloading(engine, tmp_path) -> None:
    platform = MemoryPlatform()
    platform.files_are_local = True  # as the playground's uploads are
    core, worker, _ = memory_bot(
        engine, clock=lambda: NOW, platform=platform, transcriber_factory=_QuickTranscriber
    )
    platform.files["f1"] = tmp_path / "call.ogg"
    platform.files["f1"].write_bytes(b"OggS fake")
    request = CommandRequest(
        place=Place(platform="memory", workspace="T1", channel="C1"),
        user_id="U-Ann",
        text="transcribe",
        event_key="Ev1",
        message_id="m1",
        files=(FileRef(id="f1", name="call.ogg", mimetype="audio/ogg", size=9),),
    )
    await core.handle_command(request)
    await worker.drain()
    [progress] = [p for p in platform.posts.values() if isinstance(p.reply, ProgressReply)]
    assert progress.reply.text == "Receiving “call.ogg”…"


class _Directory(MemoryPlatform):
    """A memory platform that knows its channels by name ("#dev" is C2), slowly if asked."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.asked: list[str] = []

    async def find_channel(self, place: Place, reference: str) -> str | None:
        self.asked.append(reference)
        await asyncio.sleep(self.delay)
        return {"dev": "C2", "C2": "C2"}.get(reference)


@pytest.mark.anyio
async def test_a_missing_channel_is_said_at_once_and_a_slow_lookup_leaves_it_to_the_job(
    engine, monkeypatch
) -> None:
    core, worker, _ = memory_bot(engine, clock=lambda: NOW)
    directory = _Directory()
    core.services.register(directory)  # replaces the plain memory platform (same name)
    missing = await core.handle_command(_request("recap 7d #nope", "Ev-n"))
    assert isinstance(missing.reply, ErrorReply) and missing.ack is None and not missing.job_id
    assert "no channel #nope" in missing.reply.text
    assert core.services.queue.counts() == {}
    by_name = await core.handle_command(_request("recap 7d #dev", "Ev-d"))
    job = core.services.queue.get(by_name.job_id)
    assert by_name.ack == ANOTHER_CHANNEL_ACK and job.payload["source"]["channel"] == "C2"

    # The platform is too slow to answer before the ack: queued, and the job asks again.
    monkeypatch.setattr("bot.features.recap.CHANNEL_LOOKUP_SECONDS", 0.05)
    directory.delay = 0.2
    slow = await core.handle_command(_request("recap 7d #gone", "Ev-s"))
    assert slow.ack == ANOTHER_CHANNEL_ACK
    directory.delay = 0.0
    await worker.drain()
    refusals = [p.reply.text for p in directory.posts.values() if isinstance(p.reply, ErrorReply)]
    expected = [  # Ann is in neither channel: #dev is refused to her
        messages.NOT_A_MEMBER.format(channel="C2"),
        messages.NO_SUCH_CHANNEL.format(channel="gone"),
    ]
    assert sorted(refusals) == sorted(expected)
    assert directory.asked.count("gone") == 2
