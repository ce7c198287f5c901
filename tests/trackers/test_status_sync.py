"""Chat to tracker: a person marking an exported item done, dismissed or open again moves
its issue (GitHub state and reason, Jira's transition, Linear's workflow state); the
tracker's own webhook for that move, and changes that came from the tracker, move nothing."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bot.features.items.service import apply_change
from bot.features.items.trackers import STATUS_KIND
from bot.storage.models import Job
from tests.trackers.fakes import FakeGitHub, FakeJira, FakeLinear
from tests.trackers.support import (
    exported_item,
    item,
    say,
    stored_item,
    tracker_bot,
    tracker_config,
)
from tests.trackers.test_webhooks import app_client, github_headers


def status_jobs(core) -> list[Job]:
    with Session(core.services.repo.engine) as session:
        return list(session.exec(select(Job).where(col(Job.kind) == STATUS_KIND)).all())


@pytest.mark.anyio
async def test_github_issue_follows_done_dismissed_and_reopened(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        item_id = await exported_item(core, worker, "link github acme/web")
        issue = github.issues["acme/web"][0]
        await apply_change(core.services, item_id, actor="U-Kofi", status="done")
        await worker.drain()
        assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
        async with app_client(core) as client:  # GitHub tells us about our own close
            echo = FakeGitHub.webhook("closed", "acme/web", issue)
            answer = await client.post(
                "/webhooks/github", content=echo, headers=github_headers(echo)
            )
            assert answer.json()["changed"] == 0
        await apply_change(core.services, item_id, actor="U-Kofi", status="open")
        await worker.drain()
        assert issue["state"] == "open"
        await apply_change(core.services, item_id, actor="U-Ann", status="dismissed")
        await apply_change(core.services, item_id, actor="U-Ann", owner_name="Ama")  # no push
        await worker.drain()
    assert (issue["state"], issue["state_reason"]) == ("closed", "not_planned")
    assert len(github.seen("PATCH")) == 3 and len(status_jobs(core)) == 3


@pytest.mark.anyio
async def test_a_change_from_the_tracker_is_not_pushed_back(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        item_id = await exported_item(core, worker, "link github acme/web")
        issue = github.issues["acme/web"][0]
        async with app_client(core) as client:
            closed = FakeGitHub.webhook("closed", "acme/web", issue)
            await client.post("/webhooks/github", content=closed, headers=github_headers(closed))
        await worker.drain()
    assert item(core, item_id).status == "done"
    assert status_jobs(core) == [] and github.seen("PATCH") == []


@pytest.mark.anyio
async def test_items_never_exported_push_nothing(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        await apply_change(core.services, item_id, actor="U-Kofi", status="done")
        await worker.drain()
    assert status_jobs(core) == [] and github.requests == []


@pytest.mark.anyio
async def test_jira_and_linear_issues_follow(engine) -> None:
    with (
        FakeJira(email="bot@acme.example", token="jira-token", projects={"ENG"}) as jira,
        FakeLinear(api_key="lin-key", teams={"ENG": "team-eng"}) as linear,
    ):
        core, worker, _ = tracker_bot(engine, tracker_config(jira=jira, linear=linear))
        jira_item = await exported_item(core, worker, "link jira ENG")
        await apply_change(core.services, jira_item, actor="U-Kofi", status="done")
        await worker.drain()
        assert jira.issues[0]["status"] == "done"
        await apply_change(core.services, jira_item, actor="U-Kofi", status="open")
        await worker.drain()
        assert jira.issues[0]["status"] == "new"
        await say(core, "unlink", "Ev-unlink")
        linear_item = await exported_item(core, worker, "link linear ENG", "Book the venue")
        (issue,) = linear.issues.values()
        await apply_change(core.services, linear_item, actor="U-Kofi", status="dismissed")
        await worker.drain()
        assert issue["state"]["type"] == "canceled"
        await apply_change(core.services, linear_item, actor="U-Kofi", status="open")
        await worker.drain()
        assert issue["state"]["type"] == "unstarted"
        # Jira's item is still linked to its issue after unlink: it keeps following.
        await apply_change(core.services, jira_item, actor="U-Kofi", status="done")
        await worker.drain()
    assert jira.issues[0]["status"] == "done"


@pytest.mark.anyio
async def test_a_failed_push_is_told_in_the_thread(engine) -> None:
    from bot.ports import ErrorReply

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, platform = tracker_bot(engine, tracker_config(github=github))
        item_id = await exported_item(core, worker, "link github acme/web")
        github.issues["acme/web"].clear()  # deleted in GitHub: the PATCH gets 404
        await apply_change(core.services, item_id, actor="U-Kofi", status="done")
        await worker.drain()
    told = [p.reply.text for p in platform.posts.values() if isinstance(p.reply, ErrorReply)]
    assert len(told) == 1 and "acme/web#1" in told[0] and "Not Found" in told[0]
    assert item(core, item_id).status == "done"  # the item keeps the person's change
