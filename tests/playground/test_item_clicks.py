"""Action items in the playground, end to end through its JSON API: a checkbox marks an
item done and the message is re-rendered for everyone; a stale click gets a note only the
clicker sees; the reassign menu hands the item on; a list's line is
re-rendered too. The endpoint answers only the page (access token and X-Playground)."""

from __future__ import annotations

import httpx
import pytest

from adapters.playground.platform import place
from bot.features.items import service
from bot.ports import ItemListReply, RecapReply, ReplyTarget
from summarizer.types import ActionItem, Recap
from tests.playground.conftest import WRITE, Stack, local_client

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(stack: Stack):
    await stack.playground.startup()
    async with local_client(stack.app) as http:
        yield http


async def _posted(stack: Stack) -> tuple[int, int, str]:
    """Bob's item in a recap Ann asked for, posted in #general: item id, message id and
    the version it shows."""
    services = stack.core.services
    repo = services.repo
    channel = repo.get_or_create_channel(
        repo.get_or_create_workspace("playground", "local").id, "general"
    )
    recap = Recap(
        summary="We planned the release.",
        action_items=[ActionItem(task="Roll back", owner="Bob", owner_id="bob", ref="1")],
    )
    row = repo.save_recap(channel, recap, requested_by="ann")
    views = await service.recap_reply_items(services, row, recap)
    reply = RecapReply(recap=recap, title="Recap", items=views)
    target = ReplyTarget(place=place("general"))
    message_id = await stack.playground.post(target, reply)
    await service.remember_post(services, row, target, message_id, reply)
    assert views[0] is not None
    return views[0].id, int(message_id), views[0].version


async def _act(
    client: httpx.AsyncClient, item: int, message: int, version: str, user: str, action: str,
    **extra: object,
) -> httpx.Response:  # fmt: skip
    json = {"user": user, "action": action, "version": version, "message": message, **extra}
    answer = await client.post(f"/playground/api/items/{item}/actions", json=json, headers=WRITE)
    await service.drain()
    return answer


async def _messages(client: httpx.AsyncClient, user: str) -> list[dict]:
    answer = await client.get(f"/playground/api/channels/general/messages?user={user}")
    return answer.json()["messages"]


async def test_the_owner_ticks_the_box_and_everyone_sees_it(stack: Stack, client) -> None:
    item, message, version = await _posted(stack)
    answer = await _act(client, item, message, version, "bob", "done")
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] is True
    html = answer.json()["message"]["html"]
    assert 'class="item done"' in html and " checked" in html
    assert stack.core.services.repo.items.get(item).status == "done"
    shown = [m for m in await _messages(client, "cy") if m["id"] == message]
    assert 'class="item done"' in shown[0]["html"]  # for everyone


async def test_a_stale_click_gets_a_note_for_the_clicker_and_reverts_nothing(
    stack: Stack, client
) -> None:
    """(Everyone of the playground manages every channel, so nobody is refused there.)"""
    item, message, version = await _posted(stack)
    await _act(client, item, message, version, "bob", "done")
    stale = await _act(client, item, message, version, "ann", "dismiss")  # an old page
    assert stale.json()["changed"] is False and stale.json()["notice"]
    assert stack.core.services.repo.items.get(item).status == "done"
    assert 'class="item done"' in stale.json()["message"]["html"]
    [note] = [m for m in await _messages(client, "ann") if m["ephemeral"]]
    assert '<span class="mention">@bob</span>' in note["html"]  # who changed it
    assert not [m for m in await _messages(client, "cy") if m["ephemeral"]]


async def test_the_reassign_menu_hands_the_item_on(stack: Stack, client) -> None:
    item, message, version = await _posted(stack)
    answer = await _act(client, item, message, version, "ann", "reassign", owner="cy")
    assert answer.status_code == 200, answer.text
    row = stack.core.services.repo.items.get(item)
    assert (row.owner_id, row.owner_name) == ("cy", "Cy")
    assert 'data-current="cy"' in answer.json()["message"]["html"]
    nobody = await _act(client, item, message, version, "ann", "reassign", owner="eve")
    assert nobody.status_code == 400


async def test_a_list_line_is_re_rendered(stack: Stack, client) -> None:
    item, _, version = await _posted(stack)
    items = stack.core.services.repo.items
    listing = ItemListReply(
        title="Your open items",
        groups=(("No due date", ((ActionItem(task="Roll back"), items.view(items.get(item))),)),),
    )
    message = int(await stack.playground.post(ReplyTarget(place=place("general")), listing))
    answer = await _act(client, item, message, version, "bob", "done")
    html = answer.json()["message"]["html"]
    assert "Your open items" in html and 'class="item done"' in html


async def test_only_the_page_may_click(stack: Stack, client) -> None:
    item, message, version = await _posted(stack)
    json = {"user": "bob", "action": "done", "version": version, "message": message}
    no_header = await client.post(f"/playground/api/items/{item}/actions", json=json)
    assert no_header.status_code == 403
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=stack.app), base_url="http://127.0.0.1:8000"
    ) as stranger:
        refused = await stranger.post(
            f"/playground/api/items/{item}/actions", json=json, headers=WRITE
        )
    assert refused.status_code == 401
    for bad in ({"action": "delete"}, {"message": "x"}, {"version": "<b>"}, {"key": "k"}):
        answer = await client.post(
            f"/playground/api/items/{item}/actions", json={**json, **bad}, headers=WRITE
        )
        assert answer.status_code == 400, bad
    assert stack.core.services.repo.items.get(item).status == "open"
