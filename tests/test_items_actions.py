"""Action items through the core (issue #16): recaps post their stored items, clicks and
`done N` change them (who may, retries, stale cards), `items` and `my items` list them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import sentences
from bot.features.items import service
from bot.inbound import CommandRequest
from bot.ports import ChatMessage, ItemAction, ItemListReply, Place, RecapReply, TextReply
from bot.rendering import item_list_markdown
from tests.memory_platform import memory_bot

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
C1 = Place(platform="memory", workspace="T1", channel="C1")


def _msg(id_: str, author: str, text: str, minutes_ago: float, thread: str | None = None):
    return ChatMessage(
        id=id_,
        author_id=f"U-{author}",
        author_name=author,
        text=text,
        at=NOW - timedelta(minutes=minutes_ago),
        thread=thread,
    )


def _request(text: str, key: str, *, user="U-Ann", channel="C1", thread=None, via="mention"):
    return CommandRequest(
        place=Place(platform="memory", workspace="T1", channel=channel, thread=thread),
        user_id=user,
        text=text,
        event_key=key,
        message_id=f"cmd-{key}",
        via=via,
    )


@pytest.fixture
def bot(engine):
    core, worker, platform = memory_bot(engine, clock=lambda: NOW)
    platform.add("C1", _msg("t1", "Ann", "The deploy failed on the payments service.", 30))
    platform.add("C1", _msg("t2", "Bob", "I'll roll back the payments deploy today.", 20, "t1"))
    platform.members = {"C1": {"U-Ann", "U-Bob", "U-Eve"}}
    platform.managers = {"C1": {"U-Boss"}}
    return core, worker, platform


async def _recap_thread(core, worker, platform, key: str) -> tuple[str, RecapReply]:
    await core.handle_command(_request("recap", key, thread="t1"))
    assert await worker.drain() == 1
    message_id, posted = [
        (i, p) for i, p in platform.posts.items() if isinstance(p.reply, RecapReply)
    ][-1]
    return message_id, posted.reply


def _click(item_id: int, action: str, user: str, key: str, **fields) -> ItemAction:
    return ItemAction(
        place=replace(C1, thread="t1"),
        user_id=user,
        item_id=item_id,
        action=action,
        event_key=key,
        **fields,
    )


@pytest.mark.anyio
async def test_a_recap_posts_its_stored_items_and_a_second_recap_updates_them(bot) -> None:
    core, worker, platform = bot
    message_id, reply = await _recap_thread(core, worker, platform, "e1")
    [view] = reply.items
    assert view is not None and view.status == "open" and view.owner_id == "U-Bob"
    [recap_row] = core.services.repo.items.recaps_showing(view.id)
    assert recap_row.post["message_id"] == message_id and recap_row.requested_by == "U-Ann"
    assert recap_row.post["title"] == "Thread recap"

    _, again = await _recap_thread(core, worker, platform, "e2")
    assert again.items[0].id == view.id  # the same item, not a second one
    assert len(core.services.repo.items.query()) == 1
    fields = [e.field for e in core.services.repo.items.history(view.id)]
    assert fields == ["created", "seen"]


@pytest.mark.anyio
async def test_the_owner_marks_it_done_and_every_post_shows_it(bot) -> None:
    core, worker, platform = bot
    first_id, first = await _recap_thread(core, worker, platform, "e1")
    second_id, _ = await _recap_thread(core, worker, platform, "e2")
    view = first.items[0]
    click = _click(view.id, "done", "U-Bob", "k1", version=view.version, message_id=first_id)
    result = await core.handle_item_action(click)
    assert result.changed and result.notice is None
    assert isinstance(result.reply, RecapReply) and result.reply.items[0].status == "done"
    await service.drain()
    # The clicked post is the adapter's to update; the other one is updated here.
    assert platform.posts[first_id].updates == []
    [update] = platform.posts[second_id].updates
    assert update.items[0].status == "done" and update.title == "Thread recap"
    last = core.services.repo.items.history(view.id)[-1]
    assert (last.actor, last.field, last.new) == ("U-Bob", "status", "done")

    # A retried delivery of the same click does nothing twice.
    retry = await core.handle_item_action(click)
    assert not retry.changed and len(core.services.repo.items.history(view.id)) == 3


@pytest.mark.anyio
async def test_only_owner_requester_and_managers_may_change_an_item(bot) -> None:
    core, worker, platform = bot
    _, reply = await _recap_thread(core, worker, platform, "e1")
    item_id = reply.items[0].id
    refused = await core.handle_item_action(_click(item_id, "dismiss", "U-Eve", "k1"))
    assert not refused.changed
    assert refused.notice == sentences.ITEM_NOT_ALLOWED.format(
        who="<@U-Bob>, <@U-Ann> (who asked for the recap) or the people who manage this channel"
    )
    assert core.services.repo.items.get(item_id).status == "open"
    for user, key, action in (("U-Ann", "k2", "dismiss"), ("U-Boss", "k3", "reopen")):
        assert (await core.handle_item_action(_click(item_id, action, user, key))).changed
    core.services.limits = replace(core.services.limits, admin_users=frozenset({"U-Root"}))
    assert (await core.handle_item_action(_click(item_id, "done", "U-Root", "k4"))).changed


@pytest.mark.anyio
async def test_a_stale_click_shows_the_state_now_and_never_reverts(bot) -> None:
    core, worker, platform = bot
    message_id, reply = await _recap_thread(core, worker, platform, "e1")
    view = reply.items[0]
    done = _click(view.id, "done", "U-Bob", "k1", version=view.version, message_id=message_id)
    assert (await core.handle_item_action(done)).changed
    # Ann's card still shows the item open: her "reopen"-less click of dismiss is stale.
    stale = _click(view.id, "dismiss", "U-Ann", "k2", version=view.version, message_id=message_id)
    result = await core.handle_item_action(stale)
    assert not result.changed
    assert result.notice == sentences.ITEM_STALE.format(who="<@U-Bob>", what="status: done")
    assert result.reply.items[0].status == "done"
    assert core.services.repo.items.get(view.id).status == "done"
    # A stale click asking for what is already the state is no conflict.
    same = _click(view.id, "done", "U-Ann", "k3", version=view.version, message_id=message_id)
    assert (await core.handle_item_action(same)).notice is None


@pytest.mark.anyio
async def test_reassign_and_export_without_trackers(bot) -> None:
    core, worker, platform = bot
    _, reply = await _recap_thread(core, worker, platform, "e1")
    item_id = reply.items[0].id
    moved = _click(item_id, "reassign", "U-Bob", "k1", owner_id="U-Eve", owner_name="Eve")
    assert (await core.handle_item_action(moved)).changed
    row = core.services.repo.items.get(item_id)
    assert (row.owner_id, row.owner_name) == ("U-Eve", "Eve")
    # A person's owner survives the next recap of the thread.
    await _recap_thread(core, worker, platform, "e2")
    assert core.services.repo.items.get(item_id).owner_id == "U-Eve"
    try:
        import bot.features.items.trackers
    except ImportError:
        export = await core.handle_item_action(_click(item_id, "export", "U-Eve", "k2"))
        assert export.notice == sentences.ITEM_EXPORT_UNAVAILABLE


@pytest.mark.anyio
async def test_done_n_and_the_channel_s_items(bot) -> None:
    core, worker, platform = bot
    _, reply = await _recap_thread(core, worker, platform, "e1")
    item_id = reply.items[0].id
    listed = (await core.handle_command(_request("items", "l1"))).reply
    assert isinstance(listed, ItemListReply)
    [(heading, [(item, view)])] = listed.groups
    assert heading == "Today" and view.id == item_id and item.owner == "Bob"  # "today"
    assert f"#{item_id} **Bob**: " in item_list_markdown(listed)
    slash = (await core.handle_command(_request("items", "l2", via="slash"))).reply
    assert isinstance(slash, ItemListReply)
    recap_items = await core.handle_command(_request("recap items", "l3", via="slash"))
    assert isinstance(recap_items.reply, ItemListReply)

    refused = (await core.handle_command(_request(f"done {item_id}", "d1", user="U-Eve"))).reply
    assert "Only <@U-Bob>" in refused.text
    done = (await core.handle_command(_request(f"done #{item_id}", "d2", user="U-Bob"))).reply
    assert done == TextReply(text=sentences.ITEM_DONE.format(number=item_id, task=item.task))
    assert core.services.repo.items.get(item_id).status == "done"
    empty = (await core.handle_command(_request("items", "l4"))).reply
    assert empty.groups == () and sentences.NO_OPEN_ITEMS in item_list_markdown(empty)
    missing = (await core.handle_command(_request("reopen 999", "d3", user="U-Bob"))).reply
    assert missing.text == sentences.ITEM_NOT_FOUND.format(number=999)


@pytest.mark.anyio
async def test_my_items_are_grouped_by_due_and_only_from_my_channels(bot) -> None:
    core, _, platform = bot
    repo = core.services.repo
    workspace = repo.get_or_create_workspace("memory", "T1")
    from summarizer.types import ActionItem, Recap

    items = [
        ActionItem(task="Late thing", owner_id="U-Bob", due=date(2026, 11, 20), ref="a"),
        ActionItem(task="Today thing", owner_id="U-Bob", due=date(2026, 11, 25), ref="b"),
        ActionItem(task="Friday thing", owner_id="U-Bob", due=date(2026, 11, 27), ref="c"),
        ActionItem(task="Next month", owner_id="U-Bob", due=date(2026, 12, 20), ref="d"),
        ActionItem(task="Someday", owner_id="U-Bob", ref="e"),
        ActionItem(task="Not mine", owner_id="U-Ann", ref="f"),
    ]
    repo.save_recap(
        repo.get_or_create_channel(workspace.id, "C1"), Recap(summary="s", action_items=items)
    )
    secret = ActionItem(task="Secret channel thing", owner_id="U-Bob", ref="g")
    repo.save_recap(
        repo.get_or_create_channel(workspace.id, "C-secret"),
        Recap(summary="s", action_items=[secret]),
    )

    outcome = await core.handle_command(_request("my items", "m1", user="U-Bob"))
    assert outcome.reply is None
    [posted] = [p for p in platform.posts.values() if isinstance(p.reply, ItemListReply)]
    assert posted.target.ephemeral_to == "U-Bob"  # the memory platform has no DMs
    groups = [
        (heading, [item.task for item, _ in listed]) for heading, listed in posted.reply.groups
    ]
    assert groups == [
        ("Overdue", ["Late thing"]),
        ("Today", ["Today thing"]),
        ("This week", ["Friday thing"]),
        ("Later", ["Next month"]),
        ("No date", ["Someday"]),
    ]
    assert (await core.handle_command(_request("my items", "m1", user="U-Bob"))).duplicate
    await core.handle_command(_request("recap my items", "m2", user="U-Bob", via="slash"))
    lists = [p for p in platform.posts.values() if isinstance(p.reply, ItemListReply)]
    assert len(lists) == 2 and lists[-1].reply.groups == posted.reply.groups


@pytest.mark.anyio
async def test_a_retried_recap_posts_the_recap_it_saved_once(bot, monkeypatch) -> None:
    from sqlalchemy import update
    from sqlmodel import Session, select

    from bot.storage.models import Job, RecapRecord

    core, worker, platform = bot
    real_post, failures = platform.post, []

    async def post_failing_once(target, reply):
        if isinstance(reply, RecapReply) and not failures:
            failures.append(reply)
            raise ConnectionError("platform down")
        return await real_post(target, reply)

    monkeypatch.setattr(platform, "post", post_failing_once)
    await core.handle_command(_request("recap", "e1", thread="t1"))
    await worker.drain()
    with Session(core.services.repo.engine) as session:  # retry it now
        session.execute(update(Job).values(run_after=NOW - timedelta(days=1)))
        session.commit()
    await worker.drain()
    [posted] = [p.reply for p in platform.posts.values() if isinstance(p.reply, RecapReply)]
    with Session(core.services.repo.engine) as session:
        [row] = session.exec(select(RecapRecord)).all()
    assert failures[0].items == posted.items and row.post["message_id"]
    assert len(core.services.repo.items.query()) == 1


class DirectMessages:
    """The memory platform with direct messages and time zones (like Slack and Teams)."""

    def __init__(self, platform, zone: str) -> None:
        self.platform, self.zone, self.sent = platform, zone, []

    async def post_private(self, workspace, user_id, reply):
        self.sent.append((workspace, user_id, reply))
        return "dm-1"

    async def user_timezone(self, workspace, user_id):
        return self.zone


@pytest.mark.anyio
async def test_my_items_go_by_direct_message_in_the_owner_s_time_zone(bot) -> None:
    from bot.ports import PrivateMessaging

    core, worker, platform = bot
    await _recap_thread(core, worker, platform, "e1")
    dms = DirectMessages(platform, "Pacific/Kiritimati")  # UTC+14: already tomorrow there
    platform.post_private, platform.user_timezone = dms.post_private, dms.user_timezone
    assert isinstance(platform, PrivateMessaging)
    outcome = await core.handle_command(_request("my items", "m1", user="U-Bob"))
    assert outcome.ack == sentences.MY_ITEMS_SENT
    [(workspace, user, reply)] = dms.sent
    assert (workspace, user) == ("T1", "U-Bob")
    [(heading, [(item, _)])] = reply.groups
    assert heading == "Overdue" and item.task == "Roll back the payments deploy"


@pytest.mark.anyio
async def test_another_workspace_or_channel_cannot_reach_an_item(bot) -> None:
    """Item ids are guessable numbers: a click naming an item of another workspace finds
    nothing, and a manager's rights hold only in the channel they manage (in a direct
    message everyone manages their own: that must not reach other people's items)."""
    core, worker, platform = bot
    _, reply = await _recap_thread(core, worker, platform, "e1")
    item_id = reply.items[0].id
    foreign = replace(
        _click(item_id, "done", "U-Bob", "k1"),
        place=Place(platform="memory", workspace="T2", channel="C1"),
    )
    result = await core.handle_item_action(foreign)
    assert not result.changed and result.notice == sentences.ITEM_GONE
    platform.managers["D-Eve"] = {"U-Eve"}  # Eve manages her own direct message
    from_dm = replace(_click(item_id, "dismiss", "U-Eve", "k2"), place=replace(C1, channel="D-Eve"))
    refused = await core.handle_item_action(from_dm)
    assert not refused.changed and refused.notice
    boss_elsewhere = replace(
        _click(item_id, "dismiss", "U-Boss", "k3"), place=replace(C1, channel="C9")
    )
    assert not (await core.handle_item_action(boss_elsewhere)).changed
    assert core.services.repo.items.get(item_id).status == "open"
    assert (await core.handle_item_action(_click(item_id, "dismiss", "U-Boss", "k4"))).changed


