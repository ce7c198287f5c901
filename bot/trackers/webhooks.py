"""`POST /webhooks/github`, `/webhooks/jira`, `/webhooks/linear`: a tracker says an issue
was closed or reopened, and the items exported as that issue follow.

The signature is checked on the raw body, in constant time, before anything is parsed: a
missing or bad one (or no secret configured) gets 401 and changes nothing; so does a
stale one where the service dates its deliveries (Jira, Linear). An issue the bot did not
create, or an event that changes no state, gets 200 and is ignored.

A replay changes nothing: each delivery that reports a change is claimed once in the
processed events table, by the service's delivery id (X-GitHub-Delivery,
X-Atlassian-Webhook-Identifier, Linear-Delivery: the same across the service's retries)
and by the digest of its signed body (the id is not signed: a captured body sent again
under a new id is the same body). Without that, a `closed` replayed after a reopen would
close the item again. A delivery that fails here (the tracker could not be asked, 503) is
released, so the service's retry is handled.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.http import BodyTooLargeError, problem, read_body
from bot.trackers.base import TRACKERS, SignatureError, TrackerEvent, TrackerUnavailable

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
PREFIX = "/webhooks"
WEBHOOK_PATHS = tuple(f"{PREFIX}/{name}" for name in TRACKERS)
BODY_LIMIT = 1024 * 1024  # issue payloads carry the text: well under this
_DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")


def delivery_keys(tracker: str, event: TrackerEvent, body: bytes) -> list[str]:
    """The processed-event keys that make a delivery count once."""
    keys = [f"webhook:{tracker}:{hashlib.sha256(body).hexdigest()}"]
    if _DELIVERY_ID.fullmatch(event.delivery):
        keys.insert(0, f"webhook:{tracker}:{event.delivery}")
    return keys


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
        repo = self.services.repo
        claimed: list[str] = []
        for key in delivery_keys(name, event, body):
            if not await asyncio.to_thread(repo.first_time_seen, key):
                log.info("%s webhook: %s was handled before (a replay)", name, key)
                return JSONResponse({"ok": True, "changed": 0, "duplicate": True})
            claimed.append(key)
        try:
            changed = await apply_tracker_event(self.services, event)
        except Exception as exc:
            for key in claimed:  # not handled: the service's retry must be
                await asyncio.to_thread(repo.forget_event, key)
            if isinstance(exc, TrackerUnavailable):
                log.warning("%s webhook: %s", name, exc)
                return problem(503, "unavailable", f"{name} could not be asked; retry later.")
            raise
        log.info(
            "%s webhook: %s is %s (%d item(s) changed)", name, event.refs, event.state, changed
        )
        return JSONResponse({"ok": True, "changed": changed})


__all__ = ["WEBHOOK_PATHS", "TrackerWebhooks", "delivery_keys"]
