"""Naming a recording's speakers through the core (memory platform): `speaker 1 is @kofi`
in the transcript's thread updates the transcript and recap posts in place, the named
person owns their "I'll…" items; errors say what to do; voice profiles (opt-in) name a
known voice by themselves, and `forget my voice` deletes it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.features import speakers as feature
from bot.inbound import CommandRequest
from bot.ports import ErrorReply, FileRef, Place, RecapReply, TextReply, TranscriptReply
from bot.storage.models import TranscriptRecord, VoiceProfile
from tests.memory_platform import MemoryPlatform, memory_bot
from tests.voices import AMA_VOICE, KOFI_VOICE, TwoVoices

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def bot(engine, tmp_path: Path):
    platform = MemoryPlatform()
    platform.members["C1"] = {"U-Ann", "U-Kofi"}
    core, worker, _ = memory_bot(
        engine, clock=lambda: NOW, platform=platform, transcriber_factory=TwoVoices
    )
    recording = tmp_path / "standup.ogg"
    recording.write_bytes(b"OggS fake")
    platform.files["f1"] = recording
    platform.files["f2"] = recording
    return core, worker, platform


def place(thread: str | None = None) -> Place:
    return Place(platform="memory", workspace="T1", channel="C1", thread=thread)


async def transcribe(core, worker, message_id: str = "m1", file_id: str = "f1") -> None:
    await core.handle_command(
        CommandRequest(
            place=place(),
            user_id="U-Ann",
            text="transcribe",
            event_key=f"Ev-{message_id}",
            message_id=message_id,
            files=(FileRef(id=file_id, name="standup.ogg", mimetype="audio/ogg", size=9),),
        )
    )
    await worker.drain()


async def say(core, worker, text: str, *, user="U-Ann", thread="m1", mentions=None, key="n1"):
    outcome = await core.handle_command(
        CommandRequest(
            place=place(thread),
            user_id=user,
            text=text,
            event_key=key,
            message_id=f"msg-{key}",
            mentions=mentions or {},
        )
    )
    await worker.drain()
    return outcome


def posted(platform: MemoryPlatform, kind: type) -> list:
    return [p for p in platform.posts.values() if isinstance(p.reply, kind)]


def answers(platform: MemoryPlatform) -> list[str]:
    return [
        p.reply.text
        for p in platform.posts.values()
        if isinstance(p.reply, (TextReply, ErrorReply))
    ]


def owners(recap: RecapReply) -> dict[str, tuple[str | None, str | None]]:
    return {item.task: (item.owner, item.owner_id) for item in recap.recap.action_items}


def task_owner(recap: RecapReply, word: str) -> tuple[str | None, str | None]:
    return next(owner for task, owner in owners(recap).items() if word in task)


@pytest.mark.anyio
async def test_naming_updates_transcript_and_recap_in_place(bot) -> None:
    core, worker, platform = bot
    await transcribe(core, worker)
    [transcript_post] = posted(platform, TranscriptReply)
    [recap_post] = posted(platform, RecapReply)
    assert transcript_post.target.place.thread == "m1"
    assert [c.label for c in transcript_post.reply.speakers] == ["Speaker 1", "Speaker 2"]
    # Nobody is named yet: nobody owns anything.
    assert set(owners(recap_post.reply).values()) == {(None, None)}

    outcome = await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"})

    assert outcome.ack == "Naming Speaker 1…"
    transcript = transcript_post.last
    assert isinstance(transcript, TranscriptReply)
    assert [s.speaker for s in transcript.transcript.segments] == ["kofi", "Speaker 2"]
    assert transcript.speakers[0].user_id == "U-Kofi"
    recap = recap_post.last
    assert isinstance(recap, RecapReply)
    assert task_owner(recap, "screenshots") == ("kofi", "U-Kofi")
    assert task_owner(recap, "invoices") == (None, None)  # Speaker 2 is still nobody
    assert "Speaker 1 of “standup.ogg” is kofi: the transcript and recap are updated." in answers(
        platform
    )
    assert len(posted(platform, RecapReply)) == 1  # updated, not posted again

    await say(core, worker, "Speaker 2 = Ama Owusu", key="n2")
    recap = recap_post.last
    assert task_owner(recap, "invoices") == ("Ama Owusu", None)  # a name without a user
    assert task_owner(recap, "screenshots") == ("kofi", "U-Kofi")


@pytest.mark.anyio
async def test_naming_errors_say_what_to_do(bot) -> None:
    core, worker, platform = bot
    await transcribe(core, worker)

    await say(core, worker, "speaker 7 is @kofi", mentions={"@kofi": "U-Kofi"}, key="a")
    await say(core, worker, "speaker 1 is @kofi", user="U-Stranger", key="b")
    await say(core, worker, "speaker 1 is Kofi", thread="elsewhere", key="c")
    await say(core, worker, "speaker 1 is <!channel> @", key="e")

    found = answers(platform)
    assert "There is no Speaker 7 in this transcript. Its speakers: Speaker 1, Speaker 2." in found
    assert feature.NOT_A_MEMBER in found
    assert feature.NO_TRANSCRIPT in found
    assert "Speaker 1 of “standup.ogg” is channel: the transcript and recap are updated." in found
    recap = posted(platform, RecapReply)[0].last
    assert task_owner(recap, "screenshots") == ("channel", None)  # inert text, no mention


@pytest.mark.anyio
async def test_outside_a_thread_the_latest_recording_is_named(bot) -> None:
    """Teams chats have no threads: there, the conversation's latest recording."""
    core, worker, platform = bot

    await say(core, worker, "speaker 1 is Kofi", thread=None, key="early")
    assert feature.NOT_IN_THREAD in answers(platform)  # nothing recorded yet

    await transcribe(core, worker, message_id="m1", file_id="f1")
    await transcribe(core, worker, message_id="m2", file_id="f2")
    await say(core, worker, "speaker 2 is Ama", thread=None, key="late")

    first, latest = (p.last for p in posted(platform, RecapReply))
    assert task_owner(latest, "invoices") == ("Ama", None)
    assert task_owner(first, "invoices") == (None, None)


