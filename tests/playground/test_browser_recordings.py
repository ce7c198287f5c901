"""In headless Chromium: a recording uploaded to a channel shows up in `/recap 24h`,
cited at its moment (`t=0:00`), and the citation leads back to the upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.speech import synthesize


@pytest.mark.slow
def test_a_channel_recap_cites_the_moment_of_an_uploaded_recording(
    page: Any, tmp_path: Path
) -> None:
    recording = synthesize(
        "I will update the screenshots for the store by Wednesday.",
        tmp_path / "sync.ogg",
        "ogg",
    )
    page.locator("#messages .msg").first.wait_for()
    page.set_input_files("#composer input[type=file]", str(recording))
    page.locator("#composer .attachment", has_text="sync.ogg").wait_for()
    page.fill("#composer textarea", "Notes from the design sync")
    page.click("#composer .send")
    page.locator("#thread .card.recap").wait_for()  # transcribed, in the upload's thread

    box = page.locator("#composer textarea")
    box.fill("/recap 24h")
    box.press("Enter")
    card = page.locator("#messages .card.recap", has_text="Recap of")
    card.wait_for()
    item = card.locator("ul.actions li", has_text="screenshots for the store")
    assert "due" in item.inner_text()
    source = item.locator("a.source")
    assert source.inner_text().startswith("t=0:0")
    page.screenshot(path=str(tmp_path / "channel-recap.png"))
    source.click()
    page.locator("#messages .msg.flash", has_text="Notes from the design sync").wait_for()
