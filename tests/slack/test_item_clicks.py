"""Clicks on action items' buttons in Slack (issue #16): a signed block_actions request to
/slack/events is acked, the core changes the item, and the clicked message is replaced
with chat.update so everyone sees it; an unsigned click changes nothing; someone not
allowed and a stale click get a notice only they see (chat.postEphemeral)."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from adapters.slack.blocks import render
from bot.features.items import service
from bot.item_buttons import button_value
from bot.ports import ItemListReply, Place, RecapReply, ReplyTarget
from summarizer.types import ActionItem, Recap
from tests.slack.conftest import ANN, BOB, CY, GENERAL, TEAM, Harness, sign

pytestmark = pytest.mark.anyio
PLACE = Place(platform="slack", workspace=TEAM, channel=GENERAL)


async def _posted(slack: Harness) -> tuple[int, dict[str, Any]]:
    """A recap with two items (Bob's and nobody's), asked for by Ann, posted in #general:
    the first item's id and the message as Slack holds it."""
    services = slack.core.services
    repo = services.repo
    channel = repo.get_or_create_channel(repo.get_or_create_workspace("slack", TEAM).id, GENERAL)
    recap = Recap(
        summary="We planned the release.",
        action_items=[
            ActionItem(task="Roll back the deploy", owner="Bob", owner_id=BOB, ref="1.1"),
            ActionItem(task="Write the notes", ref="1.2"),
        ],
    )
    row = repo.save_recap(channel, recap, requested_by=ANN)
    reply = RecapReply(
        recap=recap,
        title=f"Recap of <#{GENERAL}>",
        items=await service.recap_reply_items(services, row, recap),
    )
    target = ReplyTarget(place=PLACE)
    ts = await slack.adapter.post(target, reply)
    await service.remember_post(services, row, target, ts, reply)
    assert reply.items[0] is not None
    return reply.items[0].id, slack.fake.message(GENERAL, ts)


def _element(message: dict[str, Any], item_id: int, action_id: str) -> tuple[dict, dict]:
    for block in message["blocks"]:
        if block.get("block_id", "").startswith(f"item:{item_id}:"):
            for element in block["elements"]:
                if element["action_id"] == action_id:
                    return block, element
    raise AssertionError(f"no {action_id} on item {item_id}")


def _body(
    slack: Harness, message: dict[str, Any], item_id: int, action_id: str, user: str, **extra: Any
) -> bytes:
    block, element = _element(message, item_id, action_id)
    action = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": block["block_id"],
        "action_ts": f"1765000000.{len(slack.fake.calls):06d}",
        **({"value": element["value"]} if "value" in element else {}),
        **extra,
    }
    body = {
        "type": "block_actions",
        "api_app_id": "A0BALAFON",
        "team": {"id": TEAM, "domain": "balafon-test"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "channel": {"id": GENERAL, "name": "general"},
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": GENERAL,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": slack.fake.response_url(),
        "message": message,
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(body)}).encode()


async def _click(slack: Harness, body: bytes, **kwargs: Any) -> int:
    response = await slack.post(body, content_type="application/x-www-form-urlencoded", **kwargs)
    await slack.settle()
    await service.drain()
    return response.status_code


def _updates(slack: Harness, ts: str) -> list[dict[str, Any]]:
    return [c.args for c in slack.fake.called("chat.update") if c.args["ts"] == ts]


def _ephemerals(slack: Harness, user: str) -> list[str]:
    return [
        c.args["text"] for c in slack.fake.called("chat.postEphemeral") if c.args["user"] == user
    ]


def _status(slack: Harness, item_id: int) -> str:
    return slack.core.services.repo.items.get(item_id).status


async def test_the_owner_marks_done_and_the_message_shows_it(slack: Harness) -> None:
    item_id, message = await _posted(slack)
    shown = json.loads(_element(message, item_id, "item_done")[1]["value"])
    assert await _click(slack, _body(slack, message, item_id, "item_done", BOB)) == 200
    assert _status(slack, item_id) == "done"
    [update] = _updates(slack, message["ts"])
    _, reopen = _element(update, item_id, "item_reopen")
    assert "~Roll back the deploy~" in json.dumps(update["blocks"])
    assert json.loads(reopen["value"]) == {"id": item_id, "v": reopen_version(slack, item_id)}
    assert shown["v"] != reopen_version(slack, item_id)
    assert _ephemerals(slack, BOB) == []  # nothing to say: everyone sees it


def reopen_version(slack: Harness, item_id: int) -> str:
    items = slack.core.services.repo.items
    return items.view(items.get(item_id)).version


async def test_an_unsigned_or_badly_signed_click_changes_nothing(slack: Harness) -> None:
    item_id, message = await _posted(slack)
    body = _body(slack, message, item_id, "item_done", BOB)
    assert await _click(slack, body, headers={}) == 401
    forged = sign(body, secret="not-the-signing-secret")
    assert await _click(slack, body, headers=forged) == 401
    assert _status(slack, item_id) == "open"
    assert _updates(slack, message["ts"]) == []


