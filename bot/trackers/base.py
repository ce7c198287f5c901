"""What every tracker client shares: the issue it creates, the state change a webhook
reports, the errors, the item marker that makes creation idempotent, and signatures."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from bot.errors import BalafonError

TRACKERS = ("github", "jira", "linear")
TrackerState = Literal["open", "closed"]


@dataclass(frozen=True, kw_only=True)
class TrackerIssue:
    """An issue as the bot stores it: `ref` for people ("owner/repo#12", "ENG-42"), `url`
    to open it, `id` the service's own id (what webhooks may name instead of `ref`)."""

    ref: str
    url: str
    id: str


@dataclass(frozen=True, kw_only=True)
class TrackerEvent:
    """A webhook's news about one issue: it is now open or closed (`refs`: every name the
    service gave it, any of which the bot may have stored)."""

    tracker: str
    refs: tuple[str, ...]
    state: TrackerState
    # Why it was closed: completed, or not_planned (GitHub's "not planned", Linear's
    # canceled): the item is then done, or dismissed.
    reason: str = "completed"
    # The service's id of this delivery, the same across its retries ("" if none).
    delivery: str = ""
    # Jira and Linear report a move between any two statuses: the id of the one the issue
    # left, asked (`is_closed_status`) before the event counts, since only a move across
    # the open/closed line changes the item (To Do -> In Progress must not reopen it).
    # None: the event is such a move already (GitHub's closed, reopened).
    left_status: str | None = None


@dataclass(frozen=True, kw_only=True)
class Idempotency:
    """What makes creating an item's issue safe to repeat: `marker` is written into the
    issue (body, label or id) and looked up before creating again; `since` is when this
    export began (issues older than it cannot be ours); `maybe_created` says an earlier
    attempt may have created it already (a retried job), so look first."""

    marker: str
    since: datetime
    maybe_created: bool = False


class TrackerError(BalafonError):
    """A tracker call failed; `message` is fit to show to the person who asked."""


class TrackerRejected(TrackerError):
    """The service refused the request (a 4xx other than a rate limit): retrying will
    not help until someone fixes the token, its scopes or the linked target."""


class TrackerUnavailable(TrackerError):
    """The service did not answer in a usable way (5xx, timeout, rate limit for longer
    than we wait): a later attempt may succeed. `retry_after`: seconds it asked for."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TrackerUnavailable):
    """The service asked to wait longer than we do in one go: nothing was done."""


class SignatureError(TrackerError):
    """A webhook without a valid signature (answered 401, nothing changes)."""


@runtime_checkable
class Tracker(Protocol):
    """One configured tracker service."""

    name: str

    def check_target(self, target: str) -> str:
        """`target` in its normal form (ValueError with what is expected otherwise)."""
        ...

    async def create_issue(
        self, target: str, title: str, body: str, *, idempotency: Idempotency
    ) -> TrackerIssue: ...

    async def set_state(self, issue: TrackerIssue, state: TrackerState, *, reason: str) -> bool:
        """Close or reopen the issue (`reason`: completed or not_planned, for a close);
        False when its workflow offers no way there. Idempotent."""
        ...

    def parse_webhook(
        self, headers: dict[str, str], body: bytes, *, now: datetime
    ) -> TrackerEvent | None:
        """Verify `body` (SignatureError otherwise, also for a stale delivery where the
        service dates them), then the state change it reports, or None for an event that
        changes no issue's state."""
        ...

    async def is_closed_status(self, status_id: str) -> bool:
        """Whether the service's status (workflow state) `status_id` counts as closed
        (TrackerRejected for one it does not know)."""
        ...

    async def aclose(self) -> None: ...


def item_marker(item_id: int, token: str) -> str:
    """The name an exported item carries in its issue (a hidden comment, a label, the
    Linear id derived from it): its id for people, and the random token of its export,
    since ids are reused (SQLite, after a delete) and repeat across deployments."""
    if not token.isalnum():
        raise ValueError("an export token is letters and digits")
    return f"balafon-item-{item_id}-{token}"


def hmac_sha256(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hex_signature(secret: str, body: bytes, given: str | None, *, prefix: str = "") -> None:
    """`given` must be `prefix` + the hex HMAC-SHA256 of the raw body under `secret`,
    compared in constant time; SignatureError otherwise (also for an unset secret)."""
    if not secret or not given:
        raise SignatureError("missing signature")
    expected = prefix + hmac_sha256(secret, body)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureError("bad signature")


__all__ = [
    "TRACKERS",
    "Idempotency",
    "RateLimited",
    "SignatureError",
    "Tracker",
    "TrackerError",
    "TrackerEvent",
    "TrackerIssue",
    "TrackerRejected",
    "TrackerState",
    "TrackerUnavailable",
    "hmac_sha256",
    "item_marker",
    "verify_hex_signature",
]
