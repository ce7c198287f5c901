"""Block Kit for stored action items: each item's line, then its buttons in an actions
block that says which item and which version; many items still fit Slack's 50 blocks."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from adapters.slack.blocks import MAX_BLOCKS, part_with_item, render
from adapters.slack.item_blocks import block_reference
from bot.item_buttons import item_reference
from bot.ports import ItemListReply, ItemView, RecapReply
from summarizer.types import ActionItem, Recap


def _recap(count: int, views: list[ItemView | None]) -> RecapReply:
    items = [ActionItem(task=f"Task {n}", owner="Bob", owner_id="U0BOB") for n in range(count)]
    recap = Recap(summary="We met.", key_points=["A point"], action_items=items)
    return RecapReply(recap=recap, title="Recap of <#C0GENERAL>", items=tuple(views))


def _actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in message["blocks"] if b["type"] == "actions"]


def test_an_open_item_has_done_dismiss_and_a_people_picker_on_its_owner() -> None:
    view = ItemView(id=7, version="3", owner_id="U0BOB", owner_name="Bob")
    [message] = render(_recap(1, [view]))
    [actions] = _actions(message)
    assert actions["block_id"] == "item:7:3"
    kinds = [(e["type"], e["action_id"]) for e in actions["elements"]]
    assert kinds == [
        ("button", "item_done"),
        ("button", "item_dismiss"),
        ("users_select", "item_reassign"),
    ]
    done = actions["elements"][0]
    assert json.loads(done["value"]) == {"id": 7, "v": "3"}
    ref = item_reference(done["value"])
    assert ref is not None and (ref.item_id, ref.version) == (7, "3")
    assert actions["elements"][2]["initial_user"] == "U0BOB"
    line = message["blocks"][message["blocks"].index(actions) - 1]["text"]["text"]
    assert "Task 0" in line and "<@U0BOB>" in line


def test_a_done_item_is_struck_through_and_offers_reopen_only() -> None:
    [message] = render(_recap(1, [ItemView(id=7, version="4", status="done")]))
    [actions] = _actions(message)
    assert [e["action_id"] for e in actions["elements"]] == ["item_reopen"]
    assert "~Task 0~" in json.dumps(message["blocks"])


def test_a_reassigned_owner_replaces_the_recap_s() -> None:
    view = ItemView(id=7, version="5", owner_id="U0CY", owner_name="Cy")
    [message] = render(_recap(1, [view]))
    text = json.dumps(message["blocks"])
    assert "<@U0CY>" in text and "<@U0BOB>" not in text


def test_tracker_create_issue_then_the_issue_link() -> None:
    linked = ItemView(id=7, version="1", tracker="github")
    [message] = render(_recap(1, [linked]))
    [actions] = _actions(message)
    export = actions["elements"][-1]
    assert (export["action_id"], export["text"]["text"]) == ("item_export", "Create issue")
    made = ItemView(
        id=7,
        version="2",
        tracker="github",
        tracker_ref="acme/app#12",
        tracker_url="https://github.com/acme/app/issues/12",
        export_state="created",
    )
    [message] = render(_recap(1, [made]))
    text = json.dumps(message["blocks"])
    assert "item_export" not in text
    assert "<https://github.com/acme/app/issues/12|acme/app#12>" in text


def test_items_not_stored_have_no_buttons() -> None:
    [message] = render(_recap(2, [None, ItemView(id=2, version="1")]))
    assert [a["block_id"] for a in _actions(message)] == ["item:2:1"]
    assert "Task 0" in json.dumps(message["blocks"])


def test_many_items_stay_in_one_message_with_buttons_on_the_first_and_a_hint() -> None:
    views: list[ItemView | None] = [ItemView(id=n + 1, version="1") for n in range(40)]
    [message] = render(_recap(40, views))
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert 1 <= len(_actions(message)) <= 15
    text = json.dumps(message["blocks"])
    assert all(f"Task {n}" in text for n in range(40))  # every item is listed
    assert "@balafon items" in text


def test_a_long_item_list_is_split_without_parting_an_item_from_its_buttons() -> None:
    entries = tuple(
        (ActionItem(task=f"Task {n}", due=date(2026, 12, 1)), ItemView(id=n + 1, channel="C0DEV"))
        for n in range(40)
    )
    reply = ItemListReply(title="Your open items", groups=(("Overdue", entries),))
    messages = render(reply)
    assert len(messages) == 2
    for message in messages:
        blocks = message["blocks"]
        assert len(blocks) <= MAX_BLOCKS
        for index, block in enumerate(blocks):
            if block["type"] == "actions":
                assert blocks[index - 1]["type"] == "section"
    first_line = messages[0]["blocks"][2]["text"]["text"]
    assert "`#1`" in first_line and "<#C0DEV>" in first_line and "due Tue 01 Dec 2026" in first_line
    assert part_with_item(messages, 40) is messages[1]
    assert part_with_item(messages, 1) is messages[0]


def test_an_empty_list_says_so() -> None:
    [message] = render(ItemListReply(title="Your open items", groups=()))
    assert "No open action items." in json.dumps(message["blocks"])


def test_the_picker_s_block_id_is_read_strictly() -> None:
    ref = block_reference("item:12:abc")
    assert ref is not None and (ref.item_id, ref.version) == (12, "abc")
    for forged in (None, 12, "item:0:1", "item:-1:1", "item:x:1", "speaker:Speaker 1", "item:1"):
        assert block_reference(forged) is None
    assert block_reference(f"item:{2**63}:1") is None


def test_hostile_item_text_stays_inert() -> None:
    item = ActionItem(task="<!channel> ping", owner="<!here>", owner_id="<!everyone>")
    recap = Recap(summary="s", action_items=[item])
    reply = RecapReply(recap=recap, title="Recap", items=(ItemView(id=1, owner_name="<!here>"),))
    [message] = render(reply)
    assert "<!" not in json.dumps(message)