@pytest.mark.anyio
async def test_an_export_does_not_make_older_cards_stale(engine) -> None:
    """Review finding 11: a card rendered before the item was exported (a `my items`
    list, a reminder: never refreshed) still closes it. The export changed the tracker
    link the card shows, not the status a "Done" click depends on."""
    from tests.trackers.fakes import FakeGitHub
    from tests.trackers.support import (
        HERE,
        MANAGER,
        OPENED,
        say,
        stored_item,
        tracker_bot,
        tracker_config,
    )

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        items = core.services.repo.items
        listed = items.view(items.get(item_id))  # as a `my items` list showed it

        def click(action: str, key: str, user: str = "U-Kofi", **fields) -> ItemAction:
            return ItemAction(
                place=HERE, user_id=user, item_id=item_id, action=action, event_key=key,
                version=listed.version, **fields,
            )  # fmt: skip

        export = await core.handle_item_action(click("export", "c1"))
        # The list's line is re-rendered from the answer: "creating…", not "Create issue".
        assert export.item is not None and export.item[1].export_state == "pending"
        await worker.drain()
        exported = items.view(items.get(item_id))
        assert exported.tracker_ref == "acme/web#1"
        assert exported.version != listed.version  # cards refreshed now show the issue
        moved = click("reassign", "c2", owner_id="U-Eve", owner_name="Eve")
        assert (await core.handle_item_action(moved)).notice is None
        # Its status is what the old card showed: not stale, though owner and export moved.
        done = await core.handle_item_action(click("done", "c3", MANAGER))
        assert done.changed and done.notice is None
        assert items.get(item_id).status == "done"
        await worker.drain()
        await service.drain()
        await OPENED.pop().aclose()  # its clients' connections (tests/trackers/conftest.py)
    assert github.issues["acme/web"][0]["state"] == "closed"


