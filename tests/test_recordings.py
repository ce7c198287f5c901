"""Recordings in their conversation: when a recording started, its segments in channel and
thread recaps and digests (named speakers, `<message>@<seconds>` citations), and what
deletes, `forget` and retention take away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from sqlmodel import Session, select

from bot.inbound import CommandRequest
from bot.outline import build_outline
from bot.ports import ChatMessage, Place, RecapReply
from bot.recordings import (
    linkable_message,
    parse_recording_ref,
    recording_ref,
    recording_start,
    source_label,
)
from bot.rendering import outline_markdown
from bot.storage.models import ActionItemRecord, TranscriptRecord
from summarizer.audio import creation_time, probe
from tests.memory_platform import memory_bot
from tests.speech import synthesize

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday
PLACE = Place(platform="memory", workspace="T1", channel="C1")


def tag_creation_time(source: Path, dest: Path, when: str) -> Path:
    """Remux `source` (m4a) into `dest` with the container tag `creation_time=when`."""
    with av.open(str(source)) as given, av.open(str(dest), "w", format="ipod") as out:
        out.metadata["creation_time"] = when
        stream = given.streams.audio[0]
        copied = out.add_stream_from_template(stream)
        for packet in given.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = copied
            out.mux(packet)
    return dest


# --- dates ---------------------------------------------------------------------------------


def test_a_share_time_is_the_end_and_a_stated_start_or_plausible_tag_wins() -> None:
    shared = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert recording_start(shared=shared, duration=600) == datetime(2026, 12, 7, 9, 50, tzinfo=UTC)
    tagged = datetime(2026, 12, 7, 9, 40, tzinfo=UTC)
    assert recording_start(shared=shared, duration=600, tagged=tagged) == tagged
    # A tag from after the share is a wrong clock: the share time decides.
    wrong = shared + timedelta(days=2)
    assert recording_start(shared=shared, duration=60, tagged=wrong) == shared - timedelta(
        seconds=60
    )
    given = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert recording_start(shared=shared, duration=60, tagged=tagged, given=given) == given
    queued = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    assert recording_start(shared=None, duration=60, fallback=queued) == queued - timedelta(
        seconds=60
    )
    assert recording_start(shared=None, duration=60) is None


def test_the_containers_creation_time_tag_is_read(tmp_path: Path) -> None:
    plain = synthesize("Hello there.", tmp_path / "plain.m4a", "m4a")
    tagged = tag_creation_time(plain, tmp_path / "tagged.m4a", "2026-03-02T09:00:00.000000Z")
    assert creation_time(tagged) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert probe(tagged).created == creation_time(tagged)
    assert creation_time(plain) is None
    placeholder = tag_creation_time(plain, tmp_path / "zero.m4a", "1970-01-01T00:00:00Z")
    assert creation_time(placeholder) is None  # an encoder's "unknown", not a date
    (tmp_path / "notes.txt").write_text("not media")
    assert creation_time(tmp_path / "notes.txt") is None


def test_segment_citations() -> None:
    ref = recording_ref("1765100000.000100", 83.7)
    assert ref == "1765100000.000100@83"
    assert parse_recording_ref(ref) == ("1765100000.000100", 83)
    assert source_label(ref) == "t=1:23" and linkable_message(ref) == "1765100000.000100"
    assert parse_recording_ref("1765100000.000100") is None and source_label("m1") == "source"
    assert parse_recording_ref("t=1:23") is None


# --- recordings in recaps ------------------------------------------------------------------


@pytest.fixture
def bot(engine):
    core, worker, platform = memory_bot(engine, clock=lambda: NOW)
    platform.managers = {"C1": {"U1"}}
    return core, worker, platform


async def _store(
    core,
    *,
    message_id: str | None,
    file_id: str,
    recorded_at: datetime,
    segments: list[tuple[float, str, str | None]],
    thread: str | None = None,
    speakers: dict | None = None,
    channel: str = "C1",
) -> None:
    place = Place(platform="memory", workspace="T1", channel=channel)
    stored = await core.services.conversations.get_or_create_channel(place)
    transcript = {
        "segments": [
            {"start": start, "end": start + 3, "text": text, "speaker": speaker}
            for start, text, speaker in segments
        ],
        "duration": max(s[0] for s in segments) + 3,
    }
    core.services.repo.save_transcript(
        stored,
        source_message_id=message_id,
        file_id=file_id,
        file_name="sync.m4a",
        duration_seconds=transcript["duration"],
        transcript=transcript,
        recorded_at=recorded_at,
        thread_id=thread,
        speakers=speakers or {},
    )


async def _ask(core, text: str, key: str, *, thread: str | None = None):
    request = CommandRequest(
        place=Place(platform="memory", workspace="T1", channel="C1", thread=thread),
        user_id="U1",
        text=text,
        event_key=key,
        timezone="UTC",
    )
    return await core.handle_command(request)


def _recaps(platform) -> list[RecapReply]:
    return [p.reply for p in platform.posts.values() if isinstance(p.reply, RecapReply)]


async def _say(core, platform, id_: str, text: str, at: datetime, thread: str | None = None):
    message = ChatMessage(
        id=id_, author_id="U2", author_name="Ann", text=text, at=at, thread=thread
    )
    platform.add("C1", message)
    await core.record_message(PLACE, message)


@pytest.mark.anyio
async def test_a_channel_recap_includes_the_recordings_shared_there(bot) -> None:
    core, worker, platform = bot
    started = NOW - timedelta(hours=5)
    await _say(core, platform, "m1", "Recording of the design sync", started + timedelta(minutes=3))
    named = {"Speaker 2": {"name": "Kofi", "user_id": "U-KOFI"}}
    segments = [
        (0.0, "Welcome to the design sync.", "Speaker 1"),
        (83.0, "I will update the store screenshots by Wednesday.", "Speaker 2"),
        (90.0, "We decided to drop the dark theme.", None),
    ]
    await _store(core, message_id="m1", file_id="F1", recorded_at=started, segments=segments)
    # The same file transcribed again (then named): counted once, the newest.
    await _store(
        core,
        message_id="m1",
        file_id="F1",
        recorded_at=started,
        segments=segments,
        speakers=named,
    )
    # A recording from last week is outside the window.
    await _store(
        core,
        message_id="m0",
        file_id="F0",
        recorded_at=NOW - timedelta(days=7),
        segments=[(0.0, "I will rewrite the onboarding emails by Friday.", None)],
    )
    await _ask(core, "recap 24h", "r1")
    await worker.drain()
    [reply] = _recaps(platform)
    [item] = reply.recap.action_items
    assert "store screenshots" in item.task
    assert (item.owner, item.owner_id) == ("Kofi", "U-KOFI")  # the speaker people named
    assert item.due == datetime(2026, 12, 9).date()  # Wednesday after the recording
    assert item.ref == "m1@83"
    assert reply.links["m1@83"] == "https://chat.example/C1/m1"
    [decision] = reply.recap.decisions
    assert "dark theme" in decision.text and decision.ref == "m1@90"
    assert "onboarding" not in reply.recap.model_dump_json()
    assert "(t=1:23)" in outline_markdown(build_outline(reply))


@pytest.mark.anyio
async def test_a_recording_reaching_into_the_window_counts_from_the_window_on(bot) -> None:
    core, worker, platform = bot
    await _store(
        core,
        message_id="m1",
        file_id="F1",
        recorded_at=NOW - timedelta(hours=24, minutes=5),
        segments=[
            (0.0, "I will paint the fence tomorrow.", None),  # before the window
            (600.0, "I will rename the project by Friday.", None),  # inside it
        ],
    )
    await _ask(core, "recap 24h", "r1")
    await worker.drain()
    [reply] = _recaps(platform)
    assert [(i.task, i.ref) for i in reply.recap.action_items] == [("Rename the project", "m1@600")]


@pytest.mark.anyio
async def test_a_thread_recap_includes_a_recording_shared_in_the_thread(bot) -> None:
    core, worker, platform = bot
    root_at = NOW - timedelta(hours=2)
    await _say(core, platform, "root", "The vendor call, recorded below.", root_at)
    await _say(core, platform, "r1", "Here it is", root_at + timedelta(minutes=40), "root")
    await _store(
        core,
        message_id="r1",
        file_id="F2",
        recorded_at=root_at + timedelta(minutes=5),
        thread="root",
        segments=[(12.0, "I will email the vendor tomorrow.", "Speaker 1")],
    )
    # A recording of another thread is not part of this one.
    await _store(
        core,
        message_id="x1",
        file_id="F3",
        recorded_at=root_at,
        thread="other",
        segments=[(0.0, "I will close the sprint on Friday.", None)],
    )
    await _ask(core, "recap", "t1", thread="root")
    await worker.drain()
    [reply] = _recaps(platform)
    [item] = reply.recap.action_items
    # A label nobody named owns nothing (`speaker 1 is @…` makes it a person).
    assert "vendor" in item.task and item.owner is None and item.ref == "r1@12"
    assert item.due == datetime(2026, 12, 8).date()
    assert "sprint" not in reply.recap.model_dump_json()


@pytest.mark.anyio
async def test_a_digest_includes_recording_segments(bot) -> None:
    core, worker, platform = bot
    await _ask(core, "digest daily 14:00", "d1")
    [subscription] = core.services.digests.active_subscriptions()
    await _store(
        core,
        message_id=None,  # a meeting's transcript: cited by file, linked to nothing
        file_id="meeting-1",
        recorded_at=NOW - timedelta(hours=3),
        segments=[(30.0, "I will book the venue for the offsite by Friday.", "Ama")],
    )
    assert core.services.digests.fire(subscription.id) is not None
    await worker.drain()
    [digest] = _recaps(platform)
    [item] = digest.recap.action_items
    assert "venue" in item.task and item.owner == "Ama" and item.ref == "file:meeting-1@30"
    assert digest.links == {}


@pytest.mark.anyio
async def test_deletes_forget_and_retention_take_recordings_out_of_recaps(bot) -> None:
    core, worker, platform = bot
    started = NOW - timedelta(hours=1)
    for message_id, file_id in (("m1", "F1"), ("m2", "F2"), ("m3", "F3")):
        await _store(
            core,
            message_id=message_id,
            file_id=file_id,
            recorded_at=started,
            segments=[(5.0, f"I will check the {file_id} numbers tomorrow.", None)],
        )
    await _ask(core, "recap 24h", "r1")
    await worker.drain()
    repo, engine = core.services.repo, core.services.repo.engine
    with Session(engine) as session:
        refs = sorted(a.source_ref or "" for a in session.exec(select(ActionItemRecord)))
    assert refs == ["m1@5", "m2@5", "m3@5"]

    await core.record_delete(PLACE, "m1")  # the message that shared F1
    await core.record_file_deleted(PLACE, "F2")  # the file itself
    with Session(engine) as session:
        assert sorted(t.file_id for t in session.exec(select(TranscriptRecord))) == ["F3"]
        refs = sorted(a.source_ref or "" for a in session.exec(select(ActionItemRecord)))
    assert refs == ["m3@5"]  # items citing the deleted recordings went too
    await _ask(core, "recap 24h", "r2")
    await worker.drain()
    text = _recaps(platform)[-1].recap.model_dump_json()
    assert "F3 numbers" in text and "F1" not in text and "F2" not in text

    assert repo.purge_expired(NOW + timedelta(days=40), 30)["transcripts"] == 1
    recaps = len(_recaps(platform))
    await _ask(core, "recap 24h", "r3")
    await worker.drain()
    assert len(_recaps(platform)) == recaps  # nothing left to recap

    await _store(
        core,
        message_id="m4",
        file_id="F4",
        recorded_at=started,
        segments=[(5.0, "I will ship it.", None)],
    )
    await _ask(core, "forget", "f1")
    await _ask(core, "forget confirm", "f2")
    with Session(engine) as session:
        assert session.exec(select(TranscriptRecord)).all() == []
