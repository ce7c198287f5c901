"""Exporting an item to its channel's tracker (the "Create issue" button, AUTO_EXPORT),
and the tracker's webhooks bringing the issue's state back.

Exactly one issue per item: a press claims the export with a conditional update (a second
press finds it pending), the job's idempotency key is the item and the attempt, and the
tracker client looks for the item's marker before creating again after a failure that may
have created the issue (bot/trackers). A failed export is told in the item's thread and
can be retried by pressing again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from bot import sentences
from bot.errors import NotYet, PermanentJobError, TransientJobError
from bot.features.items import service
from bot.job_kinds import JobKind, JobPayload
from bot.jobs import JobContext
from bot.ports import ErrorReply, Place, ReplyTarget
from bot.storage.models import ActionItemRecord, Job, RecapRecord
from bot.storage.trackers import ItemHome, TrackerStore
from bot.trackers.base import (
    TRACKERS,
    Idempotency,
    RateLimited,
    TrackerEvent,
    TrackerIssue,
    TrackerRejected,
    TrackerState,
    TrackerUnavailable,
    item_marker,
)

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
KIND = "tracker_export"
NAMES = {"github": "GitHub", "jira": "Jira", "linear": "Linear"}
# A rate limit longer than the client waits puts the job back until the service's reset
# (not counted as an attempt), at most this long at a time.
RATE_LIMIT_WAIT_MAX = 3600.0


class ExportPayload(JobPayload):
    item_id: int
    actor: str  # who pressed (or "bot": AUTO_EXPORT)
    tracker: str
    target: str
    attempt: int = 0  # earlier exports of this item that failed
    # The item's channel, shaped like a Place: `forget` finds and deletes the job by it.
    place: dict[str, str] = Field(default_factory=dict)


def _store(services: Services) -> TrackerStore:
    return TrackerStore(services.repo.engine)


async def request_export(services: Services, item_id: int, actor: str) -> str:
    """Start exporting the item (the "Create issue" button): the notice to show."""
    store = _store(services)
    item = await asyncio.to_thread(store.item, item_id)
    if item is None:
        return sentences.EXPORT_NO_ITEM
    if item.tracker_ref:
        return sentences.EXPORT_EXISTS.format(ref=item.tracker_ref, url=item.tracker_url)
    link = await asyncio.to_thread(store.link_of, item.channel_id)
    if link is None:
        return sentences.NOT_LINKED
    if missing := services.trackers.config.missing(link.tracker):
        return sentences.TRACKER_NOT_CONFIGURED.format(
            tracker=NAMES[link.tracker], missing=" and ".join(missing)
        )
    claimed = await asyncio.to_thread(store.claim_export, item_id, link.tracker, actor)
    if not claimed:
        item = await asyncio.to_thread(store.item, item_id)
        if item is None:
            return sentences.EXPORT_NO_ITEM
        if item.tracker_ref:
            return sentences.EXPORT_EXISTS.format(ref=item.tracker_ref, url=item.tracker_url)
        if await _ended_unstored(services, item_id):
            # Its job ended without storing an issue or saying so (the process died in
            # between): this press starts the next attempt.
            await asyncio.to_thread(store.mark_failed, item_id)
            claimed = await asyncio.to_thread(store.claim_export, item_id, link.tracker, actor)
    # Pending, claimed now or before: its job exists, or is written now (a crash between
    # the claim and the job leaves the claim; the next press finishes it). Same key: one.
    item = await asyncio.to_thread(store.item, item_id)  # with the token the claim gave
    if item is None:
        return sentences.EXPORT_NO_ITEM
    attempt = await asyncio.to_thread(store.export_attempt, item_id)
    home = await asyncio.to_thread(store.home_of, item)
    payload = ExportPayload(
        item_id=item_id,
        actor=actor,
        tracker=link.tracker,
        target=link.target,
        attempt=attempt,
        place=_place_dict(home),
    )
    await asyncio.to_thread(
        services.queue.enqueue,
        KIND,
        payload.stored(),
        key=_export_key(item, attempt),
        workspace_id=item.workspace_id,
    )
    if not claimed:
        return sentences.EXPORT_PENDING
    service.spawn(refresh(services, item_id))  # its posts show "creating…" (not awaited: 3 s)
    return sentences.EXPORT_STARTED.format(tracker=NAMES[link.tracker])


def _export_key(item: ActionItemRecord, attempt: int) -> str:
    """The job's key: the item (its id and export token: a deleted item's job does not
    stand for a new item given the same id) and the attempt."""
    return f"export:{item.id}:{item.export_token}:{attempt}"


async def _ended_unstored(services: Services, item_id: int) -> bool:
    """The pending export's job has finished (done or failed) yet the item has no issue."""
    store = _store(services)
    item = await asyncio.to_thread(store.item, item_id)
    if item is None:
        return False
    attempt = await asyncio.to_thread(store.export_attempt, item_id)
    job = await asyncio.to_thread(services.repo.job_by_key, _export_key(item, attempt))
    return job is not None and job.status in ("done", "failed")


