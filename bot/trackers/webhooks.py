"""`POST /webhooks/github`, `/webhooks/jira`, `/webhooks/linear`: a tracker says an issue
was closed or reopened, and the items exported as that issue follow.

The signature is checked on the raw body, in constant time, before anything is parsed: a
missing or bad one (or no secret configured) gets 401 and changes nothing. An issue the
bot did not create, or an event that changes no state, gets 200 and is ignored; a replay
finds the item in that state already and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.http import BodyTooLargeError, problem, read_body
from bot.trackers.base import TRACKERS, SignatureError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
PREFIX = "/webhooks"
WEBHOOK_PATHS = tuple(f"{PREFIX}/{name}" for name in TRACKERS)
BODY_LIMIT = 1024 * 1024  # issue payloads carry the text: well under this


class TrackerWebhooks:
    """Mounted on the app by bot/main.py (a `Mountable`)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def routes(self) -> Sequence[BaseRoute]:
        return [Route(f"{PREFIX}/{{tracker}}", self.receive, methods=["POST"])]

    def body_limits(self) -> Mapping[str, int]:
        return {PREFIX: BODY_LIMIT}

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        await self.services.trackers.aclose()

    async def receive(self, request: Request) -> Response:
        from bot.features.items.trackers import apply_tracker_event

        name = request.path_params["tracker"]
        client = self.services.trackers.get(name) if name in TRACKERS else None
        if client is None:
            return problem(404, "not_configured", f"No tracker {name!r} is set up here.")
        try:
            body = await read_body(request, BODY_LIMIT)
        except BodyTooLargeError:
            return problem(413, "too_large", "The webhook body is too large.")
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            event = client.parse_webhook(headers, body, now=self.services.clock())
        except SignatureError as exc:
            log.warning("refused a %s webhook: %s", name, exc)
            return problem(401, "bad_signature", "The webhook signature is missing or wrong.")
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # signed, unreadable
            log.warning("unreadable %s webhook: %s", name, exc)
            return problem(400, "bad_payload", "The webhook body is not what was expected.")
        if event is None:
            return JSONResponse({"ok": True, "changed": 0})
        changed = await apply_tracker_event(self.services, event)
        log.info(
            "%s webhook: %s is %s (%d item(s) changed)", name, event.refs, event.state, changed
        )
        return JSONResponse({"ok": True, "changed": changed})


__all__ = ["WEBHOOK_PATHS", "TrackerWebhooks"]
