"""Recordings that are not plain English speech, shared in Slack, end to end with real
espeak-ng speech: French given to the English-only model is answered in the thread with how
to switch (no transcript), `@balafon language fr` says the multilingual model is needed,
and long silence or noise between two sentences is skipped with a note."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import sentences
from bot.storage.models import TranscriptRecord
from summarizer import multilingual
from tests.slack.conftest import ANN, GENERAL, Harness, post_text
from tests.speech import ESPEAK, encode, read_wav, require_espeak, synthesize, write_wav

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FRENCH = (
    "Nous allons publier la nouvelle version vendredi après la dernière relecture. "
    "Peux-tu m'envoyer les chiffres du budget avant la réunion de demain ?"
)


async def _share(slack: Harness, name: str, data: bytes, kind: str) -> dict[str, Any]:
    return await slack.share_file(slack.fake.add_file(name, data, kind))


def _said(slack: Harness, thread_ts: str) -> list[str]:
    """What the bot said in a thread: its posts, then its edits of them (progress)."""
    posts = [post_text(r) for r in slack.thread_replies(GENERAL, thread_ts)]
    return posts + [c.args.get("text", "") for c in slack.fake.called("chat.update")]


def _records(slack: Harness) -> list[TranscriptRecord]:
    from sqlmodel import Session, select

    with Session(slack.core.services.repo.engine) as session:
        return list(session.exec(select(TranscriptRecord)).all())


async def test_french_for_the_english_model_is_refused_in_the_thread_with_how_to_switch(
    slack: Harness, tmp_path: Path
) -> None:
    require_espeak()
    wav = tmp_path / "reunion.wav"
    subprocess.run([ESPEAK, "-v", "fr-fr", "-w", str(wav), FRENCH], check=True, timeout=60)
    audio = encode(wav, tmp_path / "reunion.m4a", "m4a")
    message = await _share(slack, "reunion.m4a", audio.read_bytes(), "audio/mp4")
    await slack.settle()

    # One message in the thread, its progress ending in the answer; no transcript, no recap.
    assert len(slack.thread_replies(GENERAL, message["ts"])) == 1
    [bot_message] = slack.fake.bot_messages(GENERAL)
    assert bot_message["thread_ts"] == message["ts"]
    said = bot_message["text"]
    assert said.startswith(":warning: I couldn't transcribe “reunion.m4a”"), said
    assert "understands English only" in said and "WHISPER_MODEL=multilingual" in said
    assert "@balafon language" in said  # how to fix the channel's language afterwards
    if multilingual.available():  # its language identification names what it heard
        assert "sounds like French" in said and "@balafon language fr" in said
    assert _records(slack) == []

    posted = len(slack.fake.posts(GENERAL))
    await slack.mention(GENERAL, ANN, "language fr")
    await slack.settle()
    answer = " ".join(post_text(p) for p in slack.fake.posts(GENERAL)[posted:])
    assert sentences.LANGUAGE_SET.format(name="French") in answer, answer
    assert "understands English only" in answer and "WHISPER_MODEL=multilingual" in answer


FIRST = "We will ship the new release on Friday."
SECOND = "I will update the pricing page by Monday."


def _pink(rng: np.random.Generator, size: int, rate: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(size))
    spectrum[1:] /= np.sqrt(np.fft.rfftfreq(size, 1 / rate)[1:])
    spectrum[0] = 0
    pink = np.fft.irfft(spectrum, size)
    return 0.15 * pink / np.abs(pink).max()


@pytest.mark.parametrize("gap", ["silence", "noise"])
async def test_a_long_gap_between_sentences_is_skipped_and_noted(
    slack: Harness, tmp_path: Path, gap: str
) -> None:
    first, rate = read_wav(synthesize(FIRST, tmp_path / "a.wav"))
    second, _ = read_wav(synthesize(SECOND, tmp_path / "b.wav"))
    size = 22 * rate
    rng = np.random.default_rng(3)
    if gap == "silence":
        between = np.zeros(size, dtype=np.int16)
    else:  # white and pink noise together, at about a third of full scale at its peaks
        noise = rng.standard_normal(size) * 0.05 + _pink(rng, size, rate)
        between = (noise * 32767).astype(np.int16)
    wav = write_wav(tmp_path / "gap.wav", np.concatenate([first, between, second]), rate)
    audio = encode(wav, tmp_path / "gap.m4a", "m4a")
    message = await _share(slack, "gap.m4a", audio.read_bytes(), "audio/mp4")
    await slack.settle()

    thread = slack.thread_replies(GENERAL, message["ts"])
    replies = _said(slack, message["ts"])
    transcript = next(r for r in thread if "Transcript (" in post_text(r))
    lines = "\n".join(b["text"]["text"] for b in transcript["blocks"] if "text" in b)
    spoken = re.findall(r"^\[\d+:\d\d\] (?:Speaker \d+: )?(.*)$", lines, re.MULTILINE)
    words = re.findall(r"[a-z']+", " ".join(spoken).lower())
    said = set(re.findall(r"[a-z']+", f"{FIRST} {SECOND}".lower()))
    assert "friday" in words and "pricing" in words, lines
    misheard = [w for w in words if w not in said]
    assert len(misheard) <= 2 and len(words) <= 20, words
    kind = "of silence" if gap == "silence" else "of music or noise"
    note = next(b for b in transcript["blocks"] if b["type"] == "context")  # under the text
    assert re.fullmatch(rf"Skipped 0:2\d {kind}\.", note["elements"][0]["text"]), note
    assert any(f"{kind}." in r for r in replies if "Recap of" in r)  # and on the recap
