"""Loopback fakes of GitHub's REST API, Jira Cloud's REST API v3 and Linear's GraphQL API:
real HTTP servers on 127.0.0.1 (a thread each) speaking their wire formats (paths, auth
headers, status codes, JSON shapes, rate-limit headers), for the real clients.

    with FakeGitHub(token="t", repos={"acme/web"}) as github:
        github.fail_next(Fault(status=502, on="POST /repos"))   # then the real answer
        ...
        github.issues["acme/web"]                               # what was created

A `Fault` answers one matching request instead of (or, `after=True`, after doing) the
real work: a 502, a rate limit, a lost answer (`hang_up`), a held one (`hold`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass
class Fault:
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    on: str = ""  # only a request whose "METHOD /path" starts with this
    body_has: str = ""  # … and whose JSON body contains this (a GraphQL operation)
    after: bool = False  # do the real work first (the answer is what gets lost)
    hang_up: bool = False  # close the connection without answering
    hold: float = 0.0  # wait this long (cut short when the server stops), then answer


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeService:
    """The server and its fault script; subclasses answer `handle`."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.faults: deque[Fault] = deque()
        self.lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def fail_next(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def handle(self, seen: Seen) -> Answer:
        raise NotImplementedError

    def seen(self, start: str) -> list[Seen]:
        return [r for r in self.requests if f"{r.method} {r.path}".startswith(start)]

    def _fault_for(self, seen: Seen) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if f"{seen.method} {seen.path}".startswith(fault.on) and (
                    fault.body_has in json.dumps(seen.body)
                ):
                    self.faults.remove(fault)
                    return fault
        return None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeService:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PATCH(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
                with fake.lock:
                    fake.requests.append(seen)
                fault = fake._fault_for(seen)
                if fault is None or fault.after:
                    with fake.lock:
                        answer = fake.handle(seen)
                if fault is not None:
                    if fault.hold and fake._stopping.wait(fault.hold):
                        self.close_connection = True
                        return
                    if fault.hang_up:
                        self.close_connection = True
                        return
                    if not fault.after or fault.status:
                        answer = (fault.status, fault.headers, fault.body)
                self._send(*answer)

            def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
                payload = b"" if body is None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json; charset=utf-8")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --- GitHub ------------------------------------------------------------------------------


class FakeGitHub(FakeService):
    """`POST /repos/{owner}/{repo}/issues`, `GET` the same (list, `since`), bearer token."""

    def __init__(self, *, token: str, repos: set[str]) -> None:
        super().__init__()
        self.token = token
        self.issues: dict[str, list[dict[str, Any]]] = {repo: [] for repo in repos}
        self._ids = iter(range(1_000_001, 2_000_000))

    def handle(self, seen: Seen) -> Answer:
        limits = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
        }
        if seen.headers.get("authorization") != f"Bearer {self.token}":
            return 401, limits, {"message": "Bad credentials", "status": "401"}
        if one := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)", seen.path):
            issues = self.issues.get(one.group(1), [])
            found = next((i for i in issues if i["number"] == int(one.group(2))), None)
            if found is None or seen.method != "PATCH":
                return 404, limits, {"message": "Not Found", "status": "404"}
            if seen.body.get("state") not in {"open", "closed"}:
                return 422, limits, {"message": "Validation Failed"}
            found["state"] = seen.body["state"]
            found["state_reason"] = (
                seen.body.get("state_reason") if found["state"] == "closed" else "reopened"
            )
            found["updated_at"] = now_iso()
            return 200, limits, found
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", seen.path)
        if not match or match.group(1) not in self.issues:
            return 404, limits, {"message": "Not Found", "status": "404"}
        repo = match.group(1)
        if seen.method == "GET":
            since = seen.query.get("since", [""])[0]
            found = [i for i in self.issues[repo] if i["updated_at"] >= since]
            return 200, limits, sorted(found, key=lambda i: i["number"], reverse=True)
        if not isinstance(seen.body, dict) or not seen.body.get("title"):
            return 422, limits, {"message": "Validation Failed", "errors": [{"field": "title"}]}
        number = len(self.issues[repo]) + 1
        issue = {
            "id": next(self._ids),
            "number": number,
            "title": seen.body["title"],
            "body": seen.body.get("body"),
            "state": "open",
            "html_url": f"https://github.example/{repo}/issues/{number}",
            "created_at": now_iso(),
            "updated_at": now_iso(),
        }
        self.issues[repo].append(issue)
        return 201, limits, issue

    @staticmethod
    def rate_limited(*, on: str = "", reset_in: float = 1) -> Fault:
        headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time() + reset_in)),
        }
        body = {"message": "API rate limit exceeded for user ID 1."}
        return Fault(status=403, headers=headers, body=body, on=on)

    @staticmethod
    def webhook(action: str, repo: str, issue: dict[str, Any], reason: str = "completed") -> bytes:
        state = "closed" if action == "closed" else "open"
        state_reason = reason if action == "closed" else "reopened"
        return json.dumps(
            {
                "action": action,
                "issue": {**issue, "state": state, "state_reason": state_reason},
                "repository": {"full_name": repo},
                "sender": {"login": "octocat"},
            }
        ).encode()


