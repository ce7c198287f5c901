"""`POST /webhooks/github|jira|linear` on the bot's app: a signed "closed" marks the item
done and "reopened" opens it again, with the tracker in its history; a bad or missing
signature gets 401 and changes nothing; unknown issues and replays change nothing."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from bot.app import create_app
from bot.features.items.trackers import set_status
from bot.storage.trackers import TrackerStore
from bot.trackers.webhooks import WEBHOOK_PATHS, TrackerWebhooks
from tests.trackers.fakes import FakeGitHub, FakeJira, FakeLinear, Fault, sign
from tests.trackers.support import (
    SECRETS,
    exported_item,
    history,
    item,
    stored_item,
    tracker_bot,
    tracker_config,
)


def app_client(core) -> httpx.AsyncClient:
    app = create_app(
        adapters=[TrackerWebhooks(core.services)], worker=None, webhook_paths=WEBHOOK_PATHS
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")


def github_headers(
    body: bytes,
    *,
    secret: str = SECRETS["github"],
    event: str = "issues",
    delivery: str | None = None,
):
    """As GitHub sends a delivery: `delivery` is its GUID (a redelivery keeps it)."""
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": "sha256=" + sign(secret, body),
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Content-Type": "application/json",
    }


def jira_headers(
    body: bytes, *, secret: str = SECRETS["jira"], identifier: str | None = None
) -> dict[str, str]:
    """As Jira Cloud sends an admin webhook's delivery (the identifier: kept by retries)."""
    return {
        "X-Hub-Signature": "sha256=" + sign(secret, body),
        "X-Atlassian-Webhook-Identifier": identifier or str(uuid.uuid4().int % 10**15),
        "X-Atlassian-Webhook-Flow": "Primary",
        "Content-Type": "application/json",
    }


def linear_headers(body: bytes, *, secret: str = SECRETS["linear"]) -> dict[str, str]:
    return {
        "Linear-Signature": sign(secret, body),
        "Linear-Delivery": str(uuid.uuid4()),
        "Linear-Event": "Issue",
        "Content-Type": "application/json; charset=utf-8",
    }


def exported(core, item_id: int, tracker: str, ref: str, tracker_id: str) -> None:
    store = TrackerStore(core.services.repo.engine)
    assert store.claim_export(item_id, tracker, "U-Kofi")
    assert store.store_created(item_id, ref, f"https://{tracker}.example/{ref}", tracker_id)


def statuses(core, item_id: int) -> list[tuple[str, str | None, str | None]]:
    return [
        (actor, old, new) for actor, field, old, new in history(core, item_id) if field == "status"
    ]


