"""What the rest of the bot does with stored items (issue #16): the ItemViews a recap post
carries, a change applied with its history, and every post showing the item re-rendered
in place so everyone sees its state now."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.background import Background
from bot.ports import ItemView, OpenItem, Place, RecapReply, ReplyTarget
from bot.storage.base import row_id
from bot.storage.models import ActionItemRecord, Channel, RecapRecord
from summarizer.types import ActionItem, Recap

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
# Re-rendering runs after the click is answered (within Slack's 3 s), one set of tasks
# for the process.
_background = Background(limit=None)


def spawn(work: Coroutine[Any, Any, Any], *, what: str = "item posts") -> None:
    """Run `work` in the background (its failures logged): what a click must not wait for."""
    _background.spawn(work, what=what)


async def drain() -> None:
    """Wait for the background work started so far (tests; a clean shutdown)."""
    await _background.settle()


# --- what a recap post carries ------------------------------------------------------------


async def recap_reply_items(
    services: Services, recap_row: RecapRecord | None, recap: Recap
) -> tuple[ItemView | None, ...]:
    """The ItemViews of a stored recap, position for position (empty when not stored)."""
    if recap_row is None:
        return ()
    return await asyncio.to_thread(_views_of, services, row_id(recap_row), len(recap.action_items))


async def store_recap(
    services: Services,
    channel: Channel,
    recap: Recap,
    *,
    reuse_job: bool = True,
    now: datetime | None = None,
    **fields: Any,
) -> tuple[RecapRecord | None, Recap, tuple[ItemView | None, ...]]:
    """Save a recap and its items before it is posted: (row, the recap to post, its
    ItemViews), dated `now` (default: the clock). A retried job (`job_id` in `fields`,
    `reuse_job`) finds the recap it saved before and posts that one. (None, recap, ())
    when the job is gone (forgotten)."""
    job_id = fields.get("job_id")
    row = None
    if reuse_job and job_id is not None:
        row = await asyncio.to_thread(services.repo.items.recap_by_job, job_id)
        if row is not None:
            recap = Recap.model_validate(row.recap)
    if row is None:
        save = services.repo.save_recap
        row = await asyncio.to_thread(save, channel, recap, now=now or services.clock(), **fields)
    return row, recap, await recap_reply_items(services, row, recap)


def _views_of(services: Services, recap_id: int, count: int) -> tuple[ItemView | None, ...]:
    return _stored_of(services, recap_id, count)[1]


def _stored_of(
    services: Services, recap_id: int, count: int
) -> tuple[list[ActionItemRecord | None], tuple[ItemView | None, ...]]:
    """The stored items of a recap, position for position, and their ItemViews."""
    store = services.repo.items
    slots = store.recap_items(recap_id, count)
    views = iter(store.views([row for row in slots if row is not None]))
    return slots, tuple(next(views) if row is not None else None for row in slots)


def post_record(target: ReplyTarget, message_id: str, reply: RecapReply) -> dict[str, Any] | None:
    """What `RecapRecord.post` keeps of a post, to re-render it; None for a post that
    cannot be updated later (ephemeral, through a slash command's response URL)."""
    if target.ephemeral_to or target.response_url or not message_id:
        return None
    post: dict[str, Any] = {
        "platform": target.place.platform,
        "workspace": target.place.workspace,
        "channel": target.place.channel,
        "thread": target.place.thread,
        "message_id": message_id,
        "title": reply.title,
        "links": dict(reply.links),
    }
    if reply.still_open:
        post["still_open"] = [
            {"item": open_item.item.model_dump(mode="json"), "since": open_item.since.isoformat()}
            for open_item in reply.still_open
        ]
    if reply.as_of is not None:
        post["as_of"] = reply.as_of.isoformat()
    return post


async def remember_post(
    services: Services, recap_row: RecapRecord | None, target: ReplyTarget, message_id: str,
    reply: RecapReply,
) -> None:  # fmt: skip
    """Store where the recap was posted (not for ephemeral or response-URL posts), update
    the earlier posts of items whose due date or owner it changed, then export its items
    where the channel asks for it (AUTO_EXPORT): after the post, so the export's outcome
    re-renders a post that is known."""
    from bot.features.items.trackers import auto_export_recap  # trackers import this module

    post = post_record(target, message_id, reply)
    if recap_row is not None and post is not None:
        await asyncio.to_thread(services.repo.items.set_post, row_id(recap_row), post)
    if recap_row is not None:
        await refresh_moved(services, recap_row)
    await auto_export_recap(services, recap_row)


def rebuild_reply(row: RecapRecord, views: tuple[ItemView | None, ...]) -> RecapReply:
    """The recap post as it looks now: its recap, title and links as posted, and its
    items' state now."""
    post = row.post or {}
    return RecapReply(
        recap=Recap.model_validate(row.recap),
        title=str(post.get("title") or "Recap"),
        links=dict(post.get("links") or {}),
        still_open=tuple(
            OpenItem(
                item=ActionItem.model_validate(entry["item"]),
                since=datetime.fromisoformat(entry["since"]),
            )
            for entry in post.get("still_open") or ()
        ),
        as_of=datetime.fromisoformat(post["as_of"]) if post.get("as_of") else None,
        items=views,
    )


async def rendered_recap(services: Services, row: RecapRecord) -> RecapReply:
    """The recap post re-rendered: its items' state now, their due dates as stored (a
    later recap may have moved one; the owner shown comes from the ItemView)."""
    count = len(row.recap.get("action_items") or ())
    slots, views = await asyncio.to_thread(_stored_of, services, row_id(row), count)
    reply = rebuild_reply(row, views)
    said = reply.recap.action_items
    items = [
        item.model_copy(update={"due": stored.due})
        if stored is not None and stored.due is not None and stored.due != item.due
        else item
        for item, stored in zip(said, slots, strict=True)
    ]
    if items == said:
        return reply
    return replace(reply, recap=reply.recap.model_copy(update={"action_items": items}))


def as_action_item(row: ActionItemRecord) -> ActionItem:
    """The stored item as the recap types carry it."""
    return ActionItem(
        task=row.task,
        owner=row.owner_name,
        owner_id=row.owner_id,
        due=row.due,
        ref=row.source_ref,
        confidence=row.confidence,
    )


# --- changes ------------------------------------------------------------------------------


async def apply_change(
    services: Services,
    item_id: int,
    *,
    actor: str,
    status: str | None = None,
    owner_id: str | None = None,
    owner_name: str | None = None,
    due: date | None = None,
    refresh: bool = True,
) -> ActionItemRecord | None:
    """Change the item (its history records `actor`) and, when something changed, re-render
    every post showing it (in the background: failures are logged, never the clicker's).
    None when the item is gone."""
    row, changed = await asyncio.to_thread(
        services.repo.items.change,
        item_id,
        actor=actor,
        status=status,
        owner_id=owner_id,
        owner_name=owner_name,
        due=due,
        now=services.clock(),
    )
    if row is not None and changed and refresh:
        spawn(refresh_posts(services, item_id))
    if row is not None and changed and status is not None:
        # An exported item's issue follows (bot/features/items/trackers.py).
        from bot.features.items.trackers import push_status

        await push_status(services, item_id, actor)
    if row is not None and changed and (owner_id or owner_name):
        # Given an owner, the item is confirmed: AUTO_EXPORT exports it now.
        from bot.features.items.trackers import auto_export

        await auto_export(services, [item_id])
    return row


async def refresh_posts(
    services: Services, item_id: int, *, skip: tuple[str, str] | None = None
) -> int:
    """Update in place every post of a recap showing the item (`skip`: (channel, message
    id) already updated by the caller); the number updated. Failures are logged."""
    rows = await asyncio.to_thread(services.repo.items.recaps_showing, item_id)
    return await refresh_recaps(services, rows, skip=skip, why=f"item {item_id}")


async def refresh_recaps(
    services: Services,
    rows: Iterable[RecapRecord],
    *,
    skip: tuple[str, str] | None = None,
    why: str = "",
) -> int:
    """Re-render the posts of these recaps with their items' state now (an item gone:
    its line without buttons); the number updated. Failures are logged."""
    updated = 0
    for row in rows:
        post = row.post or {}
        message_id, channel = post.get("message_id"), post.get("channel")
        if not message_id or not channel or (channel, message_id) == skip:
            continue
        try:
            place = await _place_of(services, row, post)
            platform = services.platforms.get(place.platform) if place else None
            if place is None or platform is None:
                continue
            reply = await rendered_recap(services, row)
            await platform.update(ReplyTarget(place=place), str(message_id), reply)
            updated += 1
        except Exception:
            log.warning("could not re-render recap %s (%s)", row.id, why, exc_info=True)
    return updated


async def refresh_moved(services: Services, recap_row: RecapRecord) -> int:
    """After a recap is posted: the earlier posts of the items whose due date or owner it
    changed (`_seen`) show them as they are now."""
    items = services.repo.items
    recaps: dict[int, RecapRecord] = {}
    for item_id in await asyncio.to_thread(items.moved_by_recap, row_id(recap_row)):
        for row in await asyncio.to_thread(items.recaps_showing, item_id):
            recaps.setdefault(row_id(row), row)  # each post once, however many items moved
    recaps.pop(row_id(recap_row), None)  # just posted as it is now
    why = f"items moved by recap {recap_row.id}"
    return await refresh_recaps(services, recaps.values(), why=why)


async def _place_of(services: Services, row: RecapRecord, post: dict[str, Any]) -> Place | None:
    platform, workspace = post.get("platform"), post.get("workspace")
    if not platform or not workspace:
        found = await asyncio.to_thread(services.repo.items.workspace, row.workspace_id)
        if found is None:
            return None
        platform, workspace = found.platform, found.external_id
    return Place(
        platform=str(platform),
        workspace=str(workspace),
        channel=str(post["channel"]),
        thread=post.get("thread"),
    )
