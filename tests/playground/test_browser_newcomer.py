"""The playground in headless Chromium, as a newcomer meets it (issue #12): uploads with
progress, acks that go away, plain action items, failed uploads without a dead player,
and the narrow layout (390x844) where everything stays in reach.

Screenshots go to each test's temporary folder (`pytest --basetemp=DIR` keeps them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.playground.conftest import ACCESS_TOKEN, Server
from tests.playground.test_browser import say

WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}


def open_page(browser: Any, server: Server, viewport: dict[str, int]) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/Paris")
    context.set_default_timeout(30_000)  # the machine is shared: be patient, assert states
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/?token={ACCESS_TOKEN}")
    page.locator("#messages .msg.bot", has_text="Welcome").wait_for()
    return page, errors


@pytest.fixture
def narrow(browser: Any, server: Server) -> Iterator[Any]:
    page, errors = open_page(browser, server, NARROW)
    yield page
    page.context.close()
    assert not errors, errors


@pytest.fixture
def wide(browser: Any, server: Server) -> Iterator[Any]:
    page, errors = open_page(browser, server, WIDE)
    yield page
    page.context.close()
    assert not errors, errors


def messages_with(page: Any, text: str) -> int:
    return page.locator("#messages .msg", has_text=text).count()


def test_an_upload_shows_its_progress_can_be_cancelled_and_is_sent_once(
    wide: Any, tmp_path: Path
) -> None:
    page = wide
    notes = tmp_path / "notes.bin"  # not media: nothing to transcribe, only the transfer
    notes.write_bytes(bytes(range(256)) * 6000)  # 1.5 MB
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    slow = {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 150_000}
    cdp.send("Network.emulateNetworkConditions", slow)  # about 10 s for the file

    # Cancel: nothing is shared, the attachment stays for another try.
    page.set_input_files("#composer input[type=file]", str(notes))
    page.locator("#composer .attachment", has_text="notes.bin · 1.5 MB").wait_for()
    page.locator("#composer textarea").press("Enter")
    sending = page.locator("#composer .sending")
    sending.wait_for()
    page.wait_for_function(
        "() => Number(document.querySelector('#composer .sending progress').value) > 0"
    )
    assert "Sending “notes.bin”…" in sending.inner_text()
    assert page.locator("#composer .sending .percent").inner_text().endswith("%")
    assert page.locator("#composer .send").is_disabled()
    page.screenshot(path=str(tmp_path / "uploading-1280.png"))
    sending.locator(".cancel").click()
    sending.wait_for(state="hidden")
    assert page.locator("#composer .send").is_enabled()
    assert page.locator("#composer .error").is_hidden()
    page.locator("#composer .attachment", has_text="notes.bin").wait_for()

    # Enter again and again while it is on its way: one message, one file.
    page.locator("#composer textarea").press("Enter")
    sending.wait_for()
    for _ in range(3):
        page.locator("#composer textarea").press("Enter")
        page.locator("#composer .send").click(force=True)
    cdp.send("Network.emulateNetworkConditions", {**slow, "uploadThroughput": -1})
    page.locator("#messages .msg .file", has_text="notes.bin").wait_for()
    sending.wait_for(state="hidden")
    page.wait_for_timeout(1500)  # a second share would have arrived by now
    assert page.locator("#messages .file", has_text="notes.bin").count() == 1
    assert page.locator("#composer .attachment").is_hidden()


def test_the_recap_ack_goes_when_the_recap_arrives_and_items_are_real_checkboxes(
    wide: Any, tmp_path: Path
) -> None:
    page = wide
    say(page, "ann", "The release candidate is ready.")
    say(page, "bob", "I will update the changelog by Thursday.")
    say(page, "bob", "@balafon recap")
    thread = page.locator("#thread")
    card = thread.locator(".card.recap")
    card.wait_for()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('#thread .msg.ephemeral')]"
        ".some((m) => m.textContent.includes('Working on a recap'))"
    )
    item = card.locator("ul.actions li").first
    looks = item.evaluate(
        """(li) => {
        const box = li.querySelector("input[type=checkbox]");
        return {checkbox: box !== null, checked: box?.checked, disabled: box?.disabled,
                marker: getComputedStyle(li).listStyleType,
                square: getComputedStyle(li, "::before").borderTopWidth};
    }"""
    )
    # A real checkbox (it marks the item done), not a drawn square that does nothing.
    assert looks == {
        "checkbox": True,
        "checked": False,
        "disabled": False,
        "marker": "none",
        "square": "0px",
    }, looks
    page.screenshot(path=str(tmp_path / "recap-1280.png"))


def test_failed_and_empty_uploads_show_the_error_without_a_player(
    wide: Any, server: Server, tmp_path: Path
) -> None:
    page = wide
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 416 else None)
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + bytes(range(256)) * 40)
    page.set_input_files("#composer input[type=file]", str(broken))
    page.click("#composer .send")
    page.locator("#thread .notice.error", has_text="broken.mp3").wait_for()
    shared = page.locator("#messages .file", has_text="broken.mp3")
    page.wait_for_function("() => document.querySelectorAll('#messages audio').length === 0")
    assert shared.locator("figcaption").inner_text().startswith("broken.mp3")

    empty = tmp_path / "silence.mp3"
    empty.write_bytes(b"")
    page.set_input_files("#composer input[type=file]", str(empty))
    page.locator("#composer .attachment", has_text="silence.mp3 · empty").wait_for()
    page.click("#composer .send")
    page.locator("#thread .notice.error", has_text="silence.mp3").wait_for()
    caption = page.locator("#messages .file", has_text="silence.mp3").inner_text()
    assert caption == "silence.mp3 · empty"
    assert page.locator("#messages audio, #messages video").count() == 0
    page.wait_for_timeout(500)
    assert refused == []  # no player asked for bytes of an empty file
    page.screenshot(path=str(tmp_path / "failed-uploads-1280.png"))


def test_on_a_phone_everything_is_in_reach(narrow: Any, tmp_path: Path) -> None:
    page = narrow
    people = page.locator("#people")
    assert people.is_hidden() and page.locator("#add-person input").is_hidden()
    page.screenshot(path=str(tmp_path / "phone-390.png"))
    menu = page.locator("#menu")
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    people.locator("li", has_text="Ann").wait_for()
    for visible in ("#add-person input", "#add-channel input", ".tips button >> nth=0"):
        assert page.locator(visible).is_visible(), visible
    page.screenshot(path=str(tmp_path / "phone-menu-390.png"))
    page.locator(".tips button", has_text="@balafon help").click()
    assert page.locator("#sidebar").evaluate("(s) => !s.classList.contains('open')")
    assert page.input_value("#composer textarea") == "@balafon help "

    # An upload's progress and its cancel button fit the phone's composer.
    notes = tmp_path / "a-recording-with-a-rather-long-name.bin"
    notes.write_bytes(bytes(range(256)) * 4000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    slow = {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 100_000}
    cdp.send("Network.emulateNetworkConditions", slow)
    page.fill("#composer textarea", "")
    page.set_input_files("#composer input[type=file]", str(notes))
    page.locator("#composer .send").click()
    cancel = page.locator("#composer .sending .cancel")
    cancel.wait_for()
    page.screenshot(path=str(tmp_path / "phone-uploading-390.png"))
    assert cancel.bounding_box()["x"] + cancel.bounding_box()["width"] <= NARROW["width"]
    cancel.click()
    page.locator("#composer .sending").wait_for(state="hidden")
    page.locator("#composer .remove").click()
    cdp.send("Network.emulateNetworkConditions", {**slow, "uploadThroughput": -1})

    # A new person from the menu, who then talks.
    menu.click()
    page.fill("#add-person input", "Dee")
    page.press("#add-person input", "Enter")
    page.locator("#composer .who", has_text="Dee").wait_for()
    assert page.locator("#sidebar").evaluate("(s) => !s.classList.contains('open')")
    say(page, "dee", "Where do we stand on the launch plan?")

    # A long thread: the message replied to stays in view, the composer says who posts.
    page.locator("#messages .msg", has_text="launch plan").last.hover()
    page.locator("#messages .msg", has_text="launch plan").last.locator(
        "button", has_text="Reply"
    ).click()
    box = page.locator("#thread-composer textarea")
    box.wait_for()
    assert page.locator("#thread-composer .hint").inner_text().startswith("Replying as Dee")
    for n in range(12):
        box.fill(f"Reply number {n} about the launch plan, with a few more words.")
        box.press("Enter")
        page.locator("#thread-messages .msg", has_text=f"Reply number {n} ").wait_for()
    page.locator("#thread-messages").evaluate("(list) => { list.scrollTop = list.scrollHeight; }")
    root = page.locator("#thread-messages .msg").first
    pane = page.locator("#thread-messages").bounding_box()
    shown = root.bounding_box()
    assert "Where do we stand" in root.inner_text()
    assert pane["y"] - 1 <= shown["y"] < pane["y"] + pane["height"] / 2, (pane, shown)
    assert page.locator("#menu").is_visible()  # the thread leaves the strip in reach
    page.screenshot(path=str(tmp_path / "phone-thread-390.png"))

    # A Try button types into the box you were in: the thread's.
    box.focus()
    menu.click()
    page.locator(".tips button", has_text="@balafon recap").click()
    assert page.input_value("#thread-composer textarea") == "@balafon recap "
    assert page.input_value("#composer textarea") == ""  # not the channel's box


def test_wide_screen_after_the_changes(wide: Any, tmp_path: Path) -> None:
    """Nothing of the phone's menu shows on a wide screen; the thread composer says who."""
    page = wide
    assert page.locator("#menu").is_hidden()
    assert page.locator("#people").is_visible() and page.locator(".tips").is_visible()
    say(page, "ann", "Short question about the budget.")
    msg = page.locator("#messages .msg", has_text="budget").last
    msg.hover()
    msg.locator("button", has_text="Reply").click()
    page.locator("#thread-composer .hint", has_text="Replying as Ann").wait_for()
    page.locator("#thread-composer textarea").focus()
    page.locator(".tips button", has_text="/recap 7d").click()
    assert page.input_value("#thread-composer textarea") == "/recap 7d "
    page.screenshot(path=str(tmp_path / "thread-1280.png"))
