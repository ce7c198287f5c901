"""The playground's action items: real checkboxes, a reassign menu and buttons on stored
items, kept across a restart (the reply's JSON), escaped like everything else."""

from __future__ import annotations

from datetime import date

from adapters.playground import render, replies
from bot.ports import ItemListReply, ItemView, RecapReply
from summarizer.types import ActionItem, Recap

EVIL = '<img src=x onerror="alert(1)"> @channel'


def _recap(views: list[ItemView | None]) -> RecapReply:
    items = [ActionItem(task=f"Task {n}", owner="Bob", owner_id="bob") for n in range(len(views))]
    return RecapReply(
        recap=Recap(summary="We met.", action_items=items), title="Recap", items=tuple(views)
    )


def test_an_open_item_is_an_unchecked_box_with_a_menu_and_dismiss() -> None:
    html = render.reply_html(_recap([ItemView(id=7, version="3", owner_id="bob")]), 1)
    assert 'data-item="7" data-version="3"' in html
    assert '<input type="checkbox" data-item-toggle aria-label="Done">' in html
    assert '<select data-reassign data-current="bob"' in html
    assert 'data-item-action="dismiss"' in html
    assert 'data-item-action="reopen"' not in html


def test_done_and_dismissed_items() -> None:
    done = ItemView(id=1, version="2", status="done")
    dismissed = ItemView(id=2, version="5", status="dismissed")
    html = render.reply_html(_recap([done, dismissed]), 1)
    assert 'class="item done"' in html and " checked>" in html
    assert 'class="item dismissed"' in html and " disabled>" in html
    assert html.count('data-item-action="reopen"') == 1  # the done one: its checkbox
    assert "data-reassign" not in html


def test_a_reassigned_owner_and_the_issue_link_show() -> None:
    view = ItemView(
        id=3,
        owner_id="cy",
        owner_name="Cy",
        tracker="github",
        tracker_ref="acme/app#4",
        tracker_url="https://github.com/acme/app/issues/4",
        export_state="created",
    )
    html = render.reply_html(_recap([view]), 1)
    assert "@Cy" in html and "@Bob" not in html
    assert 'href="https://github.com/acme/app/issues/4"' in html and "acme/app#4" in html
    assert 'data-item-action="export"' not in html
    linked = render.reply_html(_recap([ItemView(id=3, tracker="linear")]), 1)
    assert 'data-item-action="export">Create issue</button>' in linked


def test_hostile_text_stays_inert_and_bad_links_are_dropped() -> None:
    item = ActionItem(task=EVIL, owner=EVIL)
    view = ItemView(
        id=1, version='"><script>', owner_name=EVIL, tracker_ref=EVIL, tracker_url="javascript:1"
    )
    reply = RecapReply(recap=Recap(summary="s", action_items=[item]), title="t", items=(view,))
    html = render.reply_html(reply, 1)
    assert "<img" not in html and "<script>" not in html and "javascript:" not in html


def test_many_items_get_buttons_on_the_first_only_with_a_hint() -> None:
    html = render.reply_html(_recap([ItemView(id=n + 1) for n in range(20)]), 1)
    assert html.count("data-item-toggle") == 15
    assert "Task 19" in html and "@balafon items" in html


def test_items_and_lists_survive_a_restart() -> None:
    recap = _recap([None, ItemView(id=2, version="9", status="done", channel="general")])
    assert replies.load(replies.dump(recap)) == recap
    listing = ItemListReply(
        title="Your open items",
        groups=(
            ("Overdue", ((ActionItem(task="Pay", due=date(2026, 12, 1)), ItemView(id=4)),)),
            ("Later", ()),
        ),
        links={"1.2": "/playground/?channel=general&message=2"},
    )
    assert replies.load(replies.dump(listing)) == listing
    assert "#4 Pay" in replies.plain_text(listing)


def test_a_list_is_grouped_and_numbered_with_its_channel() -> None:
    listing = ItemListReply(
        title="Open items in <#general>",
        groups=(("Due this week", ((ActionItem(task="Pay"), ItemView(id=4, channel="design")),)),),
    )
    html = render.reply_html(listing, 1)
    assert "<h4>Due this week</h4>" in html
    assert '<span class="number">#4</span>' in html
    assert 'data-channel="design"' in html and 'data-channel="general"' in html
    empty = render.reply_html(ItemListReply(title="Items", groups=()), 1)
    assert "No open action items." in empty
