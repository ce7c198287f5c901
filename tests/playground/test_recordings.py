"""A recording uploaded in the playground is part of its channel's history: `/recap 24h`
lists what was said in it, dated from the upload, cited at its time in the file; deleting
the message takes it out again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.storage.models import TranscriptRecord
from summarizer.dates import find_due
from tests.playground.conftest import WRITE, Stack, local_client
from tests.speech import synthesize

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SAID = "I will update the screenshots for the store by Wednesday."


def _records(stack: Stack) -> list[TranscriptRecord]:
    with Session(stack.core.services.repo.engine) as session:
        return list(session.exec(select(TranscriptRecord)).all())


async def _recaps(client) -> list[str]:
    shown = await client.get("/playground/api/channels/general/messages?user=bob")
    return [m["html"] for m in shown.json()["messages"] if "card recap" in m["html"]]


async def _recap_html(client, stack: Stack) -> str:
    """The recap `/recap 24h` posts, or "" when it posts none (nothing to recap)."""
    before = len(await _recaps(client))
    answer = await client.post(
        "/playground/api/messages",
        json={"channel": "general", "user": "bob", "text": "/recap 24h"},
        headers=WRITE,
    )
    assert answer.status_code == 201, answer.text
    await stack.worker.drain()
    recaps = await _recaps(client)
    return recaps[-1] if len(recaps) > before else ""


async def test_an_uploaded_recording_is_in_the_channel_recap_until_deleted(
    stack: Stack, tmp_path: Path
) -> None:
    audio = synthesize(SAID, tmp_path / "sync.m4a", "m4a")
    await stack.playground.startup()
    async with local_client(stack.app) as client:
        sent = await client.post(
            "/playground/api/uploads",
            data={"channel": "general", "user": "ann", "text": "Notes from the design sync"},
            files={"file": ("sync.m4a", audio.read_bytes(), "audio/mp4")},
            headers=WRITE,
        )
        assert sent.status_code == 201, sent.text
        message_id = sent.json()["message"]["id"]
        await stack.worker.drain()
        [record] = _records(stack)
        assert record.source_message_id == str(message_id) and record.recorded_at is not None

        html = await _recap_html(client, stack)
        assert "screenshots for the store" in html.lower()
        due, _ = find_due(SAID, record.recorded_at)
        assert due is not None and due.isoformat() in html, html
        assert "data-goto>t=0:0" in html  # the moment, linked to the upload's message

        gone = await client.delete(f"/playground/api/messages/{message_id}?user=ann", headers=WRITE)
        assert gone.status_code == 200
        assert _records(stack) == []
        await client.post(
            "/playground/api/messages",
            json={"channel": "general", "user": "cy", "text": "I'll book the room for Friday."},
            headers=WRITE,
        )
        after = (await _recap_html(client, stack)).lower()
        assert "book the room" in after and "screenshots for the store" not in after
