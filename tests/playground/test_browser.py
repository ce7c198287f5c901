"""The playground end to end in headless Chromium: what a newcomer does in the first minute.

Each test leaves screenshots in its temporary folder (`pytest --basetemp=DIR` keeps them
somewhere known).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.features.digests.schedule import next_slot
from bot.features.digests.service import schedule_of
from tests.playground.conftest import Stack
from tests.speech import synthesize


def say(page: Any, user: str, text: str) -> None:
    """Be `user` and send `text` from the channel's composer; wait until it is shown."""
    if page.input_value("#me") != user:
        page.select_option("#me", user)
    box = page.locator("#composer textarea")
    box.fill(text)
    box.press("Enter")
    page.locator("#messages .msg .text", has_text=text).last.wait_for()


def record_arrivals(page: Any) -> None:
    """Note when progress, transcript and recap first appear in the thread pane."""
    page.evaluate(
        """() => {
        window.arrivals = {};
        const kinds = {progress: ".progress", transcript: ".card.transcript",
                       recap: ".card.recap", error: ".notice.error"};
        new MutationObserver(() => {
          for (const [kind, selector] of Object.entries(kinds)) {
            if (!(kind in window.arrivals) && document.querySelector("#thread " + selector)) {
              window.arrivals[kind] = performance.now();
            }
          }
        }).observe(document.getElementById("thread"), {subtree: true, childList: true});
    }"""
    )


def test_two_people_chat_then_the_recap_card_lists_their_action_items(
    page: Any, tmp_path: Path
) -> None:
    page.locator("#messages .msg.bot", has_text="Welcome").wait_for()
    # The token URL let the browser in: the address lost the token, scripts cannot read
    # the cookie.
    assert "token=" not in page.url and page.evaluate("document.cookie") == ""
    page.screenshot(path=str(tmp_path / "welcome.png"))
    say(page, "ann", "The release candidate is ready, but the changelog is still missing.")
    say(page, "bob", "I will update the changelog by Thursday.")
    say(page, "ann", "We agreed to ship version 2.4 on Friday.")
    say(page, "ann", "I'll send the release notes to the support team tomorrow.")
    say(page, "bob", "@balafon recap")

    # The answer goes in the command's thread, which opens: the recap card, for everyone;
    # the private "working on a recap" (if the page saw it at all) is gone by then.
    thread = page.locator("#thread")
    card = thread.locator(".card.recap")
    card.wait_for()
    page.wait_for_function("() => !document.querySelector('#thread .msg.ephemeral')")
    items = card.locator("ul.actions li").all_inner_texts()
    assert len(items) == 2, items
    assert "Update the changelog" in items[0] and "@Bob" in items[0] and "due" in items[0]
    assert "Send the release notes to the support team" in items[1] and "@Ann" in items[1]
    assert "We agreed to ship version 2.4 on Friday" in card.locator("h4 + ul").first.inner_text()
    assert page.locator("#messages .replies").last.inner_text() == "1 reply"  # acks aside
    page.screenshot(path=str(tmp_path / "recap.png"))

    # Ann sees the card but not Bob's private acknowledgement.
    page.select_option("#me", "ann")
    page.locator("#composer .who", has_text="Ann").wait_for()
    thread.locator(".card.recap").wait_for()
    page.wait_for_function("document.querySelectorAll('#thread .msg.ephemeral').length === 0")

    # A source link leads back to the message it came from.
    card.locator("ul.actions li").first.locator("a.source").click()
    page.locator("#messages .msg.flash", has_text="I will update the changelog").wait_for()


@pytest.mark.slow
def test_uploaded_recording_shows_progress_then_transcript_and_recap(
    page: Any, tmp_path: Path
) -> None:
    recording = synthesize(
        "Good morning. We agreed to ship version two on Thursday. "
        "Action item: send the release notes to the support team tomorrow.",
        tmp_path / "standup.ogg",
        "ogg",
    )
    page.locator("#messages .msg").first.wait_for()
    page.set_input_files("#composer input[type=file]", str(recording))
    page.locator("#composer .attachment", has_text="standup.ogg").wait_for()
    page.screenshot(path=str(tmp_path / "attached.png"))
    record_arrivals(page)
    page.fill("#composer textarea", "Here is the stand-up call")
    page.click("#composer .send")

    thread = page.locator("#thread")
    thread.locator(".card.recap").wait_for()
    thread.locator(".progress.done", has_text="Transcribed “standup.ogg”").wait_for()
    arrivals = page.evaluate("window.arrivals")
    assert arrivals["progress"] <= arrivals["transcript"] <= arrivals["recap"], arrivals
    assert "Downloading" not in thread.inner_text()  # the file is already here
    header = thread.locator(".card.transcript summary")
    assert header.inner_text().startswith("Transcript 0:")  # one header, with the length
    assert thread.locator(".card.transcript h3").count() == 1
    transcript = thread.locator(".card.transcript").inner_text().lower()
    assert "ship version" in transcript and "support team" in transcript
    recap = thread.locator(".card.recap").inner_text().lower()
    assert "support team" in thread.locator(".card.recap ul.actions").inner_text().lower()
    assert "decisions" in recap
    assert page.locator("#messages audio").count() == 1  # the recording plays in the page
    page.screenshot(path=str(tmp_path / "transcribed.png"))


def test_bad_uploads_get_clear_errors(page: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + bytes(range(256)) * 40)
    page.locator("#messages .msg").first.wait_for()
    page.set_input_files("#composer input[type=file]", str(broken))
    page.click("#composer .send")
    error = page.locator("#thread .notice.error")
    error.wait_for()
    assert "couldn't transcribe “broken.mp3”" in error.inner_text()
    assert "damaged" in error.inner_text()
    page.screenshot(path=str(tmp_path / "corrupt.png"))

    huge = tmp_path / "huge.wav"  # over the test server's 5 MB limit: refused before sending
    huge.write_bytes(b"\0" * (6 * 2**20))
    page.set_input_files("#composer input[type=file]", str(huge))
    page.click("#composer .send")
    refused = page.locator("#composer .error")
    refused.wait_for()
    assert refused.inner_text() == "“huge.wav” is 6.0 MB; the limit is 5.0 MB."
    page.screenshot(path=str(tmp_path / "too-large.png"))


def test_a_digest_subscription_posts_its_digest_in_the_channel(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    say(page, "ann", "I'll draft the budget by Friday.")
    say(page, "bob", "/recap digest daily 09:00")  # in the browser's zone: Europe/Paris
    confirmation = page.locator("#messages .msg.ephemeral", has_text="Subscribed")
    confirmation.wait_for()
    assert "every day at 09:00 (Europe/Paris)" in confirmation.inner_text()

    # The scheduler fires the subscription at its next slot; the digest appears live.
    [subscription] = stack.digests.active_subscriptions()
    slot = next_slot(schedule_of(subscription), datetime.now(UTC))
    stack.digests.fire(subscription.id, now=slot)
    card = page.locator("#messages .card.recap", has_text="Digest of #general")
    card.wait_for()
    assert "Draft the budget" in card.locator("ul.actions").inner_text()
    page.screenshot(path=str(tmp_path / "digest.png"))
