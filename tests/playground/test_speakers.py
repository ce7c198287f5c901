"""Naming a recording's speakers in the playground: the transcript card has a picker per
speaker, and `@balafon speaker 1 is @bob` in its thread (what a pick sends) updates the
transcript and recap cards, with Bob as the owner of what he said he'd do."""

from __future__ import annotations

import re

import pytest

from bot.features.media import MediaRunner
from tests.playground.conftest import WRITE, Stack
from tests.playground.test_playground import client, say, view  # noqa: F401 (fixture)
from tests.voices import TwoVoices

pytestmark = pytest.mark.anyio


def _card(listing: list[dict], kind: str) -> dict:
    return next(m for m in listing if f"card {kind}" in m["html"])


def _item(html: str, word: str) -> str:
    items = re.findall(r"<li[^>]*>.*?</li>", html, re.S)
    return next(li for li in items if word in li and 'class="owner' in li)  # an action item


async def test_a_speaker_named_in_the_thread_owns_their_items(stack: Stack, client) -> None:  # noqa: F811
    stack.core.services.media = MediaRunner(TwoVoices, workers=1)
    shared = await client.post(
        "/playground/api/uploads",
        data={"channel": "general", "user": "ann", "text": "standup"},
        files={"file": ("standup.ogg", b"OggS" + b"\0" * 1000, "audio/ogg")},
        headers=WRITE,
    )
    root = shared.json()["message"]["id"]
    await stack.worker.drain()
    listing = await view(client, "ann")
    transcript = _card(listing, "transcript")
    assert transcript["thread"] == root
    pickers = re.findall(r'<select data-speaker="(\d+)" data-current="([^"]*)"', transcript["html"])
    assert pickers == [("1", ""), ("2", "")]
    assert "no owner" in _item(_card(listing, "recap")["html"], "screenshots")

    await say(client, "ann", "@balafon speaker 1 is @bob", thread=root)
    await stack.worker.drain()

    listing = await view(client, "ann")
    transcript = _card(listing, "transcript")
    assert '<select data-speaker="1" data-current="bob">' in transcript["html"]
    recap = _card(listing, "recap")["html"]
    assert "@Bob" in _item(recap, "screenshots")
    assert "no owner" in _item(recap, "invoices")
    assert any("Speaker 1 of “standup.ogg” is Bob" in m["html"] for m in listing)
