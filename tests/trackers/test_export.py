"""Exporting items ("Create issue", AUTO_EXPORT) through the job queue to the fakes:
exactly one issue per item when pressed twice and when a job is retried after a crash; a
failed export is told in the item's thread and can be retried by pressing again."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, col, select

from bot import sentences
from bot.features.items.trackers import auto_export, request_export
from bot.ports import ErrorReply
from bot.storage.models import Job
from tests.trackers.fakes import FakeGitHub, FakeJira, FakeLinear, Fault
from tests.trackers.support import (
    HERE,
    THREAD,
    exported_item,
    history,
    item,
    say,
    stored_item,
    tracker_bot,
    tracker_config,
)


def export_jobs(core) -> list[Job]:
    with Session(core.services.repo.engine) as session:
        return list(session.exec(select(Job).where(col(Job.kind) == "tracker_export")).all())


@pytest.mark.anyio
async def test_pressed_twice_creates_one_issue(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        services = core.services
        first = await request_export(services, item_id, "U-Kofi")
        second = await request_export(services, item_id, "U-Ann")
        assert first == sentences.EXPORT_STARTED.format(tracker="GitHub")
        assert second == sentences.EXPORT_PENDING
        assert item(core, item_id).export_state == "pending"
        await worker.drain()
        third = await request_export(services, item_id, "U-Ann")
    assert len(github.issues["acme/web"]) == 1
    issue = github.issues["acme/web"][0]
    assert issue["title"] == "Send the launch plan to Kofi"
    assert "Owner: Kofi" in issue["body"] and "Due: 2026-12-11" in issue["body"]
    stored = item(core, item_id)
    assert (stored.tracker, stored.tracker_ref, stored.export_state) == (
        "github",
        "acme/web#1",
        "created",
    )
    assert stored.tracker_url == issue["html_url"] and stored.tracker_id == str(issue["id"])
    assert third == sentences.EXPORT_EXISTS.format(ref="acme/web#1", url=issue["html_url"])
    assert len(export_jobs(core)) == 1
    assert history(core, item_id) == [
        ("U-Kofi", "export", None, "pending"),
        ("bot", "export", "pending", "acme/web#1"),
    ]


@pytest.mark.anyio
async def test_a_job_retried_after_a_crash_finds_its_issue(engine) -> None:
    """The process dies after GitHub created the issue and before the bot stored it: the
    job runs again (here, handed back and taken by another worker) and finds the issue by
    its marker instead of creating a second one."""
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        await request_export(core.services, item_id, "U-Kofi")
        github.fail_next(Fault(on="POST", after=True, hold=60))  # created, never answered
        running = asyncio.create_task(worker.run_once())
        for _ in range(500):
            if github.issues["acme/web"]:
                break
            await asyncio.sleep(0.01)
        assert len(github.issues["acme/web"]) == 1
        running.cancel()  # the process dies
        with pytest.raises(asyncio.CancelledError):
            await running
        assert item(core, item_id).tracker_ref is None
        other = core.services.worker(worker_id="other")
        assert await other.drain() == 1
    assert len(github.issues["acme/web"]) == 1
    assert item(core, item_id).tracker_ref == "acme/web#1"
    assert github.seen("GET /repos/acme/web/issues")  # it looked before creating


@pytest.mark.anyio
async def test_a_failed_export_tells_the_thread_and_pressing_again_retries(engine) -> None:
    with FakeJira(email="bot@acme.example", token="jira-token", projects={"ENG"}) as jira:
        core, worker, platform = tracker_bot(engine, tracker_config(jira=jira))
        await say(core, "link jira OPS", "Ev1")  # a project the token cannot see
        item_id = await stored_item(core)
        await request_export(core.services, item_id, "U-Kofi")
        await worker.drain()
        assert item(core, item_id).export_state == "failed"
        told = [p for p in platform.posts.values() if isinstance(p.reply, ErrorReply)]
        assert len(told) == 1
        assert told[0].target.place.thread == THREAD and told[0].target.place.channel == "C1"
        assert "valid project is required" in told[0].reply.text
        assert "Press “Create issue”" in told[0].reply.text
        jira.projects.add("OPS")  # someone fixes the project's permissions
        assert await request_export(core.services, item_id, "U-Kofi") == (
            sentences.EXPORT_STARTED.format(tracker="Jira")
        )
        await worker.drain()
    assert [i["key"] for i in jira.issues] == ["OPS-1"]
    stored = item(core, item_id)
    assert (stored.tracker_ref, stored.export_state) == ("OPS-1", "created")
    assert stored.tracker_url == f"{jira.base_url}/browse/OPS-1"
    assert [e[3] for e in history(core, item_id)] == ["pending", "failed", "pending", "OPS-1"]
    assert len(export_jobs(core)) == 2  # one per attempt, each its own key


@pytest.mark.anyio
async def test_a_502_is_retried_inside_the_export(engine) -> None:
    with FakeLinear(api_key="lin-key", teams={"ENG": "team-eng"}) as linear:
        core, worker, platform = tracker_bot(engine, tracker_config(linear=linear))
        await say(core, "link linear ENG", "Ev1")
        item_id = await stored_item(core)
        linear.fail_next(Fault(status=502, on="POST"), Fault(status=502, on="POST"))
        await request_export(core.services, item_id, "U-Kofi")
        await worker.drain()
    assert len(linear.issues) == 1
    assert item(core, item_id).tracker_ref == "ENG-1"
    assert not any(isinstance(p.reply, ErrorReply) for p in platform.posts.values())


@pytest.mark.anyio
async def test_export_needs_a_link_and_a_configured_tracker(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, _ = tracker_bot(engine, tracker_config(github=github))
        item_id = await stored_item(core)
        assert await request_export(core.services, item_id, "U-Kofi") == sentences.NOT_LINKED
        await say(core, "link github acme/web", "Ev1")
        core.services.trackers.config = tracker_config()  # the token was removed since
        notice = await request_export(core.services, item_id, "U-Kofi")
        assert "GITHUB_TOKEN" in notice
        assert await request_export(core.services, 999_999, "U-Kofi") == sentences.EXPORT_NO_ITEM
    assert item(core, item_id).export_state is None and export_jobs(core) == []


@pytest.mark.anyio
async def test_auto_export_exports_new_items_of_linked_channels_once(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github, auto_export=True))
        before_link = await stored_item(core, "Book the venue")
        assert await auto_export(core.services, [before_link]) == 0  # not linked yet
        await say(core, "link github acme/web", "Ev1")
        first, second = (
            await stored_item(core, "Draft the agenda"),
            await stored_item(core, "Call Ama"),
        )
        assert await auto_export(core.services, [first, second]) == 2
        assert await auto_export(core.services, [first, second]) == 0  # already under way
        await worker.drain()
        assert await auto_export(core.services, [first, second]) == 0
    assert sorted(i["title"] for i in github.issues["acme/web"]) == ["Call Ama", "Draft the agenda"]
    assert [e[0] for e in history(core, first)][:1] == ["bot"]


@pytest.mark.anyio
async def test_auto_export_waits_for_an_owner(engine) -> None:
    """Only confirmed items go by themselves: one nobody owns waits for its button, or
    for a person to give it an owner, which exports it then."""
    from bot.features.items.service import apply_change

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github, auto_export=True))
        await say(core, "link github acme/web", "Ev1")
        unowned = await stored_item(core, "Someone should book the venue", owned=False)
        assert await auto_export(core.services, [unowned]) == 0
        await worker.drain()
        assert github.issues["acme/web"] == []
        await apply_change(
            core.services, unowned, actor="U-Boss", owner_id="U-Ama", owner_name="Ama"
        )
        await worker.drain()
    assert [i["title"] for i in github.issues["acme/web"]] == ["Someone should book the venue"]


@pytest.mark.anyio
async def test_auto_export_is_off_by_default(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        assert await auto_export(core.services, [item_id]) == 0
        await worker.drain()
    assert github.issues["acme/web"] == []


@pytest.mark.anyio
async def test_forget_deletes_the_link_the_items_and_their_export_jobs(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        done_id = await stored_item(core)
        pending_id = await stored_item(core, "Still queued")
        await request_export(core.services, done_id, "U-Kofi")
        await worker.drain()
        await request_export(core.services, pending_id, "U-Kofi")  # its job never runs
        await say(core, "forget confirm", "Ev2")
        assert await worker.drain() == 0
    from bot.storage.models import ActionItemRecord, TrackerLink

    with Session(core.services.repo.engine) as session:
        assert session.exec(select(TrackerLink)).all() == []
        assert session.exec(select(ActionItemRecord)).all() == []
    assert export_jobs(core) == []
    assert len(github.issues["acme/web"]) == 1  # the issue created stays in GitHub


@pytest.mark.anyio
async def test_auto_export_of_a_saved_recap(engine) -> None:
    """What the recap job calls after `repo.save_recap`: its items, through RecapItem."""
    from bot.features.items.trackers import auto_export_recap
    from summarizer.types import ActionItem, Recap

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github, auto_export=True))
        await say(core, "link github acme/web", "Ev1")
        services = core.services
        channel = await services.conversations.get_channel(HERE)
        recap = Recap(
            summary="Launch.",
            action_items=[ActionItem(task="Write the release notes", owner="Ama")],
            engine="offline",
        )
        row = await asyncio.to_thread(services.repo.save_recap, channel, recap, thread_id=THREAD)
        assert await auto_export_recap(services, row) == 1
        assert await auto_export_recap(services, None) == 0
        await worker.drain()
    assert [i["title"] for i in github.issues["acme/web"]] == ["Write the release notes"]


@pytest.mark.anyio
async def test_balafon_export_action_items_carries_the_tracker_link(engine) -> None:
    from bot.export import rows

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        exported_id = await exported_item(core, worker, "link github acme/web")
        plain_id = await stored_item(core, "Not exported")
    by_id = {row["id"]: row for row in rows(core.services.repo.engine, "action-items")}
    assert by_id[exported_id]["tracker_ref"] == "acme/web#1"
    assert by_id[exported_id]["tracker_url"] == github.issues["acme/web"][0]["html_url"]
    assert (by_id[exported_id]["tracker"], by_id[exported_id]["export_state"]) == (
        "github",
        "created",
    )
    assert by_id[plain_id]["tracker_ref"] is None and by_id[plain_id]["export_state"] is None


@pytest.mark.anyio
async def test_a_long_rate_limit_puts_the_export_back_until_its_reset(engine) -> None:
    """Longer than the client waits: the job goes back to the queue until the reset the
    service gave, without counting an attempt or telling anyone of a failure."""
    from datetime import UTC, datetime

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, platform = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        github.fail_next(FakeGitHub.rate_limited(on="GET", reset_in=600))
        await request_export(core.services, item_id, "U-Kofi")
        await worker.drain()
        (job,) = export_jobs(core)
        assert job.status == "queued" and job.attempts == 0
        wait = (job.run_after - datetime.now(UTC)).total_seconds()
        assert 500 < wait <= 601
        assert item(core, item_id).export_state == "pending"
        assert not any(isinstance(p.reply, ErrorReply) for p in platform.posts.values())
        with Session(core.services.repo.engine) as session:  # the reset has come
            stored = session.get(Job, job.id)
            stored.run_after = datetime.now(UTC)
            session.add(stored)
            session.commit()
        await worker.drain()
    assert item(core, item_id).tracker_ref == "acme/web#1"


@pytest.mark.anyio
async def test_an_export_whose_job_ended_unstored_is_restarted_by_a_press(engine) -> None:
    """The job ended but its failure was never recorded (the process died in between):
    the item is stuck pending until someone presses again, which starts a new attempt."""
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        await request_export(core.services, item_id, "U-Kofi")
        with Session(core.services.repo.engine) as session:
            (job,) = session.exec(select(Job).where(col(Job.kind) == "tracker_export")).all()
            job.status = "failed"
            session.add(job)
            session.commit()
        assert await worker.drain() == 0
        notice = await request_export(core.services, item_id, "U-Kofi")
        assert notice == sentences.EXPORT_STARTED.format(tracker="GitHub")
        await worker.drain()
    assert item(core, item_id).tracker_ref == "acme/web#1"
    assert len(github.issues["acme/web"]) == 1


@pytest.mark.anyio
async def test_auto_export_after_a_recap_job_posts(engine) -> None:
    """End to end: `@balafon recap` in a linked channel with AUTO_EXPORT posts the recap,
    and its item becomes one GitHub issue whose link the item then shows."""
    from datetime import timedelta

    from bot.features.items.service import drain
    from bot.ports import ChatMessage, RecapReply
    from tests.trackers.support import NOW

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, platform = tracker_bot(
            engine, tracker_config(github=github, auto_export=True)
        )
        await say(core, "link github acme/web", "Ev1")
        platform.add(
            "C1",
            ChatMessage(
                id="1700.0100",
                author_id="U-Ama",
                author_name="Ama",
                text="I'll write the release notes by Friday.",
                at=NOW - timedelta(hours=1),
            ),
        )
        await say(core, "recap", "Ev2")
        await worker.drain()  # the recap, then the export it asked for
        await worker.drain()
        await drain()  # the re-rendering of the post, in the background
        posted = [p for p in platform.posts.values() if isinstance(p.reply, RecapReply)]
    assert [i["title"] for i in github.issues["acme/web"]] == ["Write the release notes"]
    assert len(posted) == 1
    view = posted[0].reply.items[0]
    assert view is not None
    stored = item(core, view.id)
    assert (stored.tracker_ref, stored.export_state) == ("acme/web#1", "created")
    shown = posted[0].last
    assert isinstance(shown, RecapReply) and shown.items[0].tracker_ref == "acme/web#1"


LINKS = {"github": "link github acme/web", "jira": "link jira ENG", "linear": "link linear ENG"}


@pytest.mark.anyio
@pytest.mark.parametrize("tracker", sorted(LINKS))
async def test_an_item_given_a_deleted_items_id_gets_an_issue_of_its_own(engine, tracker) -> None:
    """SQLite gives a deleted item's id to the next item (`forget`, retention, a deleted
    message): exporting it must not find the deleted item's issue by its marker and take
    it for its own (nor one made by another deployment sharing the tracker)."""
    from bot.storage.item_deletion import delete_items
    from bot.storage.models import ActionItemRecord

    with (
        FakeGitHub(token="gh-t", repos={"acme/web"}) as github,
        FakeJira(email="bot@acme.example", token="jira-token", projects={"ENG"}) as jira,
        FakeLinear(api_key="lin-key", teams={"ENG": "team-eng"}) as linear,
    ):
        config = tracker_config(github=github, jira=jira, linear=linear)
        core, worker, _ = tracker_bot(engine, config)
        old_id = await exported_item(core, worker, LINKS[tracker], "Book the venue")
        old = item(core, old_id)
        with Session(core.services.repo.engine) as session:
            delete_items(session, col(ActionItemRecord.id) == old_id)
            session.commit()
        new_id = await stored_item(core, "Write the release notes", item_id=old_id)
        await request_export(core.services, new_id, "U-Kofi")
        await worker.drain()
    titles = {
        "github": [i["title"] for i in github.issues["acme/web"]],
        "jira": [i["fields"]["summary"] for i in jira.issues],
        "linear": [i["title"] for i in linear.issues.values()],
    }[tracker]
    new = item(core, new_id)
    assert new_id == old_id and old.tracker_ref is not None
    assert titles == ["Book the venue", "Write the release notes"]
    assert new.tracker_ref is not None and new.tracker_ref != old.tracker_ref
    assert new.export_token and old.export_token and new.export_token != old.export_token


@pytest.mark.anyio
async def test_a_retried_export_keeps_its_token_and_finds_the_failed_attempts_issue(
    engine,
) -> None:
    """An attempt that failed after GitHub created the issue (every answer lost): the next
    press keeps the item's export token, so it finds that issue instead of a second."""
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, worker, _ = tracker_bot(engine, tracker_config(github=github))
        await say(core, "link github acme/web", "Ev1")
        item_id = await stored_item(core)
        github.fail_next(
            Fault(on="POST", after=True, hang_up=True),
            *[Fault(status=502, on="GET /repos") for _ in range(40)],
        )
        await request_export(core.services, item_id, "U-Kofi")
        token = item(core, item_id).export_token
        for _ in range(5):  # the job's attempts, each retried at once
            await worker.drain()
            with Session(core.services.repo.engine) as session:
                for job in session.exec(select(Job).where(col(Job.status) == "queued")).all():
                    job.run_after = job.created_at
                    session.add(job)
                session.commit()
        assert item(core, item_id).export_state == "failed"
        github.faults.clear()
        await request_export(core.services, item_id, "U-Kofi")
        await worker.drain()
    assert len(github.issues["acme/web"]) == 1
    stored = item(core, item_id)
    assert stored.tracker_ref == "acme/web#1" and stored.export_token == token
