"""`balafon transcribe` / `balafon recap` on real recordings (espeak-ng speech, bundled model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import run
from bot.main import Settings
from tests.speech import synthesize, synthesize_dialogue

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def standup(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    return synthesize(
        "We agreed to move the launch to March. I will update the pricing page by Friday.",
        folder / "standup.wav",  # lossless: mp3 encoders differ between PyAV releases
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=str(tmp_path / "data"))


def test_transcribe_formats(standup, settings, capsys) -> None:
    assert run(["transcribe", str(standup)], settings=settings) == 0
    txt = capsys.readouterr().out
    assert "launch" in txt.lower() and "[" not in txt and "-->" not in txt  # plain text
    assert run(["transcribe", str(standup), "--timestamps"], settings=settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("[0:") for line in lines)
    assert run(["transcribe", str(standup), "--format", "vtt"], settings=settings) == 0
    vtt = capsys.readouterr().out
    assert vtt.startswith("WEBVTT") and "-->" in vtt and "launch" in vtt.lower()
    assert run(["transcribe", str(standup), "--format", "json"], settings=settings) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["language"] == "en" and data["segments"][0]["words"]


def test_recap_of_a_recording(standup, settings, capsys) -> None:
    assert run(["recap", str(standup), "--format", "json"], settings=settings) == 0
    recap = json.loads(capsys.readouterr().out)
    assert any("launch" in d["text"].lower() for d in recap["decisions"])
    [item] = recap["action_items"]
    assert "pricing page" in item["task"].lower() and item["owner"] is None
    assert item["ref"].startswith("t=0:")
    assert item["due"] is None  # "by Friday" needs to know when it was said


def test_recorded_at_resolves_relative_due_dates(standup, settings, capsys) -> None:
    args = ["recap", str(standup), "--format", "json", "--recorded-at", "2026-11-23T10:00"]
    assert run(args, settings=settings) == 0
    [item] = json.loads(capsys.readouterr().out)["action_items"]
    assert item["due"] == "2026-11-27"


def test_a_recordings_creation_time_tag_dates_it(settings, tmp_path, capsys) -> None:
    from tests.test_recordings import tag_creation_time

    said = synthesize("I will update the pricing page by Friday.", tmp_path / "a.m4a", "m4a")
    tagged = tag_creation_time(said, tmp_path / "tagged.m4a", "2026-11-23T10:00:00Z")
    assert run(["recap", str(tagged), "--format", "json"], settings=settings) == 0
    [item] = json.loads(capsys.readouterr().out)["action_items"]
    assert item["due"] == "2026-11-27"  # the Friday after the tag (a Monday)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.mp3", b"ID3\x03\x00\x00\x00" + b"\x17garbage" * 400, "can't"),
        ("silence.wav", None, "silent"),
    ],
)
def test_unusable_recordings_exit_2(settings, tmp_path, capsys, name, content, message) -> None:
    path = tmp_path / name
    if content is None:
        import wave

        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(b"\x00\x00" * 16000 * 2)
    else:
        path.write_bytes(content)
    assert run(["recap", str(path)], settings=settings) == 2
    [line] = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith("balafon: error: ") and message in line.lower()


def test_a_cut_off_ogg_says_how_much_could_be_read(settings, tmp_path, capsys) -> None:
    """A voice note truncated at half its bytes decodes without an error (FFmpeg drops
    the torn page): the transcript and the recap say that only a part could be read."""
    whole = synthesize(
        "We agreed to move the launch to March. I will update the pricing page by Friday. "
        "The design review is on Tuesday and the budget stays the same for the quarter.",
        tmp_path / "whole.ogg",
        "ogg",
    )
    cut = tmp_path / "voice.ogg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    assert run(["transcribe", str(whole)], settings=settings) == 0
    assert "warning" not in capsys.readouterr().err
    assert run(["transcribe", str(cut)], settings=settings) == 0
    out, err = capsys.readouterr()
    assert out.strip()  # what could be read is transcribed
    warning = re.search(
        rf"balafon: warning: {re.escape(str(cut))}: only the first 0:(\d\d) could be read; "
        "the rest of the file is missing or damaged.",
        err,
    )
    assert warning, err
    whole_seconds = json.loads(_transcript_json(whole, settings, capsys))["duration"]
    assert 0 < int(warning.group(1)) < whole_seconds * 0.75

    assert run(["recap", str(cut)], settings=settings) == 0
    markdown = capsys.readouterr().out
    assert "> Only the first 0:" in markdown and "missing or damaged." in markdown
    assert run(["recap", str(cut), "--format", "json"], settings=settings) == 0
    [note, *_] = json.loads(capsys.readouterr().out)["notes"]  # first: what it is a recap of
    assert note.startswith("Only the first 0:")


def _transcript_json(path: Path, settings: Settings, capsys) -> str:
    assert run(["transcribe", str(path), "--format", "json"], settings=settings) == 0
    return capsys.readouterr().out


def test_oversized_recording_is_refused(standup, tmp_path, capsys) -> None:
    tiny = Settings(_env_file=None, data_dir=str(tmp_path), max_media_mb=1)
    big = tmp_path / "big.mp3"
    big.write_bytes(standup.read_bytes() * (2 * 1024 * 1024 // standup.stat().st_size + 1))
    assert run(["transcribe", str(big)], settings=tiny) == 2
    assert "limit" in capsys.readouterr().err.lower()


def test_transcribe_labels_speakers_unless_turned_off(tmp_path: Path, settings, capsys) -> None:
    turns = [(0, "Is the demo ready for Monday?"), (1, "Yes, the slides are finished.")]
    call, _ = synthesize_dialogue(turns, tmp_path / "call.wav")
    args = ["transcribe", str(call), "--speakers", "2", "--format", "srt"]
    assert run(args, settings=settings) == 0
    srt = capsys.readouterr().out
    assert "speaker 1: is the demo" in srt.lower() and "Speaker 2: Yes" in srt
    off = Settings(_env_file=None, data_dir=str(tmp_path / "data"), diarization="off")
    assert run(["transcribe", str(call)], settings=off) == 0
    assert "Speaker" not in capsys.readouterr().out