@pytest.mark.anyio
async def test_without_voice_profiles_no_voice_is_kept(bot, engine) -> None:
    core, worker, _platform = bot
    await transcribe(core, worker)
    await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"})

    with Session(engine) as session:
        [record] = session.exec(select(TranscriptRecord)).all()
        assert record.speakers == {"Speaker 1": {"name": "kofi", "user_id": "U-Kofi"}}
        assert session.exec(select(VoiceProfile)).all() == []


@pytest.mark.anyio
async def test_voice_profiles_name_a_known_voice_and_forget_it(bot, engine) -> None:
    core, worker, platform = bot
    core.services.limits = replace(core.services.limits, voice_profiles=True)
    await transcribe(core, worker)
    await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"})
    with Session(engine) as session:
        [profile] = session.exec(select(VoiceProfile)).all()
        assert (profile.user_id, profile.name, profile.samples) == ("U-Kofi", "kofi", 1)
        assert profile.embedding == pytest.approx(KOFI_VOICE)

    # A later recording in the workspace: Kofi's voice is named at once, Ama's is not.
    await transcribe(core, worker, message_id="m2", file_id="f2")
    transcript = posted(platform, TranscriptReply)[1].reply
    assert [s.speaker for s in transcript.transcript.segments] == ["kofi", "Speaker 2"]
    recap = posted(platform, RecapReply)[1].reply
    assert task_owner(recap, "screenshots") == ("kofi", "U-Kofi")
    assert task_owner(recap, "invoices") == (None, None)

    # Naming it again (confirming) averages the voice in.
    await say(
        core, worker, "speaker 1 is @kofi", thread="m2", mentions={"@kofi": "U-Kofi"}, key="n2"
    )
    with Session(engine) as session:
        assert session.exec(select(VoiceProfile)).one().samples == 2

    outcome = await say(core, worker, "forget my voice", user="U-Kofi", key="f")
    assert outcome.reply == TextReply(text=feature.VOICE_FORGOTTEN)
    with Session(engine) as session:
        [refusal] = session.exec(select(VoiceProfile)).all()  # no voice, only "no"
        assert (refusal.user_id, refusal.samples, refusal.embedding) == ("U-Kofi", 0, [])
        for record in session.exec(select(TranscriptRecord)).all():
            assert all(
                "voice" not in entry or entry.get("user_id") != "U-Kofi"
                for entry in record.speakers.values()
            )
            assert "voice" in record.speakers["Speaker 2"]  # nobody's: kept for naming
    again = await say(core, worker, "forget my voice", user="U-Kofi", key="g")
    assert again.reply == TextReply(text=feature.NO_VOICE)

    # Named again in a new recording: the voice is not learnt again, nor named by itself.
    await transcribe(core, worker, message_id="m3", file_id="f1")
    assert [s.speaker for s in posted(platform, TranscriptReply)[-1].reply.transcript.segments] == [
        "Speaker 1",
        "Speaker 2",
    ]
    await say(
        core, worker, "speaker 1 is @kofi", thread="m3", mentions={"@kofi": "U-Kofi"}, key="n3"
    )
    with Session(engine) as session:
        assert [p.samples for p in session.exec(select(VoiceProfile))] == [0]
        latest = session.exec(select(TranscriptRecord).order_by(TranscriptRecord.id.desc())).first()
        assert latest is not None and "voice" not in latest.speakers["Speaker 1"]


