"""Jira Cloud (REST API v3): issues, transitions, and admin webhooks.

Create: `POST /rest/api/3/issue` (basic auth `email:API token`), the description in
Atlassian Document Format, labelled `balafon-item-ID-TOKEN` so that an export retried after
a crash finds the issue it created (`GET /rest/api/3/search/jql`, among the issues created
since the export began). Close: unless the issue's status is in the "done" category
already, its transition to one that is. Webhook: an admin webhook with a secret signs the
raw body, `X-Hub-Signature: sha256=<hex HMAC-SHA256>`; its `timestamp` (ms) must be recent
and `X-Atlassian-Webhook-Identifier` (kept by Jira's retries) names the delivery. A
`jira:issue_updated` whose changelog moves `status` into the done category closes the
item, and one out of it reopens it; a move between two statuses of one side (To Do -> In
Progress) changes nothing. The changelog names the statuses (`from`/`fromString`,
`to`/`toString`) but not their categories: the current one is on the issue, the one left
is asked for (`GET /rest/api/3/status/{id}`).
"""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from bot.trackers.base import (
    Idempotency,
    RateLimited,
    SignatureError,
    TrackerEvent,
    TrackerIssue,
    TrackerRejected,
    TrackerState,
    TrackerUnavailable,
    verify_hex_signature,
)
from bot.trackers.client import ApiClient, Sleep

_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}")
SEARCH_INDEX_LAG = 5.0  # seconds
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}-\d{1,9}")
_STATUS_ID = re.compile(r"\d{1,18}")
# A delivery dated further from now than this is refused (a replay). Jira sends within
# seconds; a retry of a delivery we failed comes later and is lost (the item then waits
# for the issue's next move, or a person).
FRESH_SECONDS = 300
CLOCK_SLACK_MINUTES = 5  # Jira's clock and ours differ


def check_issue_key(ref: str) -> str:
    """A stored issue key, checked before it goes into a path."""
    if not _ISSUE_KEY.fullmatch(ref):
        raise ValueError(f"not a Jira issue key: {ref!r}")
    return ref


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document: a paragraph per line (ADF
    forbids empty text nodes, so blank lines are dropped)."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.splitlines()
        if line.strip()
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def check_target(target: str) -> str:
    """`target` in its normal form; ValueError saying what is expected."""
    key = target.strip().upper()
    if not _KEY.fullmatch(key):
        raise ValueError("a project key, such as ENG")
    return key


