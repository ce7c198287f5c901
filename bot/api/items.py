"""`GET /v1/action-items` and `PATCH /v1/action-items/{id}` (issue #16): stored action items
for other tools, filtered by owner, channel, status and due date, and changed with their
history (the actor is the API token that asked: `api` or `api:access`)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any, Literal

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api.routing import media_type, validation_details
from bot.api.schemas import ActionItemList, ActionItemOut, ActionItemPatch
from bot.features.items import service
from bot.http import BodyTooLargeError, problem, read_body
from bot.services import Services
from bot.storage.base import row_id
from bot.storage.items import version_of
from bot.storage.models import ActionItemRecord

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_PATCH_BYTES = 16 * 1024
FILTERS = {"owner", "channel", "workspace", "platform", "status", "due_before", "limit", "after"}
STATUSES = ("open", "done", "dismissed", "any")
ID_MAX = 2**63 - 1


class Invalid(ValueError):
    """A query parameter that says what to fix."""


class ApiItems:
    def __init__(self, core: Services) -> None:
        self.core = core

    async def listing(self, request: Request) -> Response:
        try:
            filters = self._filters(dict(request.query_params), list(request.query_params))
        except Invalid as exc:
            return problem(422, "invalid", str(exc))
        rows = await asyncio.to_thread(self._query, filters)
        limit = filters["limit"]
        more = len(rows) > limit
        rows = rows[:limit]
        body = ActionItemList(
            items=await asyncio.to_thread(self._out, rows),
            next_after=row_id(rows[-1]) if more and rows else None,
        )
        return JSONResponse(body.model_dump(mode="json"))

    @staticmethod
    def _filters(params: dict[str, str], names: list[str]) -> dict[str, Any]:
        if unknown := sorted(set(names) - FILTERS):
            listed = ", ".join(f"`{name}`" for name in unknown)[:200]
            raise Invalid(f"Unknown parameters {listed}: filter by {', '.join(sorted(FILTERS))}.")
        if len(names) != len(set(names)):
            raise Invalid("Give each parameter once.")
        status = params.get("status", "open")
        if status not in STATUSES:
            raise Invalid("`status` is open, done, dismissed or any.")
        due_before = None
        if "due_before" in params:
            try:
                due_before = date.fromisoformat(params["due_before"])
            except ValueError:
                raise Invalid("`due_before` is a date: 2026-12-31.") from None
        limit = _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        after = _integer(params, "after", 0, 0, ID_MAX)
        for name in ("owner", "channel", "workspace", "platform"):
            if name in params and not 0 < len(params[name]) <= 200:
                raise Invalid(f"`{name}` is 1 to 200 characters.")
        return {
            "owner": params.get("owner"),
            "channel": params.get("channel"),
            "workspace": params.get("workspace"),
            "platform": params.get("platform"),
            "status": None if status == "any" else status,
            "due_before": due_before,
            "limit": limit,
            "after": after or None,
        }

    def _query(self, filters: dict[str, Any]) -> list[ActionItemRecord]:
        items = self.core.repo.items
        channel_ids = None
        if filters["channel"] or filters["workspace"] or filters["platform"]:
            channel_ids = items.channels_matching(
                platform=filters["platform"],
                workspace=filters["workspace"],
                channel=filters["channel"],
            )
        return items.query(
            owner_id=filters["owner"],
            channel_ids=channel_ids,
            status=filters["status"],
            due_before=filters["due_before"],
            limit=filters["limit"] + 1,
            after_id=filters["after"],
            order="id",
        )

    def _out(self, rows: list[ActionItemRecord]) -> list[ActionItemOut]:
        items = self.core.repo.items
        places = items.places(row.channel_id for row in rows)
        views = items.views(rows)
        return [
            _item_out(row, view.tracker, places.get(row.channel_id))
            for row, view in zip(rows, views, strict=True)
        ]

    async def patch(self, request: Request, actor: str) -> Response:
        item_id = _path_id(request.path_params.get("item_id", ""))
        if item_id is None:
            return problem(404, "not_found", "There is no such action item.")
        if media_type(request) != "application/json":
            return problem(
                415, "unsupported_media_type", "Send JSON (Content-Type: application/json)."
            )
        try:
            body = await read_body(request, MAX_PATCH_BYTES)
        except BodyTooLargeError:
            return problem(413, "too_large", "The body is over the 16 KB limit.")
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return problem(400, "malformed", "The body is not valid JSON.")
        try:
            patch = ActionItemPatch.model_validate_json(body)
        except ValidationError as exc:
            details = validation_details(exc)
            return problem(422, "invalid", "The body does not match the schema.", details=details)
        if patch.status is None and patch.owner_id is None and patch.owner_name is None:
            return problem(
                422, "invalid", "Change something: `status`, `owner_id` or `owner_name`."
            )
        row = await service.apply_change(
            self.core,
            item_id,
            actor=actor,
            status=patch.status,
            owner_id=patch.owner_id,
            owner_name=patch.owner_name,
        )
        if row is None:
            return problem(404, "not_found", f"There is no action item {item_id}.")
        [out] = await asyncio.to_thread(self._out, [row])
        return JSONResponse(out.model_dump(mode="json"))


def _integer(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in params:
        return default
    text = params[name]
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise Invalid(f"`{name}` is a whole number from {low} to {high}.")
    return int(text)


def _path_id(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text) if 0 < int(text) <= ID_MAX else None


def _item_out(
    row: ActionItemRecord, tracker: str | None, place: tuple[str, str, str] | None
) -> ActionItemOut:
    platform, workspace, channel = place or (None, None, None)
    return ActionItemOut(
        id=row_id(row),
        status=_status(row.status),
        task=row.task,
        owner_id=row.owner_id,
        owner_name=row.owner_name,
        due=row.due,
        source_ref=row.source_ref,
        confidence=row.confidence,
        platform=platform,
        workspace=workspace,
        channel=channel,
        thread=row.thread_id,
        requested_by=row.requested_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=version_of(row),
        tracker=row.tracker or tracker,
        tracker_ref=row.tracker_ref,
        tracker_url=row.tracker_url,
        export_state=row.export_state,
    )


def _status(value: str) -> Literal["open", "done", "dismissed"]:
    if value == "done":
        return "done"
    return "dismissed" if value == "dismissed" else "open"