async def auto_export(services: Services, item_ids: Iterable[int]) -> int:
    """AUTO_EXPORT=true: export the confirmed open items of linked channels that were
    never exported. Confirmed: someone owns it (they committed to it, took the request on,
    or a person assigned it); an unowned item waits for its button, or for its owner.
    Call it after items are stored or given an owner; returns how many started."""
    if not services.trackers.auto_export:
        return 0
    store = _store(services)
    started = 0
    for item, _ in await asyncio.to_thread(store.linked_items, list(item_ids)):
        if item.status != "open" or item.export_state is not None or item.id is None:
            continue
        if not (item.owner_id or item.owner_name):
            continue
        notice = await request_export(services, item.id, "bot")
        started += notice.startswith(sentences.EXPORT_STARTED.split("{")[0])
    return started


async def auto_export_recap(services: Services, recap_row: RecapRecord | None) -> int:
    """`auto_export` for the items of a recap just saved (`repo.save_recap`'s row; None:
    nothing was saved). Cheap when AUTO_EXPORT is off or the channel is not linked."""
    if recap_row is None or recap_row.id is None or not services.trackers.auto_export:
        return 0
    item_ids = await asyncio.to_thread(_store(services).items_of_recap, recap_row.id)
    return await auto_export(services, item_ids)


def issue_body(item: ActionItemRecord) -> str:
    lines = ["An action item from a recap."]
    if item.owner_name or item.owner_id:
        lines.append(f"Owner: {item.owner_name or item.owner_id}")
    if item.due:
        lines.append(f"Due: {item.due.isoformat()}")
    return "\n".join(lines)


def job_kind(services: Services) -> JobKind[ExportPayload]:
    store = _store(services)

    async def run(job: Job, payload: ExportPayload, context: JobContext) -> dict[str, Any] | None:
        item = await asyncio.to_thread(store.item, payload.item_id)
        if item is None:
            return {"skipped": "item deleted"}
        if item.tracker_ref:  # a retried job whose first attempt finished storing
            return {"ref": item.tracker_ref, "url": item.tracker_url}
        tracker = services.trackers.get(payload.tracker)
        if tracker is None:
            missing = " and ".join(services.trackers.config.missing(payload.tracker))
            raise PermanentJobError(f"{NAMES[payload.tracker]} is not set up ({missing})")
        if not item.export_token:  # not claimed (cannot be: `claim_export` sets it)
            raise PermanentJobError("the export was not started by a press")
        idempotency = Idempotency(
            marker=item_marker(payload.item_id, item.export_token),
            since=item.created_at,
            # Always look first: an earlier run may have created the issue and died before
            # storing it, and a run handed back at shutdown does not count as an attempt.
            maybe_created=True,
        )
        try:
            issue = await tracker.create_issue(
                payload.target, item.task[:250], issue_body(item), idempotency=idempotency
            )
        except TrackerRejected as exc:
            raise PermanentJobError(str(exc)) from exc
        except RateLimited as exc:  # back when the service said, not counted as an attempt
            raise NotYet(min(RATE_LIMIT_WAIT_MAX, exc.retry_after or 60), str(exc)) from exc
        except TrackerUnavailable as exc:
            raise TransientJobError(str(exc)) from exc
        await asyncio.to_thread(
            store.store_created, payload.item_id, issue.ref, issue.url, issue.id
        )
        await refresh(services, payload.item_id)
        return {"ref": issue.ref, "url": issue.url}

    async def on_failure(job: Job, payload: ExportPayload, reason: str, user_facing: bool) -> None:
        await asyncio.to_thread(store.mark_failed, payload.item_id)
        item = await asyncio.to_thread(store.item, payload.item_id)
        if item is not None:
            text = sentences.EXPORT_FAILED.format(
                tracker=NAMES[payload.tracker],
                task=item.task[:120],
                reason=(reason if user_facing else sentences.EXPORT_GAVE_UP).rstrip("."),
            )
            await _tell(services, job, item, text)
            await refresh(services, payload.item_id)

    return JobKind(KIND, ExportPayload, run, on_failure=on_failure)