async def test_someone_not_allowed_gets_an_ephemeral_notice(slack: Harness) -> None:
    item_id, message = await _posted(slack)
    assert await _click(slack, _body(slack, message, item_id, "item_dismiss", CY)) == 200
    assert _status(slack, item_id) == "open"
    assert _updates(slack, message["ts"]) == []
    [notice] = _ephemerals(slack, CY)
    assert notice.startswith(f"Only <@{BOB}>, <@{ANN}> (who asked for the recap)")


async def test_a_stale_click_shows_the_state_now_and_never_reverts_it(slack: Harness) -> None:
    item_id, message = await _posted(slack)
    before = copy.deepcopy(message)  # Ann's Slack still shows it open
    await _click(slack, _body(slack, message, item_id, "item_done", BOB))
    assert await _click(slack, _body(slack, before, item_id, "item_dismiss", ANN)) == 200
    assert _status(slack, item_id) == "done"
    last = _updates(slack, message["ts"])[-1]
    assert "item_reopen" in json.dumps(last["blocks"])
    assert len(_ephemerals(slack, ANN)) == 1


async def test_reassigning_with_the_people_picker(slack: Harness) -> None:
    item_id, message = await _posted(slack)
    body = _body(slack, message, item_id, "item_reassign", ANN, selected_user=CY)
    assert await _click(slack, body) == 200
    row = slack.core.services.repo.items.get(item_id)
    assert (row.owner_id, row.owner_name) == (CY, "Cy")
    last = _updates(slack, message["ts"])[-1]
    _, picker = _element({"blocks": last["blocks"]}, item_id, "item_reassign")
    assert picker["initial_user"] == CY


async def test_a_forged_value_is_ignored(slack: Harness) -> None:
    item_id, message = await _posted(slack)
    _, element = _element(message, item_id, "item_done")
    element["value"] = json.dumps({"id": item_id, "v": "x", "status": "dismissed"})
    assert await _click(slack, _body(slack, message, item_id, "item_done", BOB)) == 200
    assert _status(slack, item_id) == "open"
    assert _updates(slack, message["ts"]) == [] and _ephemerals(slack, BOB) == []


async def test_a_list_message_gets_the_clicked_line_re_rendered(slack: Harness) -> None:
    item_id, _ = await _posted(slack)
    services = slack.core.services
    view = services.repo.items.view(services.repo.items.get(item_id))
    listing = ItemListReply(
        title="Your open items",
        groups=(("No due date", ((ActionItem(task="Roll back the deploy"), view),)),),
    )
    ts = await slack.adapter.post(ReplyTarget(place=PLACE), listing)
    message = slack.fake.message(GENERAL, ts)
    assert await _click(slack, _body(slack, message, item_id, "item_done", BOB)) == 200
    [update] = _updates(slack, ts)
    assert "item_reopen" in json.dumps(update["blocks"])
    assert "Your open items" in json.dumps(update["blocks"])


async def test_a_thread_recap_comes_with_buttons_that_work(slack: Harness) -> None:
    """The whole way: `@balafon recap` in a thread, then Bob's click on his item."""
    root = await slack.say(GENERAL, ANN, "The payments deploy failed last night.")
    await slack.say(
        GENERAL, BOB, "I will roll back the payments deploy today.", thread_ts=root["ts"]
    )
    await slack.mention(GENERAL, ANN, "recap", thread_ts=root["ts"])
    await slack.settle()
    message = next(
        m
        for m in slack.fake.bot_messages(GENERAL)
        if m.get("thread_ts") == root["ts"] and m["text"].startswith("Thread recap")
    )
    recap = message
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    item_id = int(actions["block_id"].split(":")[1])
    assert await _click(slack, _body(slack, message, item_id, "item_done", BOB)) == 200
    assert _status(slack, item_id) == "done"
    assert "item_reopen" in json.dumps(_updates(slack, recap["ts"])[-1]["blocks"])


async def test_an_ephemeral_list_is_replaced_through_its_response_url(slack: Harness) -> None:
    item_id, _ = await _posted(slack)
    items = slack.core.services.repo.items
    listing = ItemListReply(
        title="Your open items",
        groups=(
            ("No due date", ((ActionItem(task="Roll back"), items.view(items.get(item_id))),)),
        ),
    )
    [payload] = render(listing)
    shown = {"type": "message", "ts": "1765000000.000100", **payload}
    body = json.loads(
        parse_qs(_body(slack, shown, item_id, "item_done", BOB).decode())["payload"][0]
    )
    body["container"]["is_ephemeral"] = True
    assert await _click(slack, urlencode({"payload": json.dumps(body)}).encode()) == 200
    assert _status(slack, item_id) == "done"
    [replaced] = slack.fake.responses
    assert replaced["replace_original"] is True and "item_reopen" in json.dumps(replaced["blocks"])

    del body["message"]  # Slack may not send an ephemeral message back: say what it is now
    body["actions"][0]["action_id"] = "item_reopen"
    body["actions"][0]["action_ts"] = "1765000001.000001"
    body["actions"][0]["value"] = button_value(items.view(items.get(item_id)))
    assert await _click(slack, urlencode({"payload": json.dumps(body)}).encode()) == 200
    assert _status(slack, item_id) == "open"
    assert any("is open now" in text for text in _ephemerals(slack, BOB))
