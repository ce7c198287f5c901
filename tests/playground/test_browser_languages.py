"""In Chromium: `@balafon language fr` in a channel is answered in the page (in its
thread), and a French recording posted there afterwards is refused in its thread, saying the
language is set to French and the model here reads English only (the bundled tiny.en)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.playground.test_browser import say
from tests.speech import ESPEAK, require_espeak

FRENCH = "Nous allons publier la nouvelle version vendredi après la dernière relecture."


def test_a_channels_language_is_set_in_the_page_and_used_for_its_recordings(
    page: Any, tmp_path: Path
) -> None:
    page.locator("#messages .msg").first.wait_for()
    say(page, "ann", "@balafon language fr")
    answer = page.locator("#thread .msg", has_text="Recordings here will be transcribed as")
    answer.wait_for()
    assert "transcribed as French" in answer.inner_text()
    assert "WHISPER_MODEL=multilingual" in answer.inner_text()  # tiny.en reads English only
    page.screenshot(path=str(tmp_path / "language-set.png"))

    require_espeak()
    recording = tmp_path / "reunion.wav"
    voice = [ESPEAK, "-v", "fr-fr", "-w", str(recording), FRENCH]
    subprocess.run(voice, check=True, capture_output=True)
    page.set_input_files("#composer input[type=file]", str(recording))
    page.locator("#composer .attachment", has_text="reunion.wav").wait_for()
    page.click("#composer .send")
    error = page.locator("#thread .notice.error")
    error.wait_for()
    assert "couldn't transcribe “reunion.wav”: the language is set to French" in error.inner_text()
    assert page.locator("#thread .card.transcript").count() == 0
    page.screenshot(path=str(tmp_path / "language-refused.png"))
