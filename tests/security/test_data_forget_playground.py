# ruff: noqa: F811  (the harness's fixture is imported, then named as a parameter)
"""Issue #11 item 6 in the playground, which is its own chat server: `forget confirm`
clears the channel's messages (tombstones) and deletes its uploads under
DATA_DIR/playground, with the core's copies; no table, no SQLite file and no upload keeps
the marker. Through the playground's real HTTP API."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.playground.conftest import WRITE, local_client, make_stack, sqlite_engine  # noqa: F401
from tests.security.data_support import files_with as _files
from tests.security.data_support import raw_with as _raw
from tests.security.data_support import tables_with as _where

pytestmark = pytest.mark.anyio
MARK = "pg" + uuid.uuid4().hex[:16]
OTHER = "po" + uuid.uuid4().hex[:16]  # in another channel, which is not forgotten


async def test_forget_in_the_playground_deletes_its_messages_and_files(
    sqlite_engine, tmp_path: Path
) -> None:
    stack = make_stack(sqlite_engine, tmp_path)
    await stack.playground.startup()
    async with local_client(stack.app) as client:

        async def say(text: str, channel: str = "general") -> None:
            body = {"channel": channel, "user": "ann", "text": text}
            answer = await client.post("/playground/api/messages", json=body, headers=WRITE)
            assert answer.status_code == 201, answer.text

        await say(f"I will send the {MARK} contract to legal by Friday.")
        await say(f"Elsewhere: {OTHER} stays.", channel="design")
        shared = await client.post(
            "/playground/api/uploads",
            data={"channel": "general", "user": "ann", "text": f"notes {MARK}"},
            files={"file": (f"{MARK}.txt", f"minutes {MARK}".encode(), "text/plain")},
            headers=WRITE,
        )
        assert shared.status_code == 201
        await say("@balafon recap 24h")
        await stack.worker.drain()
        assert _files(stack.playground.files_dir, MARK)
        assert "recaps.recap" in _where(sqlite_engine, MARK)

        await say("@balafon forget confirm")
        await stack.worker.drain()
        view = await client.get("/playground/api/channels/general/messages?user=ann")
    assert _where(sqlite_engine, MARK) == []
    assert _raw(sqlite_engine, MARK) == []
    kept = sorted(_where(sqlite_engine, OTHER))  # #design is not forgotten
    assert kept == ["messages.text", "playground_messages.text"]
    assert _files(stack.playground.files_dir, MARK) == []
    assert list(stack.playground.files_dir.iterdir()) == []
    assert any("Done: I deleted" in m["html"] for m in view.json()["messages"])
    assert MARK not in view.text
