"""In Chromium: a recording of two voices comes back with its lines labelled "Speaker 1"
and "Speaker 2"; picking a person in a transcript's speaker menu names that speaker, and
the recap card's action item gets them as its owner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.features.media import MediaRunner
from tests.playground.conftest import Stack
from tests.speech import synthesize_dialogue
from tests.voices import TwoVoices


def test_picking_a_speaker_makes_them_the_owner(page: Any, stack: Stack, tmp_path: Path) -> None:
    stack.core.services.media = MediaRunner(TwoVoices, workers=1)
    recording = tmp_path / "standup.ogg"
    recording.write_bytes(b"OggS" + b"\0" * 1000)
    page.locator("#messages .msg").first.wait_for()
    page.set_input_files("#composer input[type=file]", str(recording))
    page.locator("#composer .attachment", has_text="standup.ogg").wait_for()
    page.click("#composer .send")
    thread = page.locator("#thread")
    thread.locator(".card.recap").wait_for()
    item = thread.locator(".card.recap li", has_text="screenshots").last
    assert "no owner" in item.inner_text()

    thread.locator('.card.transcript select[data-speaker="1"]').select_option("bob")

    thread.locator(".card.recap li", has_text="@Bob").wait_for()
    assert "@Bob" in thread.locator(".card.recap li", has_text="screenshots").last.inner_text()
    thread.locator(".msg", has_text="Speaker 1 of “standup.ogg” is Bob").wait_for()
    picker = thread.locator('.card.transcript select[data-speaker="1"]')
    assert picker.input_value() == "bob"  # the menu shows who it is now
    page.screenshot(path=str(tmp_path / "named.png"))


@pytest.mark.slow
def test_a_recording_of_two_voices_shows_who_said_each_line(page: Any, tmp_path: Path) -> None:
    """Real speech through the real pipeline: diarization labels the transcript card's
    lines, and each label gets its menu."""
    turns = [
        (0, "The budget for the new office is approved."),
        (2, "Good, then I will order the desks next week."),
        (0, "Please send me the invoice when it arrives."),
    ]
    recording, _ = synthesize_dialogue(turns, tmp_path / "office.ogg", "ogg")
    page.locator("#messages .msg").first.wait_for()
    page.set_input_files("#composer input[type=file]", str(recording))
    page.locator("#composer .attachment", has_text="office.ogg").wait_for()
    page.click("#composer .send")
    card = page.locator("#thread .card.transcript")
    card.wait_for()
    lines = card.locator(".segments li").evaluate_all(
        "items => items.map(li => [li.querySelector('.speaker')?.textContent ?? '',"
        " li.lastChild.textContent])"
    )
    said: list[tuple[str, str]] = []  # consecutive lines of one speaker joined
    for who, text in lines:
        label = who.rstrip(":")
        if said and said[-1][0] == label:
            said[-1] = (label, f"{said[-1][1]} {text.lower()}")
        else:
            said.append((label, text.lower()))
    assert [label for label, _ in said] == ["Speaker 1", "Speaker 2", "Speaker 1"], lines
    assert "budget" in said[0][1] and "order" in said[1][1] and "invoice" in said[2][1]
    menus = card.locator(".speakers label").all_inner_texts()
    assert [m.split()[:2] for m in menus] == [["Speaker", "1"], ["Speaker", "2"]]
    page.screenshot(path=str(tmp_path / "two-voices.png"))