@pytest.mark.anyio
async def test_a_recap_that_moves_due_and_owner_updates_the_earlier_posts(bot) -> None:
    """Review finding 11, the mirror: a later recap (here a digest of the channel) moving
    the item's due date and owner moves its version and re-renders the posts showing it;
    a click that depended on the owner the old card showed is stale, one that did not is
    not."""
    from bot.ports import ReplyTarget
    from summarizer.types import ActionItem, Recap

    core, worker, platform = bot
    first_id, first = await _recap_thread(core, worker, platform, "e1")
    old = first.items[0]
    items = core.services.repo.items
    before = items.get(old.id).updated_at
    friday = date(2026, 11, 27)
    said = ActionItem(
        task="Roll back the payments deploy", owner="Eve", owner_id="U-Eve", due=friday, ref="t2"
    )
    channel = await core.services.conversations.get_or_create_channel(C1)
    row, recap, views = await service.store_recap(
        core.services, channel, Recap(summary="s", action_items=[said])
    )
    assert views[0].id == old.id and views[0].version != old.version
    assert items.get(old.id).updated_at > before
    target = ReplyTarget(place=C1)
    reply = RecapReply(recap=recap, title="Digest", items=views)
    digest_id = await platform.post(target, reply)
    await service.remember_post(core.services, row, target, digest_id, reply)
    [update] = platform.posts[first_id].updates
    assert update.items[0].version == views[0].version and update.items[0].owner_id == "U-Eve"
    assert update.recap.action_items[0].due == friday  # as stored now, not as first said
    assert platform.posts[digest_id].updates == []

    reassign = _click(
        old.id, "reassign", "U-Ann", "k1", owner_id="U-Ann", version=old.version,
        message_id=first_id,
    )  # fmt: skip
    refused = await core.handle_item_action(reassign)
    assert not refused.changed
    assert refused.notice == sentences.ITEM_STALE.format(
        who=sentences.ITEM_BY_RECAP, what="owner: U-Eve"
    )
    done = _click(old.id, "done", "U-Ann", "k2", version=old.version, message_id=first_id)
    assert (await core.handle_item_action(done)).changed


