"""Which buttons an action item shows, and reading a click's data back strictly: only an
item id and a version of the shapes the core makes are taken from a platform's payload."""

from __future__ import annotations

import json

import pytest

from bot.item_buttons import action_of, button_value, controls, item_reference, list_text
from bot.ports import ItemListReply, ItemView
from summarizer.types import ActionItem


def test_an_open_item_offers_done_dismiss_reassign_and_export_only_with_a_tracker() -> None:
    assert controls(ItemView(id=1)) == ("done", "dismiss", "reassign")
    linked = ItemView(id=1, tracker="github")
    assert controls(linked) == ("done", "dismiss", "reassign", "export")
    exported = ItemView(id=1, tracker="github", tracker_url="https://x/1", tracker_ref="o/r#1")
    assert "export" not in controls(exported)
    assert controls(ItemView(id=1, status="done")) == ("reopen",)
    assert controls(ItemView(id=1, status="dismissed")) == ("reopen",)


def test_a_button_value_round_trips() -> None:
    view = ItemView(id=42, version="7")
    ref = item_reference(button_value(view))
    assert ref is not None and (ref.item_id, ref.version) == (42, "7")
    assert item_reference({"id": 42, "v": "2026-12-07T21:00:00+00:00"}) is not None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "42",
        "not json",
        "[42]",
        json.dumps({"id": "42", "v": "1"}),  # the id as text
        json.dumps({"id": True, "v": "1"}),
        json.dumps({"id": 0, "v": "1"}),
        json.dumps({"id": -3, "v": "1"}),
        json.dumps({"id": 2**63, "v": "1"}),
        json.dumps({"id": 1.5, "v": "1"}),
        json.dumps({"id": 1, "v": 1}),
        json.dumps({"id": 1, "v": "<!channel>"}),
        json.dumps({"id": 1, "v": "x" * 65}),
        json.dumps({"id": 1}),
        json.dumps({"id": 1, "v": "1", "owner": "U0EVE"}),  # nothing else is taken
        json.dumps({"id": 1, "v": "1" * 300}),
        "[" * 10_000,
    ],
)
def test_anything_else_is_refused(value: object) -> None:
    assert item_reference(value) is None


def test_only_our_action_names_map_to_the_core_s() -> None:
    assert action_of("item_done") == "done"
    assert action_of("item_reassign") == "reassign"
    assert action_of("speaker_name") is None
    assert action_of(None) is None


def test_an_item_list_as_plain_text() -> None:
    item = ActionItem(task="Ship it", owner="Bob")
    reply = ItemListReply(
        title="Your open items",
        groups=(("Overdue", ((item, ItemView(id=3, owner_name="Cy", status="done")),)),),
    )
    assert list_text(reply) == "Your open items\n\nOverdue\n#3 Ship it (Cy) [done]\n"
    empty = ItemListReply(title="Items", groups=())
    assert list_text(empty) == "Items\nNo open action items.\n"