# --- Jira --------------------------------------------------------------------------------


# Jira's default software workflow: status id -> (name, category key); a transition to
# each status ("11": To Do, "21": In Progress, "31": Done) from every other.
JIRA_STATUSES = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("Done", "done"),
}
JIRA_TRANSITIONS = {"11": "10000", "21": "3", "31": "10001"}
JIRA_CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}


def jira_status(status_id: str) -> dict[str, Any]:
    """A status as Jira's REST API and webhooks show it."""
    name, category = JIRA_STATUSES[status_id]
    return {
        "id": status_id,
        "name": name,
        "statusCategory": {
            "id": JIRA_CATEGORY_IDS[category],
            "key": category,
            "name": {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[category],
        },
    }


def jira_status_of(category: str) -> str:
    """The id of the status of the default workflow in `category`."""
    return next(i for i, (_, key) in JIRA_STATUSES.items() if key == category)


class FakeJira(FakeService):
    """`POST /rest/api/3/issue` (ADF description), `GET /rest/api/3/search/jql` (labels and
    a relative `created >= -Nm`), an issue's status and transitions, `GET
    /rest/api/3/status/{id}`; basic auth `email:token`."""

    def __init__(self, *, email: str, token: str, projects: set[str]) -> None:
        super().__init__()
        import base64

        self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.projects = projects
        self.issues: list[dict[str, Any]] = []

    def handle(self, seen: Seen) -> Answer:
        if seen.headers.get("authorization") != self.auth:
            return 401, {}, {"errorMessages": ["You are not authenticated."], "errors": {}}
        if seen.path == "/rest/api/3/issue" and seen.method == "POST":
            return self._create(seen.body["fields"])
        if seen.path == "/rest/api/3/search/jql":
            jql = seen.query.get("jql", [""])[0]
            label = re.search(r'labels = "([^"]+)"', jql)
            found = [i for i in self.issues if label and label.group(1) in i["labels"]]
            if recent := re.search(r"created >= -(\d+)m", jql):
                found = [i for i in found if i["created"] >= time.time() - 60 * int(recent[1])]
            return (
                200,
                {},
                {"issues": [{"id": i["id"], "key": i["key"]} for i in found], "isLast": True},
            )
        if match := re.fullmatch(r"/rest/api/3/status/([^/]+)", seen.path):
            if match[1] not in JIRA_STATUSES:
                message = f"The status with id '{match[1]}' does not exist"
                return 404, {}, {"errorMessages": [message], "errors": {}}
            return 200, {}, jira_status(match[1])
        if match := re.fullmatch(r"/rest/api/3/issue/([A-Z]+-\d+)(/transitions)?", seen.path):
            issue = next((i for i in self.issues if i["key"] == match.group(1)), None)
            if issue is None:
                return 404, {}, {"errorMessages": ["Issue does not exist"], "errors": {}}
            if not match[2] and seen.method == "GET":
                fields = {"status": jira_status(issue["status_id"])}
                return 200, {}, {"id": issue["id"], "key": issue["key"], "fields": fields}
            if seen.method == "GET":
                transitions = [
                    {"id": tid, "name": JIRA_STATUSES[to][0], "to": jira_status(to)}
                    for tid, to in JIRA_TRANSITIONS.items()
                    if to != issue["status_id"]
                ]
                return 200, {}, {"transitions": transitions}
            self.move(issue, JIRA_TRANSITIONS[seen.body["transition"]["id"]])
            return 204, {}, None
        return 404, {}, {"errorMessages": ["Not found"], "errors": {}}

    @staticmethod
    def move(issue: dict[str, Any], status_id: str) -> None:
        """Put the issue in a status (`status`: its category, what tests look at)."""
        issue["status_id"], issue["status"] = status_id, JIRA_STATUSES[status_id][1]

    def _create(self, fields: dict[str, Any]) -> Answer:
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            return (
                400,
                {},
                {"errorMessages": [], "errors": {"project": "valid project is required"}},
            )
        description = fields.get("description")
        if not (isinstance(description, dict) and description.get("type") == "doc"):
            return (
                400,
                {},
                {
                    "errorMessages": [],
                    "errors": {"description": "Operation value must be an Atlassian Document"},
                },
            )
        issue_id = str(10000 + len(self.issues) + 1)
        key = f"{project}-{len(self.issues) + 1}"
        self.issues.append(
            {
                "id": issue_id,
                "key": key,
                "fields": fields,
                "labels": fields.get("labels", []),
                "status_id": "10000",
                "status": "new",
                "created": time.time(),
            }
        )
        return (
            201,
            {},
            {"id": issue_id, "key": key, "self": f"{self.base_url}/rest/api/3/issue/{issue_id}"},
        )

    @staticmethod
    def webhook(
        issue: dict[str, Any],
        category: str,
        *,
        was: str | None = None,
        status_change: bool = True,
        sent_ms: int | None = None,
    ) -> bytes:
        """A `jira:issue_updated` moving the issue from the default workflow's status of
        category `was` (by default: across the done line) to that of `category`."""
        if was is None:
            was = "new" if category == "done" else "done"
        old, new = jira_status_of(was), jira_status_of(category)
        status_item = {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": old,
            "fromString": JIRA_STATUSES[old][0],
            "to": new,
            "toString": JIRA_STATUSES[new][0],
        }
        assignee_item = {
            "field": "assignee",
            "fieldtype": "jira",
            "fieldId": "assignee",
            "from": None,
            "fromString": None,
            "to": "5b10a2844c20165700ede21g",
            "toString": "Ann",
        }
        return json.dumps(
            {
                "timestamp": sent_ms if sent_ms is not None else int(time.time() * 1000),
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_generic",
                "user": {"accountId": "5b10a2844c20165700ede21g"},
                "issue": {
                    "id": issue["id"],
                    "key": issue["key"],
                    "fields": {"status": jira_status(new)},
                },
                "changelog": {
                    "id": "10001",
                    "items": [status_item if status_change else assignee_item],
                },
            }
        ).encode()


# --- Linear ------------------------------------------------------------------------------


class FakeLinear(FakeService):
    """`POST /graphql`: `teams(filter: {key: {eq}})`, `issueCreate` (with our `id`),
    `issue(id:)`; `Authorization: <API key>`."""

    def __init__(self, *, api_key: str, teams: dict[str, str]) -> None:
        super().__init__()
        self.api_key = api_key
        self.teams = teams  # key -> id
        self.issues: dict[str, dict[str, Any]] = {}
        # One workflow for every team, as Linear's defaults (position: board order).
        self.states = [
            {"id": "st-backlog", "type": "backlog", "position": 0},
            {"id": "st-todo", "type": "unstarted", "position": 1},
            {"id": "st-doing", "type": "started", "position": 2},
            {"id": "st-done", "type": "completed", "position": 3},
            {"id": "st-canceled", "type": "canceled", "position": 4},
        ]

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/graphql"

    def handle(self, seen: Seen) -> Answer:
        if seen.path != "/graphql":
            return 404, {}, {"errors": [{"message": "Not found"}]}
        if seen.headers.get("authorization") != self.api_key:
            return (
                400,
                {},
                {
                    "errors": [
                        {
                            "message": "Authentication required, not authenticated",
                            "extensions": {"code": "AUTHENTICATION_ERROR"},
                        }
                    ]
                },
            )
        query, variables = seen.body["query"], seen.body.get("variables") or {}
        if "teams(" in query:
            key = variables["key"]
            nodes = [{"id": self.teams[key], "key": key, "name": key}] if key in self.teams else []
            return 200, {}, {"data": {"teams": {"nodes": nodes}}}
        if "issueCreate" in query:
            data = variables["input"]
            if data.get("id") in self.issues:
                return 200, {}, {"data": None, "errors": [{"message": "Entity already exists"}]}
            team = next(k for k, v in self.teams.items() if v == data["teamId"])
            number = sum(1 for i in self.issues.values() if i["team"] == team) + 1
            issue = {
                "id": data.get("id") or f"uuid-{number}",
                "identifier": f"{team}-{number}",
                "url": f"https://linear.example/issue/{team}-{number}",
                "team": team,
                "title": data["title"],
                "description": data.get("description"),
                "state": {"id": "st-todo", "type": "unstarted"},
            }
            self.issues[issue["id"]] = issue
            public = {k: issue[k] for k in ("id", "identifier", "url")}
            return 200, {}, {"data": {"issueCreate": {"success": True, "issue": public}}}
        if "issueUpdate" in query:
            issue = self.issues.get(variables["id"])
            state = next(
                (x for x in self.states if x["id"] == variables["input"].get("stateId")), None
            )
            if issue is None or state is None:
                return 200, {}, {"data": None, "errors": [{"message": "Entity not found"}]}
            issue["state"] = state
            return 200, {}, {"data": {"issueUpdate": {"success": True}}}
        if "issue(" in query and "team {" in query:
            issue = self.issues.get(variables["id"])
            if issue is None:
                return 200, {}, {"data": None, "errors": [{"message": "Entity not found: Issue"}]}
            states = {"nodes": [dict(x) for x in self.states]}
            found = {"id": issue["id"], "state": issue["state"], "team": {"states": states}}
            return 200, {}, {"data": {"issue": found}}
        if "issue(" in query:
            issue = self.issues.get(variables["id"])
            if issue is None:
                return 200, {}, {"data": None, "errors": [{"message": "Entity not found: Issue"}]}
            return 200, {}, {"data": {"issue": {k: issue[k] for k in ("id", "identifier", "url")}}}
        if "workflowState(" in query:
            state = next((x for x in self.states if x["id"] == variables["id"]), None)
            if state is None:
                return (
                    200,
                    {},
                    {"data": None, "errors": [{"message": "Entity not found: WorkflowState"}]},
                )
            return 200, {}, {"data": {"workflowState": {"id": state["id"], "type": state["type"]}}}
        return 400, {}, {"errors": [{"message": "Cannot query field"}]}

    def add(self, team: str, issue_id: str) -> dict[str, Any]:
        """An issue made by someone else (another deployment) with this id."""
        number = sum(1 for i in self.issues.values() if i["team"] == team) + 1
        issue = {
            "id": issue_id,
            "identifier": f"{team}-{number}",
            "url": f"https://linear.example/issue/{team}-{number}",
            "team": team,
            "title": "Someone else's",
            "description": "",
            "state": {"id": "st-todo", "type": "unstarted"},
        }
        self.issues[issue_id] = issue
        return issue

    @staticmethod
    def rate_limited(*, on: str = "", reset_in: float = 1) -> Fault:
        body = {
            "errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]
        }
        headers = {
            "x-ratelimit-requests-limit": "1500",
            "x-ratelimit-requests-remaining": "0",
            "x-ratelimit-requests-reset": str(int((time.time() + reset_in) * 1000)),
        }
        return Fault(status=400, headers=headers, body=body, on=on)

    @staticmethod
    def webhook(
        issue: dict[str, Any],
        state_type: str,
        *,
        was: str | None = None,
        sent_ms: int | None = None,
        state_change: bool = True,
    ) -> bytes:
        """An `Issue` `update` moving the issue from its team's state of type `was` (by
        default: across the open/closed line) to the one of type `state_type`; the ids are
        those of FakeLinear's workflow, `updatedFrom` holds the old values of what changed."""
        if was is None:
            was = "unstarted" if state_type in {"completed", "canceled"} else "completed"
        ids = {
            "backlog": "st-backlog",
            "unstarted": "st-todo",
            "started": "st-doing",
            "completed": "st-done",
            "canceled": "st-canceled",
        }
        now = now_iso()
        changed = {"stateId": ids[was]} if state_change else {"title": "old"}
        return json.dumps(
            {
                "action": "update",
                "type": "Issue",
                "createdAt": now,
                "organizationId": "org-1",
                "url": issue["url"],
                "data": {
                    "id": issue["id"],
                    "identifier": issue["identifier"],
                    "title": issue.get("title", ""),
                    "updatedAt": now,
                    "stateId": ids[state_type],
                    "state": {
                        "id": ids[state_type],
                        "name": state_type.title(),
                        "type": state_type,
                    },
                },
                "updatedFrom": {"updatedAt": now, **changed},
                "webhookTimestamp": sent_ms if sent_ms is not None else int(time.time() * 1000),
            }
        ).encode()