async def _tell(services: Services, job: Job, item: ActionItemRecord, text: str) -> None:
    """In the thread of the recap that shows the item (once per job)."""
    home = await asyncio.to_thread(_store(services).home_of, item)
    platform = services.platforms.get(home.platform) if home else None
    if home is None or platform is None:
        log.warning("item %s: nowhere to say %r", item.id, text)
        return
    place = Place(
        platform=home.platform, workspace=home.workspace, channel=home.channel, thread=home.thread
    )
    try:
        await services.delivery.deliver(
            f"job:{job.id}:failed", platform, ReplyTarget(place=place), ErrorReply(text=text)
        )
    except Exception:
        log.exception("could not tell %r about item %s", text, item.id)


async def apply_tracker_event(services: Services, event: TrackerEvent) -> int:
    """A tracker's webhook: the items exported as that issue take its state (closed as
    completed: done; closed as not planned: dismissed; open: open), recorded in their
    history with the tracker as actor. A closed issue leaves an item that is done or
    dismissed already as it is. Unknown issues, and moves that stay on one side of the
    open/closed line (To Do -> In Progress), change nothing. Returns how many items
    changed; TrackerUnavailable when the tracker could not say where the issue was."""
    store = _store(services)
    items = await asyncio.to_thread(store.items_of_issue, event.tracker, event.refs)
    if not items or not await _crossed(services, event):
        return 0
    changed = 0
    for item in items:
        if event.state == "open":
            status = "open"
        elif item.status != "open":
            continue  # closed either way: the person's done or dismissed stands
        else:
            status = "dismissed" if event.reason == "not_planned" else "done"
        if item.id is not None and await set_status(services, item.id, status, event.tracker):
            changed += 1
            await refresh(services, item.id)
    return changed


async def _crossed(services: Services, event: TrackerEvent) -> bool:
    """The issue moved between open and closed (not between two open statuses): an item
    closed in chat whose issue's close failed is not reopened by To Do -> In Progress."""
    if event.left_status is None:
        return True  # the event is such a move (GitHub's closed, reopened)
    tracker = services.trackers.get(event.tracker)
    if tracker is None:
        return False
    try:
        was_closed = await tracker.is_closed_status(event.left_status)
    except TrackerRejected as exc:  # a status it no longer knows: cannot tell, keep
        log.warning("%s: the status %r left is unknown: %s", event.tracker, event.left_status, exc)
        return False
    return was_closed != (event.state == "closed")


# --- chat to tracker: a person's change of status moves the issue -----------------------

STATUS_KIND = "tracker_status"


class StatusPayload(JobPayload):
    item_id: int
    place: dict[str, str] = Field(default_factory=dict)  # for `forget`, as above