@pytest.mark.anyio
async def test_github_closed_and_reopened_change_the_item(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        item_id = await exported_item(core, worker, "link github acme/web")
        other_id = await stored_item(core, "Not exported")
        issue = github.issues["acme/web"][0]
        async with app_client(core) as client:
            closed = FakeGitHub.webhook("closed", "acme/web", issue)
            answer = await client.post(
                "/webhooks/github", content=closed, headers=github_headers(closed)
            )
            assert answer.status_code == 200 and answer.json()["changed"] == 1
            assert item(core, item_id).status == "done"
            replay = await client.post(
                "/webhooks/github", content=closed, headers=github_headers(closed)
            )
            assert replay.status_code == 200 and replay.json()["changed"] == 0
            reopened = FakeGitHub.webhook("reopened", "acme/web", issue)
            again = await client.post(
                "/webhooks/github", content=reopened, headers=github_headers(reopened)
            )
            assert again.json()["changed"] == 1
            ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
            pinged = await client.post(
                "/webhooks/github", content=ping, headers=github_headers(ping, event="ping")
            )
            assert pinged.status_code == 200
            not_planned = FakeGitHub.webhook("closed", "acme/web", issue, reason="not_planned")
            headers = github_headers(not_planned)
            await client.post("/webhooks/github", content=not_planned, headers=headers)
    assert item(core, item_id).status == "dismissed"
    assert item(core, other_id).status == "open"
    assert statuses(core, item_id) == [
        ("github", "open", "done"),
        ("github", "done", "open"),
        ("github", "open", "dismissed"),
    ]


@pytest.mark.anyio
async def test_bad_or_missing_signatures_change_nothing(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, _ = tracker_bot(engine, tracker_config(github=github))
        item_id = await stored_item(core)
        exported(core, item_id, "github", "acme/web#1", "1000001")
        body = FakeGitHub.webhook("closed", "acme/web", {"id": 1000001, "number": 1})
        async with app_client(core) as client:
            forged = github_headers(body, secret="guessed")
            missing = {k: v for k, v in github_headers(body).items() if k != "X-Hub-Signature-256"}
            tampered = github_headers(body)
            bare = github_headers(body)
            bare["X-Hub-Signature-256"] = sign(SECRETS["github"], body)  # without "sha256="
            answers = [
                await client.post("/webhooks/github", content=body, headers=forged),
                await client.post("/webhooks/github", content=body, headers=missing),
                await client.post(
                    "/webhooks/github",
                    content=body.replace(b"closed", b"closed "),
                    headers=tampered,
                ),
                await client.post("/webhooks/github", content=body, headers=bare),
            ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    assert answers[0].json()["error"] == "bad_signature"
    assert item(core, item_id).status == "open" and statuses(core, item_id) == []


@pytest.mark.anyio
async def test_unknown_issues_are_ignored_and_a_person_then_the_tracker_is_history(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, _ = tracker_bot(engine, tracker_config(github=github))
        item_id = await stored_item(core)
        exported(core, item_id, "github", "acme/web#1", "1000001")
        async with app_client(core) as client:
            unknown = FakeGitHub.webhook("closed", "acme/web", {"id": 42, "number": 99})
            answer = await client.post(
                "/webhooks/github", content=unknown, headers=github_headers(unknown)
            )
            assert answer.status_code == 200 and answer.json()["changed"] == 0
            assert await set_status(core.services, item_id, "dismissed", "U-Ann")  # a person
            closed = FakeGitHub.webhook("closed", "acme/web", {"id": 1000001, "number": 1})
            await client.post("/webhooks/github", content=closed, headers=github_headers(closed))
            assert item(core, item_id).status == "dismissed"  # closed fits dismissed: kept
            reopened = FakeGitHub.webhook("reopened", "acme/web", {"id": 1000001, "number": 1})
            await client.post(
                "/webhooks/github", content=reopened, headers=github_headers(reopened)
            )
    assert item(core, item_id).status == "open"
    assert statuses(core, item_id) == [
        ("U-Ann", "open", "dismissed"),
        ("github", "dismissed", "open"),
    ]


@pytest.mark.anyio
async def test_jira_status_moves_to_done_and_back(engine) -> None:
    with FakeJira(email="bot@acme.example", token="jira-token", projects={"ENG"}) as jira:
        core, _, _ = tracker_bot(engine, tracker_config(jira=jira))
        core.services.clock = time_now  # the payload's timestamp is checked against it
        item_id = await stored_item(core)
        exported(core, item_id, "jira", "ENG-7", "10007")
        issue = {"id": "10007", "key": "ENG-7"}

        def signed(body: bytes, secret: str = SECRETS["jira"]) -> dict[str, str]:
            return jira_headers(body, secret=secret)

        async with app_client(core) as client:
            done = FakeJira.webhook(issue, "done")
            assert (
                await client.post("/webhooks/jira", content=done, headers=signed(done))
            ).status_code == 200
            assert item(core, item_id).status == "done"
            assignee = FakeJira.webhook(issue, "new", status_change=False)  # not a status move
            await client.post("/webhooks/jira", content=assignee, headers=signed(assignee))
            assert item(core, item_id).status == "done"
            bad = FakeJira.webhook(issue, "new")
            refused = await client.post("/webhooks/jira", content=bad, headers=signed(bad, "nope"))
            assert refused.status_code == 401 and item(core, item_id).status == "done"
            sha256_header = {"X-Hub-Signature-256": signed(bad)["X-Hub-Signature"]}  # GitHub's name
            assert (
                await client.post("/webhooks/jira", content=bad, headers=sha256_header)
            ).status_code == 401
            reopened = FakeJira.webhook(issue, "indeterminate")
            await client.post("/webhooks/jira", content=reopened, headers=signed(reopened))
    assert item(core, item_id).status == "open"
    assert statuses(core, item_id) == [("jira", "open", "done"), ("jira", "done", "open")]


@pytest.mark.anyio
async def test_linear_completed_canceled_and_stale_deliveries(engine) -> None:
    with FakeLinear(api_key="k", teams={"ENG": "team-eng"}) as linear:
        core, _, _ = tracker_bot(engine, tracker_config(linear=linear))
        core.services.clock = time_now  # webhookTimestamp is checked against the clock
        item_id = await stored_item(core)
        exported(core, item_id, "linear", "ENG-3", "2f1a-uuid")
        issue = {"id": "2f1a-uuid", "identifier": "ENG-3", "url": "https://linear.example/ENG-3"}

        signed = linear_headers

        async with app_client(core) as client:
            old = FakeLinear.webhook(issue, "completed", sent_ms=int((time.time() - 600) * 1000))
            stale = await client.post("/webhooks/linear", content=old, headers=signed(old))
            assert stale.status_code == 401 and item(core, item_id).status == "open"
            forged = FakeLinear.webhook(issue, "completed")
            assert (
                await client.post(
                    "/webhooks/linear", content=forged, headers=signed(forged, secret="x")
                )
            ).status_code == 401
            title_only = FakeLinear.webhook(issue, "started", state_change=False)
            await client.post("/webhooks/linear", content=title_only, headers=signed(title_only))
            assert item(core, item_id).status == "open"
            done = FakeLinear.webhook(issue, "completed")
            assert (
                await client.post("/webhooks/linear", content=done, headers=signed(done))
            ).json()["changed"] == 1
            started = FakeLinear.webhook(issue, "started")
            await client.post("/webhooks/linear", content=started, headers=signed(started))
            canceled = FakeLinear.webhook(issue, "canceled")
            await client.post("/webhooks/linear", content=canceled, headers=signed(canceled))
    assert item(core, item_id).status == "dismissed"  # canceled: not planned
    assert [new for _, _, new in statuses(core, item_id)] == ["done", "open", "dismissed"]


@pytest.mark.anyio
async def test_unconfigured_trackers_and_unset_secrets_refuse(engine) -> None:
    from dataclasses import replace

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        config = replace(tracker_config(github=github), github_webhook_secret="")
        core, _, _ = tracker_bot(engine, config)
        body = FakeGitHub.webhook("closed", "acme/web", {"id": 1, "number": 1})
        async with app_client(core) as client:
            no_secret = await client.post(
                "/webhooks/github", content=body, headers=github_headers(body, secret="")
            )
            not_set_up = await client.post("/webhooks/jira", content=b"{}")
            unknown = await client.post("/webhooks/gitlab", content=b"{}")
            huge = await client.post(
                "/webhooks/github", content=b"x" * (2 * 1024 * 1024), headers=github_headers(b"")
            )
    assert no_secret.status_code == 401  # an empty secret verifies nothing
    assert not_set_up.status_code == 404 and unknown.status_code == 404
    assert huge.status_code == 413


def time_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.anyio
async def test_the_served_app_mounts_the_webhooks_and_reads_the_settings(tmp_path) -> None:
    """`balafon serve`'s app: the tracker settings reach the clients, the routes are
    mounted, and a signed delivery passes the cross-site guard (a server calls it)."""
    from bot.main import Settings, build_runtime
    from tests.db import migrated_sqlite

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        settings = Settings(
            _env_file=None,
            database_url=migrated_sqlite(tmp_path / "balafon.db"),
            data_dir=str(tmp_path / "data"),
            github_token="gh-t",
            github_api_url=github.base_url,
            github_webhook_secret=SECRETS["github"],
            serve_runs_worker=False,
            serve_runs_scheduler=False,
        )
        runtime = build_runtime(settings)
        trackers = runtime.core.services.trackers
        assert set(trackers.clients) == {"github"}
        assert trackers.clients["github"].api.base_url == github.base_url
        body = FakeGitHub.webhook("closed", "acme/web", {"id": 5, "number": 5})
        transport = httpx.ASGITransport(app=runtime.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bot.example") as client:
            headers = github_headers(body) | {"Origin": "https://github.com"}
            signed = await client.post("/webhooks/github", content=body, headers=headers)
            unsigned = await client.post("/webhooks/github", content=body)
            metrics = (await client.get("/metrics")).text
        await trackers.aclose()
    assert signed.status_code == 200 and signed.json() == {"ok": True, "changed": 0}
    assert unsigned.status_code == 401
    assert 'balafon_requests_total{outcome="4xx",platform="github"}' in metrics


def test_tracker_urls_must_be_https_off_loopback() -> None:
    from pydantic import ValidationError

    from bot.main import Settings

    with pytest.raises(ValidationError, match="https"):
        Settings(_env_file=None, jira_url="http://acme.atlassian.net")
    settings = Settings(_env_file=None, jira_url="https://acme.atlassian.net/", jira_email="e")
    assert settings.tracker_config().jira_url == "https://acme.atlassian.net"
    assert settings.tracker_config().missing("jira") == ["JIRA_API_TOKEN"]


@pytest.mark.anyio
async def test_a_replayed_github_delivery_changes_nothing(engine) -> None:
    """A `closed` delivered again after the issue was reopened (GitHub's redelivery keeps
    the delivery's GUID; a captured body may come under a new one) leaves the item open."""
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, _ = tracker_bot(engine, tracker_config(github=github))
        item_id = await stored_item(core)
        exported(core, item_id, "github", "acme/web#1", "1000001")
        issue = {"id": 1000001, "number": 1}
        closed = FakeGitHub.webhook("closed", "acme/web", issue)
        reopened = FakeGitHub.webhook("reopened", "acme/web", issue)
        first = str(uuid.uuid4())
        async with app_client(core) as client:

            async def deliver(body: bytes, delivery: str | None = None) -> dict:
                headers = github_headers(body, delivery=delivery)
                answer = await client.post("/webhooks/github", content=body, headers=headers)
                assert answer.status_code == 200
                return answer.json()

            assert (await deliver(closed, first))["changed"] == 1
            assert (await deliver(reopened))["changed"] == 1
            redelivered = await deliver(closed, first)
            replayed = await deliver(closed)  # the same signed body, a new GUID
    assert redelivered == replayed == {"ok": True, "changed": 0, "duplicate": True}
    assert item(core, item_id).status == "open"
    assert statuses(core, item_id) == [("github", "open", "done"), ("github", "done", "open")]


@pytest.mark.anyio
async def test_jira_replays_and_stale_deliveries_change_nothing(engine) -> None:
    with FakeJira(email="bot@acme.example", token="jira-token", projects={"ENG"}) as jira:
        core, _, _ = tracker_bot(engine, tracker_config(jira=jira))
        core.services.clock = time_now
        item_id = await stored_item(core)
        exported(core, item_id, "jira", "ENG-7", "10007")
        issue = {"id": "10007", "key": "ENG-7"}
        done = FakeJira.webhook(issue, "done")
        async with app_client(core) as client:
            headers = jira_headers(done, identifier="4821")
            first = await client.post("/webhooks/jira", content=done, headers=headers)
            assert first.json()["changed"] == 1
            assert await set_status(core.services, item_id, "open", "U-Ann")  # reopened here
            retried = await client.post("/webhooks/jira", content=done, headers=headers)
            replayed = await client.post("/webhooks/jira", content=done, headers=jira_headers(done))
            old = FakeJira.webhook(issue, "done", sent_ms=int((time.time() - 600) * 1000))
            stale = await client.post("/webhooks/jira", content=old, headers=jira_headers(old))
            undated = json.dumps({**json.loads(old), "timestamp": None}).encode()
            refused = await client.post(
                "/webhooks/jira", content=undated, headers=jira_headers(undated)
            )
    assert retried.json()["duplicate"] and replayed.json()["duplicate"]
    assert stale.status_code == refused.status_code == 401
    assert item(core, item_id).status == "open"
    assert [new for _, _, new in statuses(core, item_id)] == ["done", "open"]


@pytest.mark.anyio
async def test_moves_between_open_statuses_leave_a_closed_item_closed(engine) -> None:
    """Someone marked the item done in chat and the issue's close failed (it is still in
    To Do): To Do -> In Progress in Jira, or Todo -> In Progress in Linear, does not
    reopen it; a move out of Done (completed) does."""
    with (
        FakeJira(email="bot@acme.example", token="jira-token", projects={"ENG"}) as jira,
        FakeLinear(api_key="lin-key", teams={"ENG": "team-eng"}) as linear,
    ):
        core, _, _ = tracker_bot(engine, tracker_config(jira=jira, linear=linear))
        core.services.clock = time_now
        jira_item = await stored_item(core, "Ship the launch plan")
        exported(core, jira_item, "jira", "ENG-7", "10007")
        linear_item = await stored_item(core, "Book the venue")
        exported(core, linear_item, "linear", "ENG-3", "2f1a-uuid")
        for item_id in (jira_item, linear_item):
            assert await set_status(core.services, item_id, "done", "U-Kofi")
        jira_issue = {"id": "10007", "key": "ENG-7"}
        linear_issue = {"id": "2f1a-uuid", "identifier": "ENG-3", "url": "https://l.example/3"}
        async with app_client(core) as client:

            async def jira_says(body: bytes) -> int:
                headers = jira_headers(body)
                return (await client.post("/webhooks/jira", content=body, headers=headers)).json()[
                    "changed"
                ]

            async def linear_says(body: bytes) -> int:
                headers = linear_headers(body)
                answer = await client.post("/webhooks/linear", content=body, headers=headers)
                return answer.json()["changed"]

            unknown = FakeJira.webhook({"id": "10099", "key": "ENG-99"}, "indeterminate")
            assert await jira_says(unknown) == 0
            assert jira.seen("GET /rest/api/3/status") == []  # not asked for others' issues
            started = FakeJira.webhook(jira_issue, "indeterminate", was="new")
            assert await jira_says(started) == 0
            assert item(core, jira_item).status == "done"
            assert (
                await linear_says(FakeLinear.webhook(linear_issue, "started", was="unstarted")) == 0
            )
            assert item(core, linear_item).status == "done"
            reopened_jira = await jira_says(FakeJira.webhook(jira_issue, "indeterminate"))
            reopened_linear = await linear_says(FakeLinear.webhook(linear_issue, "started"))
    assert (reopened_jira, reopened_linear) == (1, 1)
    assert item(core, jira_item).status == item(core, linear_item).status == "open"
    assert len(jira.seen("GET /rest/api/3/status/10000")) == 1  # To Do: not closed
    assert len(jira.seen("GET /rest/api/3/status/10001")) == 1  # Done: closed


@pytest.mark.anyio
async def test_a_delivery_the_tracker_could_not_check_is_handled_on_its_retry(engine) -> None:
    """Jira could not say which category the status left is in (5xx): 503, and the
    delivery is not counted as handled, so Jira's retry of it (same identifier) is."""
    with FakeJira(email="bot@acme.example", token="jira-token", projects={"ENG"}) as jira:
        core, _, _ = tracker_bot(engine, tracker_config(jira=jira))
        core.services.clock = time_now
        item_id = await stored_item(core)
        exported(core, item_id, "jira", "ENG-7", "10007")
        done = FakeJira.webhook({"id": "10007", "key": "ENG-7"}, "done")
        headers = jira_headers(done, identifier="5133")
        jira.fail_next(*[Fault(status=502, on="GET /rest/api/3/status") for _ in range(4)])
        async with app_client(core) as client:
            failed = await client.post("/webhooks/jira", content=done, headers=headers)
            assert item(core, item_id).status == "open"
            retried = await client.post("/webhooks/jira", content=done, headers=headers)
    assert failed.status_code == 503 and failed.json()["error"] == "unavailable"
    assert retried.status_code == 200 and retried.json()["changed"] == 1
    assert item(core, item_id).status == "done"