class JiraTracker:
    name = "jira"

    def __init__(
        self,
        *,
        url: str,
        email: str,
        api_token: str,
        webhook_secret: str = "",
        issue_type: str = "Task",
        sleep: Sleep | None = None,
    ) -> None:
        basic = base64.b64encode(f"{email}:{api_token}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        self.api = ApiClient("Jira", url, headers, sleep=sleep)
        self.webhook_secret = webhook_secret
        self.issue_type = issue_type

    check_target = staticmethod(check_target)

    def browse_url(self, key: str) -> str:
        return f"{self.api.base_url}/browse/{key}"

    async def create_issue(
        self, target: str, title: str, body: str, *, idempotency: Idempotency
    ) -> TrackerIssue:
        project = self.check_target(target)
        fields = {
            "project": {"key": project},
            "summary": title[:250],  # Jira's summary limit is 255
            "issuetype": {"name": self.issue_type},
            "description": adf(body),
            "labels": [idempotency.marker],
        }
        look_first = idempotency.maybe_created
        for _ in range(self.api.attempts):
            if look_first and (found := await self.find(project, idempotency)) is not None:
                return found
            try:
                response = await self.api.request(
                    "POST", "/rest/api/3/issue", json={"fields": fields}, retry_unsure=False
                )
            except RateLimited:
                raise  # refused before anything was created
            except TrackerUnavailable:
                # Jira's search is an index that trails writes by a few seconds: give an
                # issue this attempt may have created the time to show up in it.
                await self.api.sleep(SEARCH_INDEX_LAG)
                look_first = True
                continue
            created = response.json()
            if "key" not in created:
                raise TrackerRejected("Jira answered without the issue's key")
            return TrackerIssue(
                ref=created["key"], url=self.browse_url(created["key"]), id=str(created["id"])
            )
        raise TrackerUnavailable("Jira kept failing to create the issue")

    async def find(self, project: str, idempotency: Idempotency) -> TrackerIssue | None:
        """The issue carrying the marker among those created since the export began. A
        relative date (`-15m`): JQL reads an absolute one in the account's time zone."""
        age = (datetime.now(UTC) - idempotency.since).total_seconds() / 60
        minutes = max(0, math.ceil(age)) + CLOCK_SLACK_MINUTES
        jql = (
            f'project = "{project}" AND labels = "{idempotency.marker}" AND created >= -{minutes}m'
        )
        response = await self.api.request(
            "GET", "/rest/api/3/search/jql", params={"jql": jql, "fields": "summary"}
        )
        for issue in response.json().get("issues", []):
            return TrackerIssue(
                ref=issue["key"], url=self.browse_url(issue["key"]), id=str(issue["id"])
            )
        return None

    async def set_state(self, issue: TrackerIssue, state: TrackerState, *, reason: str) -> bool:
        """Take the issue's first transition to a status of the "done" category (closed),
        or of another category (open), unless its status is on that side already (an open
        issue stays in To Do, or In Progress)."""
        key = check_issue_key(issue.ref)
        current = await self.api.request(
            "GET", f"/rest/api/3/issue/{key}", params={"fields": "status"}
        )
        status = (current.json().get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        if category is not None and (category == "done") == (state == "closed"):
            return True
        response = await self.api.request("GET", f"/rest/api/3/issue/{key}/transitions")
        for transition in response.json().get("transitions", []):
            category = ((transition.get("to") or {}).get("statusCategory") or {}).get("key")
            if (category == "done") == (state == "closed"):
                await self.api.request(
                    "POST",
                    f"/rest/api/3/issue/{key}/transitions",
                    json={"transition": {"id": transition["id"]}},
                )
                return True
        return False

    def parse_webhook(
        self, headers: dict[str, str], body: bytes, *, now: datetime
    ) -> TrackerEvent | None:
        verify_hex_signature(
            self.webhook_secret, body, headers.get("x-hub-signature"), prefix="sha256="
        )
        payload = json.loads(body)
        if payload.get("webhookEvent") != "jira:issue_updated":
            return None
        sent = payload.get("timestamp")
        if not isinstance(sent, int | float) or abs(now.timestamp() - sent / 1000) > FRESH_SECONDS:
            raise SignatureError("stale or undated delivery")
        changes = (payload.get("changelog") or {}).get("items") or []
        move = next((change for change in changes if change.get("field") == "status"), None)
        if move is None:
            return None  # a comment, a new assignee: the item's status stays as it is
        issue = payload.get("issue") or {}
        status = (issue.get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        refs = tuple(str(issue[name]) for name in ("key", "id") if name in issue)
        if not refs or category is None:
            return None
        state: TrackerState = "closed" if category == "done" else "open"
        return TrackerEvent(
            tracker=self.name,
            refs=refs,
            state=state,
            delivery=headers.get("x-atlassian-webhook-identifier", ""),
            left_status=str(move.get("from") or ""),
        )

    async def is_closed_status(self, status_id: str) -> bool:
        """`GET /rest/api/3/status/{id}`: in the "done" category."""
        if not _STATUS_ID.fullmatch(status_id):
            raise TrackerRejected(f"not a Jira status id: {status_id!r}")
        response = await self.api.request("GET", f"/rest/api/3/status/{status_id}")
        category = (response.json().get("statusCategory") or {}).get("key")
        if category is None:
            raise TrackerRejected(f"Jira gave no category for the status {status_id}")
        return bool(category == "done")

    async def aclose(self) -> None:
        await self.api.aclose()