async def push_status(services: Services, item_id: int, actor: str) -> bool:
    """After the item's status changed in chat: close (done, dismissed) or reopen its
    issue, in a job. Not for a change that came from the tracker itself (`actor` is its
    name); the tracker's webhook for our own change finds the item there already."""
    if actor in TRACKERS:
        return False
    try:
        return await _push_status(services, item_id)
    except Exception:  # the change itself is made; the issue catches up at the next one
        log.exception("could not queue the tracker update of item %s", item_id)
        return False


async def _push_status(services: Services, item_id: int) -> bool:
    store = _store(services)
    item = await asyncio.to_thread(store.item, item_id)
    if item is None or not item.tracker_ref or not services.trackers.get(item.tracker or ""):
        return False
    home = await asyncio.to_thread(store.home_of, item)
    payload = StatusPayload(item_id=item_id, place=_place_dict(home))
    await asyncio.to_thread(
        services.queue.enqueue,
        STATUS_KIND,
        payload.stored(),
        key=f"tracker-status:{item_id}:{item.updated_at.isoformat()}",  # one per change
        workspace_id=item.workspace_id,
    )
    return True


def status_job_kind(services: Services) -> JobKind[StatusPayload]:
    store = _store(services)

    async def run(job: Job, payload: StatusPayload, context: JobContext) -> dict[str, Any] | None:
        item = await asyncio.to_thread(store.item, payload.item_id)
        if item is None or not item.tracker_ref or not item.tracker:
            return {"skipped": "no issue"}
        tracker = services.trackers.get(item.tracker)
        if tracker is None:
            raise PermanentJobError(f"{NAMES[item.tracker]} is not set up any more")
        # The item's status when the job runs: quick changes end in the last one.
        state: TrackerState = "open" if item.status == "open" else "closed"
        reason = "not_planned" if item.status == "dismissed" else "completed"
        issue = TrackerIssue(
            ref=item.tracker_ref, url=item.tracker_url or "", id=item.tracker_id or ""
        )
        try:
            moved = await tracker.set_state(issue, state, reason=reason)
        except TrackerRejected as exc:
            raise PermanentJobError(str(exc)) from exc
        except RateLimited as exc:
            raise NotYet(min(RATE_LIMIT_WAIT_MAX, exc.retry_after or 60), str(exc)) from exc
        except TrackerUnavailable as exc:
            raise TransientJobError(str(exc)) from exc
        return {"ref": item.tracker_ref, "state": state, "moved": moved}

    async def on_failure(job: Job, payload: StatusPayload, reason: str, user_facing: bool) -> None:
        item = await asyncio.to_thread(store.item, payload.item_id)
        if item is None or not item.tracker:
            return
        text = sentences.STATUS_SYNC_FAILED.format(
            tracker=NAMES[item.tracker],
            ref=item.tracker_ref,
            reason=(reason if user_facing else sentences.EXPORT_GAVE_UP).rstrip("."),
        )
        await _tell(services, job, item, text)

    return JobKind(STATUS_KIND, StatusPayload, run, on_failure=on_failure)


def _place_dict(home: ItemHome | None) -> dict[str, str]:
    if home is None:
        return {}
    return {"platform": home.platform, "workspace": home.workspace, "channel": home.channel}


# --- the items core (bot.features.items.service) -----------------------------------------


async def set_status(services: Services, item_id: int, status: str, actor: str) -> bool:
    """Change the item's status with its history; False when it already had it (a replay)."""
    _, changed = await asyncio.to_thread(
        services.repo.items.change, item_id, actor=actor, status=status
    )
    return changed


async def refresh(services: Services, item_id: int) -> None:
    """Re-render every recap post showing the item (failures are logged there)."""
    await service.refresh_posts(services, item_id)


__all__ = [
    "ExportPayload",
    "StatusPayload",
    "apply_tracker_event",
    "auto_export",
    "auto_export_recap",
    "job_kind",
    "push_status",
    "request_export",
    "status_job_kind",
]
