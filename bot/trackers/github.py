"""GitHub (and GitHub Enterprise Server): issues over the REST API, `issues` webhooks.

Create: `POST /repos/{owner}/{repo}/issues` with a fine-grained token (Issues: write).
The body ends with a hidden `<!-- balafon-item-ID-TOKEN -->`, so an export retried after a
crash lists the repository's recent issues and finds the one it already created. Webhook:
the `issues` event, `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`;
`closed` and `reopened` change the item. `X-GitHub-Delivery` (a GUID, kept by a
redelivery) names the delivery, so that a replay is recognised (bot/trackers/webhooks.py).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from bot.trackers.base import (
    Idempotency,
    RateLimited,
    TrackerEvent,
    TrackerIssue,
    TrackerRejected,
    TrackerState,
    TrackerUnavailable,
    verify_hex_signature,
)
from bot.trackers.client import ApiClient, Sleep

DEFAULT_API_URL = "https://api.github.com"
_TARGET = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_STATES: dict[str, TrackerState] = {"closed": "closed", "reopened": "open"}


def marker_comment(marker: str) -> str:
    return f"<!-- {marker} -->"


def check_target(target: str) -> str:
    """`target` in its normal form; ValueError saying what is expected."""
    target = target.strip()
    repo = target.partition("/")[2]
    if not _TARGET.fullmatch(target) or repo in {".", ".."}:
        raise ValueError("OWNER/REPO, such as acme/website")
    return target


class GitHubTracker:
    name = "github"

    def __init__(
        self,
        *,
        token: str,
        api_url: str = DEFAULT_API_URL,
        webhook_secret: str = "",
        sleep: Sleep | None = None,
    ) -> None:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "balafon",
        }
        self.api = ApiClient("GitHub", api_url, headers, sleep=sleep)
        self.webhook_secret = webhook_secret

    check_target = staticmethod(check_target)

    async def create_issue(
        self, target: str, title: str, body: str, *, idempotency: Idempotency
    ) -> TrackerIssue:
        target = self.check_target(target)
        body = f"{body}\n\n{marker_comment(idempotency.marker)}"
        look_first = idempotency.maybe_created
        for _ in range(self.api.attempts):
            if look_first and (found := await self.find(target, idempotency)) is not None:
                return found
            try:
                response = await self.api.request(
                    "POST",
                    f"/repos/{target}/issues",
                    json={"title": title, "body": body},
                    retry_unsure=False,
                )
            except RateLimited:
                raise  # refused before anything was created
            except TrackerUnavailable:
                look_first = True  # it may have been created: look before trying again
                continue
            return self._issue(target, response.json())
        raise TrackerUnavailable("GitHub kept failing to create the issue")

    async def find(self, target: str, idempotency: Idempotency) -> TrackerIssue | None:
        """The issue carrying the marker, among those updated since the export began."""
        since = idempotency.since - timedelta(minutes=5)  # clocks differ
        response = await self.api.request(
            "GET",
            f"/repos/{target}/issues",
            params={
                "state": "all",
                "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sort": "created",
                "direction": "desc",
                "per_page": "100",
            },
        )
        comment = marker_comment(idempotency.marker)
        for issue in response.json():
            if "pull_request" not in issue and comment in (issue.get("body") or ""):
                return self._issue(target, issue)
        return None

    @staticmethod
    def _issue(target: str, issue: dict[str, Any]) -> TrackerIssue:
        try:
            return TrackerIssue(
                ref=f"{target}#{issue['number']}", url=issue["html_url"], id=str(issue["id"])
            )
        except (KeyError, TypeError) as exc:
            raise TrackerRejected("GitHub answered without the issue's number") from exc

    async def set_state(self, issue: TrackerIssue, state: TrackerState, *, reason: str) -> bool:
        """`PATCH /repos/{owner}/{repo}/issues/{number}` with its state (and reason)."""
        target, _, number = issue.ref.rpartition("#")
        if not number.isdigit():
            raise ValueError(f"not a GitHub issue: {issue.ref!r}")
        change: dict[str, str] = {"state": state}
        if state == "closed":
            change["state_reason"] = reason
        await self.api.request(
            "PATCH", f"/repos/{self.check_target(target)}/issues/{number}", json=change
        )
        return True

    def parse_webhook(
        self, headers: dict[str, str], body: bytes, *, now: datetime
    ) -> TrackerEvent | None:
        verify_hex_signature(
            self.webhook_secret, body, headers.get("x-hub-signature-256"), prefix="sha256="
        )
        if headers.get("x-github-event") != "issues":
            return None  # ping, and events we did not ask for
        payload = json.loads(body)
        state = _STATES.get(payload.get("action", ""))
        issue = payload.get("issue") or {}
        repository = (payload.get("repository") or {}).get("full_name")
        if state is None or "number" not in issue:
            return None
        refs = [str(issue["id"])] if "id" in issue else []
        if repository:
            refs.append(f"{repository}#{issue['number']}")
        reason = "not_planned" if issue.get("state_reason") == "not_planned" else "completed"
        return TrackerEvent(
            tracker=self.name,
            refs=tuple(refs),
            state=state,
            reason=reason,
            delivery=headers.get("x-github-delivery", ""),
        )

    async def is_closed_status(self, status_id: str) -> bool:
        """An issue is open or closed, nothing between (its events never ask)."""
        return status_id == "closed"

    async def aclose(self) -> None:
        await self.api.aclose()
