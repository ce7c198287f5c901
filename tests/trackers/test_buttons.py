"""The item's buttons (bot.features.items.actions, the items core) with a linked tracker:
"Create issue" pressed twice makes one issue; "Done" closes it; someone who may not change
the item exports nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot import sentences
from bot.ports import ItemAction
from tests.trackers.fakes import FakeGitHub
from tests.trackers.support import HERE, THREAD, item, say, stored_item, tracker_bot, tracker_config


def click(item_id: int, action: str, key: str, *, user: str = "U-Kofi") -> ItemAction:
    return ItemAction(
        place=replace(HERE, thread=THREAD),
        user_id=user,
        item_id=item_id,
        action=action,
        event_key=key,
        message_id="1700.0002",
    )


@pytest.mark.anyio
async def test_create_issue_then_done_through_the_buttons(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        first = await core.handle_item_action(click(item_id, "export", "c1"))
        second = await core.handle_item_action(click(item_id, "export", "c2"))
        retried = await core.handle_item_action(click(item_id, "export", "c2"))  # redelivered
        assert first.notice == sentences.EXPORT_STARTED.format(tracker="GitHub")
        assert second.notice == sentences.EXPORT_PENDING
        assert retried.notice is None and not retried.changed
        await worker.drain()
        assert len(github.issues["acme/web"]) == 1
        done = await core.handle_item_action(click(item_id, "done", "c3"))
        assert done.changed
        await worker.drain()
    assert github.issues["acme/web"][0]["state"] == "closed"
    assert item(core, item_id).status == "done"


@pytest.mark.anyio
async def test_a_stranger_cannot_export(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        refused = await core.handle_item_action(click(item_id, "export", "c1", user="U-Eve"))
        await worker.drain()
    assert not refused.changed and refused.notice
    assert item(core, item_id).export_state is None and github.requests == []
