"""In Chromium: picking a person in a transcript's speaker menu names that speaker, and
the recap card's action item gets them as its owner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.features.media import MediaRunner
from tests.playground.conftest import Stack
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