@pytest.mark.anyio
async def test_forget_voices_is_for_managers_and_asks_first(bot, engine) -> None:
    core, worker, platform = bot
    core.services.limits = replace(core.services.limits, voice_profiles=True)
    await transcribe(core, worker)
    await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"})

    refused = await say(core, worker, "forget voices confirm", key="x")
    platform.managers["C1"] = {"U-Ann"}
    asked = await say(core, worker, "forget voices", key="y")
    done = await say(core, worker, "forget voices confirm", key="z")

    assert isinstance(refused.reply, ErrorReply)
    assert asked.reply == TextReply(text=feature.VOICES_CONFIRM)
    assert done.reply == TextReply(text=feature.VOICES_FORGOTTEN.format(count=1))
    with Session(engine) as session:
        assert session.exec(select(VoiceProfile)).all() == []
        [record] = session.exec(select(TranscriptRecord)).all()
        assert all("voice" not in entry for entry in record.speakers.values())


def test_parsing() -> None:
    from bot.commands import CommandError, parse_command

    now = NOW
    assert parse_command("speaker 1 is @kofi", now=now) == feature.NameSpeaker(
        label="Speaker 1", who="@kofi"
    )
    assert parse_command("Speaker 2 = @ama", now=now) == feature.NameSpeaker(
        label="Speaker 2", who="@ama"
    )
    assert parse_command("speaker 3: Kofi Mensah", now=now).who == "Kofi Mensah"
    assert parse_command("forget my voice", now=now) == feature.ForgetVoice()
    assert parse_command("forget", now=now).__class__.__name__ == "Forget"
    with pytest.raises(CommandError):
        parse_command("speaker kofi", now=now)


@pytest.mark.anyio
async def test_retention_sweep_forgets_voices(bot, engine) -> None:
    from datetime import timedelta

    from bot.scheduler import sweep

    core, worker, _platform = bot
    services = core.services
    services.limits = replace(services.limits, voice_profiles=True, retention_days=30)
    await transcribe(core, worker)
    await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"})
    [voices] = [s for s in services.sweepers if s.__qualname__.startswith("sweeper")]

    assert voices(NOW) == {"voice_profiles": 0}  # refreshed today: kept
    assert voices(NOW + timedelta(days=31)) == {"voice_profiles": 1}
    await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"}, key="n2")

    # VOICE_PROFILES turned off: the next hourly sweep deletes every voice.
    services.limits = replace(services.limits, voice_profiles=False)
    assert services.digests is not None
    assert sweep(services.digests)["voice_profiles"] == 1
    with Session(engine) as session:
        assert session.exec(select(VoiceProfile)).all() == []
        [record] = session.exec(select(TranscriptRecord)).all()
        assert all("voice" not in entry for entry in record.speakers.values())