@pytest.mark.anyio
async def test_editing_the_source_message_keeps_what_people_did(bot) -> None:
    """Review finding 8: an edit drops the items derived from the message that only the
    bot touched (their posts re-rendered without them), but an item a person closed keeps
    its status and history, and the next recap finds it again."""
    core, worker, platform = bot
    await core.record_message(C1, platform.channels["C1"][1])  # stored, as events do
    first_id, first = await _recap_thread(core, worker, platform, "e1")
    item_id = first.items[0].id
    items = core.services.repo.items
    typo = replace(platform.channels["C1"][1], text="I'll roll back the payments deploy today!")

    await core.record_edit(C1, typo)
    await service.drain()
    assert items.get(item_id) is None  # nobody acted on it: stale, gone
    [update] = platform.posts[first_id].updates
    assert update.items == (None,)  # its line stays, without buttons

    second_id, second = await _recap_thread(core, worker, platform, "e2")
    again = second.items[0].id
    bob = _click(
        again, "done", "U-Bob", "k1", version=second.items[0].version, message_id=second_id
    )
    assert (await core.handle_item_action(bob)).changed
    await core.record_edit(C1, replace(typo, text="I'll roll back the payments deploy today."))
    await service.drain()
    kept = items.get(again)
    assert kept is not None and kept.status == "done"
    assert [e.field for e in items.history(again)][-1] == "status"
    assert platform.posts[second_id].updates == []  # nothing changed
    _, third = await _recap_thread(core, worker, platform, "e3")
    assert third.items[0].id == again and third.items[0].status == "done"
