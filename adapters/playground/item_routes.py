"""The playground's endpoint for action item buttons (issue #16):
`POST /playground/api/items/<id>/actions` with `{user, action, version, message, owner?,
key?}`, guarded like every other change (the access token and the X-Playground header).
The answer is the message re-rendered, and the notice for the clicker, if any."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.playground import render
from adapters.playground.store import StoreError
from bot.http import BodyTooLargeError

if TYPE_CHECKING:
    from adapters.playground.web import Web

CLICK_KEY = re.compile(r"[A-Za-z0-9-]{16,64}")  # the page's key for one click (retries)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ItemRoutes:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def act(self, request: Request) -> Response:
        try:
            data = await self.web.read_json(request)
            message, key, owner = _int(data.get("message")), data.get("key"), data.get("owner")
            if message is None or (key is not None and not _is_key(key)):
                raise StoreError("That is not an action item button.")
            result = await self.web.inbound.item_action(
                user=str(data.get("user") or ""),
                item_id=request.path_params["id"],
                action=str(data.get("action") or ""),
                version=str(data.get("version") or ""),
                message_id=message,
                owner=owner if isinstance(owner, str) else None,
                key=key,
            )
        except (StoreError, BodyTooLargeError) as exc:
            return self.web.refused(exc)
        row = await asyncio.to_thread(self.web.store.message, message)
        return JSONResponse(
            {
                "changed": result.changed,
                "notice": result.notice,
                "message": render.message_json(row) if row else None,
            }
        )


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and CLICK_KEY.fullmatch(value) is not None