@pytest.mark.anyio
async def test_export_says_whose_voice_is_kept_without_the_voice(bot, engine) -> None:
    from bot.export import export_text

    core, worker, _ = bot
    core.services.limits = replace(core.services.limits, voice_profiles=True)
    await transcribe(core, worker)
    await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"})

    text = export_text(engine, "voice-profiles", "csv")

    header, row, *rest = text.splitlines()
    assert header == "id,platform,workspace,user_id,name,samples,updated_at"
    # (the id is left out: PostgreSQL's sequences are not reset between tests)
    assert row.split(",", 1)[1].startswith("memory,T1,U-Kofi,kofi,1,") and rest == []
    assert str(KOFI_VOICE[0]) not in text


@pytest.mark.anyio
async def test_stored_items_follow_the_names_and_the_shared_message(bot, engine) -> None:
    from bot.storage.models import ActionItemRecord, RecapRecord

    core, worker, _ = bot
    await transcribe(core, worker)
    await say(core, worker, "speaker 1 is @kofi", mentions={"@kofi": "U-Kofi"})

    with Session(engine) as session:
        [recap] = session.exec(select(RecapRecord)).all()
        [transcript] = session.exec(select(TranscriptRecord)).all()
        assert recap.transcript_id == transcript.id
        items = {i.task: (i.owner_name, i.owner_id) for i in session.exec(select(ActionItemRecord))}
    assert next(o for t, o in items.items() if "screenshots" in t) == ("kofi", "U-Kofi")
    assert next(o for t, o in items.items() if "invoices" in t) == (None, None)

    # The message the recording was shared in is deleted: its transcript, recap and items
    # go (PostgreSQL would refuse to delete a transcript a recap still points at).
    await core.record_delete(place(), "m1")
    with Session(engine) as session:
        assert session.exec(select(TranscriptRecord)).all() == []
        assert session.exec(select(RecapRecord)).all() == []
        assert session.exec(select(ActionItemRecord)).all() == []


@pytest.mark.anyio
async def test_retention_deletes_a_transcript_older_than_its_recap(bot, engine) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bot.storage.models import RecapRecord

    core, worker, _ = bot
    await transcribe(core, worker)
    with Session(engine) as session:  # the transcript is a day older than its recap
        session.execute(
            update(TranscriptRecord).values(created_at=datetime.now(UTC) - timedelta(days=31))
        )
        session.commit()

    counts = core.services.repo.purge_expired(datetime.now(UTC), 30)

    assert counts["transcripts"] == 1 and counts["recaps"] == 0
    with Session(engine) as session:
        assert session.exec(select(RecapRecord)).one().transcript_id is None


@pytest.mark.anyio
async def test_a_corrected_name_moves_the_voice_to_the_right_profile(bot, engine) -> None:
    core, worker, _ = bot
    core.services.limits = replace(core.services.limits, voice_profiles=True)
    await transcribe(core, worker)
    kofi, ama = {"@kofi": "U-Kofi"}, {"@ama": "U-Ama"}
    await say(core, worker, "speaker 2 is @kofi", mentions=kofi, key="wrong")
    await say(core, worker, "speaker 2 is @kofi", mentions=kofi, key="again")  # no double count
    with Session(engine) as session:
        assert [(p.user_id, p.samples) for p in session.exec(select(VoiceProfile))] == [
            ("U-Kofi", 1)
        ]

    await say(core, worker, "speaker 2 is @ama", mentions=ama, key="right")

    with Session(engine) as session:
        [profile] = session.exec(select(VoiceProfile)).all()
        assert (profile.user_id, profile.samples) == ("U-Ama", 1)
        assert profile.embedding == pytest.approx(AMA_VOICE)


def test_taking_a_sample_out_undoes_adding_it() -> None:
    from summarizer.naming import running_mean, without_sample

    two = running_mean([0.6, 0.8, 0.0], 1, [0.0, 0.6, 0.8])
    three = running_mean(two, 2, [1.0, 0.0, 0.0])

    assert without_sample(three, 3, [1.0, 0.0, 0.0]) == pytest.approx(two)
