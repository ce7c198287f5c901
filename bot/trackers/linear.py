"""Linear: issues over its GraphQL API, and its webhooks.

Create: the team by its key (`teams(filter: {key: {eq: …}})`), then `issueCreate` with an
`id` of our own, derived from the item's marker (its id and export token): an export
retried after a crash asks for that id first (`issue(id:)`) instead of creating a second
issue. Auth: `Authorization: <API key>`. Webhook: `Linear-Signature` is the hex
HMAC-SHA256 of the raw body; `webhookTimestamp` (ms) must be within a minute of now (a
replayed old delivery is refused); `Linear-Delivery` names the delivery. An `Issue`
`update` whose `updatedFrom` has `stateId` (the state it left) moved it: into a state of
type `completed` or `canceled` from another type closes the item, out of those types
reopens it; a move between two open states (Todo -> In Progress) changes nothing. The
type of the state left is asked for (`workflowState(id:)`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
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

DEFAULT_API_URL = "https://api.linear.app/graphql"
FRESH_SECONDS = 60
_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,9}")
_CLOSED = {"completed", "canceled"}

TEAM_QUERY = """query Team($key: String!) {
  teams(filter: {key: {eq: $key}}) { nodes { id key name } }
}"""
CREATE_MUTATION = """mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { id identifier url } }
}"""
STATES_QUERY = """query IssueStates($id: String!) {
  issue(id: $id) { id state { id type } team { states { nodes { id type position } } } }
}"""
UPDATE_MUTATION = """mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success }
}"""
# The state an item's issue moves to: the first of these types its team has.
_WANTED = {
    ("closed", "completed"): ("completed",),
    ("closed", "not_planned"): ("canceled", "completed"),
    ("open", ""): ("unstarted", "backlog", "started", "triage"),
}
ISSUE_QUERY = """query Issue($id: String!) { issue(id: $id) { id identifier url } }"""
STATE_QUERY = """query State($id: String!) { workflowState(id: $id) { id type } }"""


def issue_id_for(marker: str) -> str:
    """The UUID (v4 form) an item's issue is created with: the same for every attempt."""
    return str(uuid.UUID(bytes=hashlib.sha256(marker.encode()).digest()[:16], version=4))


def check_target(target: str) -> str:
    """`target` in its normal form; ValueError saying what is expected."""
    key = target.strip().upper()
    if not _KEY.fullmatch(key):
        raise ValueError("a team key, such as ENG")
    return key


class LinearTracker:
    name = "linear"

    def __init__(
        self,
        *,
        api_key: str,
        api_url: str = DEFAULT_API_URL,
        webhook_secret: str = "",
        sleep: Sleep | None = None,
    ) -> None:
        headers = {"Authorization": api_key, "Content-Type": "application/json"}
        self.api = ApiClient("Linear", api_url, headers, sleep=sleep)
        self.webhook_secret = webhook_secret

    check_target = staticmethod(check_target)

    async def graphql(self, query: str, variables: dict[str, Any], *, unsure: bool = False) -> Any:
        """`data`, or TrackerRejected with GraphQL's own error messages."""
        response = await self.api.request(
            "POST", "", json={"query": query, "variables": variables}, retry_unsure=not unsure
        )
        body = response.json()
        if body.get("errors") and not body.get("data"):
            messages = "; ".join(str(e.get("message")) for e in body["errors"])
            raise TrackerRejected(f"Linear refused it ({messages})")
        return body.get("data") or {}

    async def create_issue(
        self, target: str, title: str, body: str, *, idempotency: Idempotency
    ) -> TrackerIssue:
        key = self.check_target(target)
        issue_id = issue_id_for(idempotency.marker)
        look_first = idempotency.maybe_created
        for _ in range(self.api.attempts):
            if look_first and (found := await self.find(issue_id)) is not None:
                return found
            teams = (await self.graphql(TEAM_QUERY, {"key": key}))["teams"]["nodes"]
            if not teams:
                raise TrackerRejected(f"Linear has no team with the key {key}")
            input_ = {"id": issue_id, "teamId": teams[0]["id"], "title": title, "description": body}
            try:
                data = await self.graphql(CREATE_MUTATION, {"input": input_}, unsure=True)
            except RateLimited:
                raise  # refused before anything was created
            except TrackerUnavailable:
                look_first = True
                continue
            created = data.get("issueCreate") or {}
            if not created.get("success") or not created.get("issue"):
                raise TrackerRejected("Linear did not create the issue")
            return self._issue(created["issue"])
        raise TrackerUnavailable("Linear kept failing to create the issue")

    async def find(self, issue_id: str) -> TrackerIssue | None:
        response = await self.api.request(
            "POST", "", json={"query": ISSUE_QUERY, "variables": {"id": issue_id}}
        )
        issue = (response.json().get("data") or {}).get("issue")
        return self._issue(issue) if issue else None  # not found: an error, no data

    @staticmethod
    def _issue(issue: dict[str, Any]) -> TrackerIssue:
        return TrackerIssue(ref=issue["identifier"], url=issue["url"], id=issue["id"])

    async def set_state(self, issue: TrackerIssue, state: TrackerState, *, reason: str) -> bool:
        """`issueUpdate` to the team's first state of the wanted type (by position);
        nothing when the issue is in such a state already."""
        data = await self.graphql(STATES_QUERY, {"id": issue.id})
        found = data.get("issue")
        if not found:
            raise TrackerRejected(f"Linear has no issue {issue.ref}")
        types = _WANTED[(state, reason if state == "closed" else "")]
        if (found.get("state") or {}).get("type") in types:
            return True
        states = sorted(found["team"]["states"]["nodes"], key=lambda s: s.get("position", 0))
        for wanted in types:
            for candidate in states:
                if candidate["type"] == wanted:
                    await self.graphql(
                        UPDATE_MUTATION, {"id": issue.id, "input": {"stateId": candidate["id"]}}
                    )
                    return True
        return False

    def parse_webhook(
        self, headers: dict[str, str], body: bytes, *, now: datetime
    ) -> TrackerEvent | None:
        verify_hex_signature(self.webhook_secret, body, headers.get("linear-signature"))
        payload = json.loads(body)
        sent = payload.get("webhookTimestamp")
        if not isinstance(sent, int | float) or abs(now.timestamp() - sent / 1000) > FRESH_SECONDS:
            raise SignatureError("stale or undated delivery")
        if payload.get("type") != "Issue" or payload.get("action") != "update":
            return None
        left = (payload.get("updatedFrom") or {}).get("stateId")
        if not left:
            return None  # not a move between states
        data = payload.get("data") or {}
        state_type = (data.get("state") or {}).get("type")
        refs = tuple(str(data[name]) for name in ("id", "identifier") if name in data)
        if not refs or state_type is None:
            return None
        state: TrackerState = "closed" if state_type in _CLOSED else "open"
        reason = "not_planned" if state_type == "canceled" else "completed"
        return TrackerEvent(
            tracker=self.name,
            refs=refs,
            state=state,
            reason=reason,
            delivery=headers.get("linear-delivery", ""),
            left_status=str(left),
        )

    async def is_closed_status(self, status_id: str) -> bool:
        """`workflowState(id:)`: of type completed or canceled."""
        state = (await self.graphql(STATE_QUERY, {"id": status_id})).get("workflowState")
        if not state or "type" not in state:
            raise TrackerRejected(f"Linear has no workflow state {status_id}")
        return state["type"] in _CLOSED

    async def aclose(self) -> None:
        await self.api.aclose()
