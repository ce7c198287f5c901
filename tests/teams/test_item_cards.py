"""Adaptive Cards for stored action items: a container per item with Action.Execute
buttons (verbs item_done, item_dismiss, item_reopen, item_export) and a Reassign card with
the people picker; an invoke's data is read strictly, and a forged one changes nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from adapters.teams import cards
from adapters.teams.activities import conversation_of
from adapters.teams.item_actions import read_click
from adapters.teams.item_cards import card_with_item
from bot.ports import ItemListReply, ItemView, RecapReply
from summarizer.types import ActionItem, Recap
from tests.teams.conftest import BOB, CY, Harness, payload

pytestmark = pytest.mark.anyio


def _recap(views: list[ItemView | None]) -> RecapReply:
    items = [
        ActionItem(task=f"Task {n}", owner=BOB.name, owner_id=BOB.aad) for n in range(len(views))
    ]
    recap = Recap(summary="We met.", action_items=items)
    return RecapReply(recap=recap, title="Recap", items=tuple(views))


def _containers(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in card["body"] if str(e.get("id", "")).startswith("item:")]


def _actions(container: dict[str, Any]) -> list[dict[str, Any]]:
    [action_set] = [e for e in container["items"] if e["type"] == "ActionSet"]
    return action_set["actions"]


def test_an_open_item_has_execute_buttons_and_a_reassign_picker() -> None:
    view = ItemView(id=7, version="3", owner_id=BOB.aad, owner_name=BOB.name)
    [activity] = cards.render(_recap([view]))
    card = cards.card_of(activity)
    [container] = _containers(card)
    assert container["id"] == "item:7:3"
    done, dismiss, reassign = _actions(container)
    assert (done["type"], done["verb"]) == ("Action.Execute", "item_done")
    assert done["data"] == {"balafon": "item", "id": 7, "v": "3"}
    assert dismiss["verb"] == "item_dismiss"
    assert reassign["type"] == "Action.ShowCard"
    [picker] = reassign["card"]["body"]
    assert picker["id"] == "owner_7" and picker["value"] == BOB.aad
    assert picker["choices.data"]["dataset"] == "graph.microsoft.com/users"
    assert reassign["card"]["actions"][0]["verb"] == "item_reassign"
    # The owner is mentioned, and the mention is declared on the card.
    assert f"<at>{BOB.name}</at>" in container["items"][0]["text"]
    assert card["msteams"]["entities"][0]["mentioned"]["id"] == BOB.aad


def test_done_items_offer_reopen_and_exported_ones_link_their_issue() -> None:
    done = ItemView(
        id=8,
        version="2",
        status="done",
        tracker="github",
        tracker_ref="acme/app#3",
        tracker_url="https://github.com/acme/app/issues/3",
    )
    linked = ItemView(id=9, version="1", tracker="jira")
    [activity] = cards.render(_recap([done, linked]))
    first, second = _containers(cards.card_of(activity))
    assert [a["verb"] for a in _actions(first)] == ["item_reopen"]
    assert "~~Task 0~~" in first["items"][0]["text"]
    assert "[acme/app#3](https://github.com/acme/app/issues/3)" in first["items"][0]["text"]
    assert _actions(second)[-1]["verb"] == "item_export"
    assert _actions(second)[-1]["title"] == "Create issue"


def test_many_items_get_buttons_on_the_first_fifteen_and_a_hint() -> None:
    views: list[ItemView | None] = [ItemView(id=n + 1, version="1") for n in range(30)]
    activities = cards.render(_recap(views))
    found = [c for a in activities for c in _containers(cards.card_of(a))]
    assert len(found) == 15
    text = json.dumps([cards.card_of(a) for a in activities])
    assert "Task 29" in text and "@balafon items" in text


def test_an_item_list_is_grouped_numbered_and_found_by_item() -> None:
    entries = tuple(
        (ActionItem(task=f"Task {n}", due=date(2026, 12, 1)), ItemView(id=n + 1)) for n in range(60)
    )
    reply = ItemListReply(title="Your open items", groups=(("Overdue", entries),))
    rendered = [cards.card_of(a) for a in cards.render(reply)]
    assert len(rendered) > 1  # split to stay under Teams' size limit
    assert "Overdue" in json.dumps(rendered[0])
    assert _containers(rendered[0])[0]["items"][0]["text"].startswith("- #1 Task 0")
    assert card_with_item(rendered, 60) is rendered[-1]
    [empty] = cards.render(ItemListReply(title="Items", groups=()))
    assert "No open action items." in json.dumps(cards.card_of(empty))


def _invoke(harness: Harness, verb: str, data: Any) -> dict[str, Any]:
    activity = harness.activity(
        "adaptive_card_action.json",
        conversation="19:Qd2sDesignChannel0001@thread.tacv2",
        kind="channel",
        thread="1763900000000",
    )
    activity["value"]["action"].update(verb=verb, data=data)
    return activity


def _click(activity: dict[str, Any]):
    from botbuilder.schema import Activity

    parsed = Activity().deserialize(activity)
    return read_click(parsed, conversation_of(parsed), activity["value"]["action"])


async def test_a_click_is_read_strictly(teams: Harness) -> None:
    click = _click(_invoke(teams, "item_done", {"balafon": "item", "id": 4, "v": "2"}))
    assert click is not None
    assert (click.item_id, click.action, click.version) == (4, "done", "2")
    assert (
        click.message_id == "1763900000001"
        and click.user_id == payload("adaptive_card_action.json")["from"]["aadObjectId"]
    )
    picked = {"balafon": "item", "id": 4, "v": "2", "owner_4": CY.aad.upper()}
    reassign = _click(_invoke(teams, "item_reassign", picked))
    assert reassign is not None and reassign.owner_id == CY.aad
    for verb, data in [
        ("item_done", {"balafon": "speaker_name", "id": 4, "v": "2"}),
        ("item_done", {"balafon": "item", "id": "4", "v": "2"}),
        ("item_done", {"balafon": "item", "id": 4}),
        ("item_done", "not an object"),
        ("item_delete", {"balafon": "item", "id": 4, "v": "2"}),
        ("item_reassign", {"balafon": "item", "id": 4, "v": "2", "owner_4": "29:someone"}),
        ("item_reassign", {"balafon": "item", "id": 4, "v": "2", "owner_5": CY.aad}),
        ("item_done", {"balafon": "item", "id": 4, "v": "2", **{str(n): n for n in range(40)}}),
    ]:
        assert _click(_invoke(teams, verb, data)) is None, (verb, data)


async def test_a_forged_invoke_is_refused(teams: Harness) -> None:
    activity = _invoke(teams, "item_done", {"balafon": "item", "id": 1, "v": "1"})
    unsigned = await teams.send(activity, headers={})
    assert unsigned.status_code == 401
    forged = _invoke(teams, "item_done", {"balafon": "item", "id": "1; drop", "v": "1"})
    answer = await teams.send(forged)
    assert answer.status_code == 200
    body = answer.json()
    assert body["statusCode"] == 400 and body["type"] == "application/vnd.microsoft.error"
    assert teams.fake.called("PUT", "/v3/conversations") == []
