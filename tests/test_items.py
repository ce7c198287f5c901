"""Action items that live on (issue #16): the store on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from bot.storage.models import ActionItemEvent, ActionItemRecord, RecapItem, TrackerLink
from bot.storage.repo import Repository
from summarizer.types import ActionItem, Recap


def _recap(*items: ActionItem) -> Recap:
    return Recap(summary="s", action_items=list(items))


@pytest.fixture
def repo(engine) -> Repository:
    return Repository(engine)


@pytest.fixture
def channel(repo):
    workspace = repo.get_or_create_workspace("memory", "T1")
    return repo.get_or_create_channel(workspace.id, "C1")


def _count(engine, model) -> int:
    with Session(engine) as session:
        return len(session.exec(select(model)).all())


def test_a_second_recap_of_the_thread_updates_the_item(repo, channel, engine) -> None:
    first = repo.save_recap(
        channel,
        _recap(ActionItem(task="Send the report to finance", owner="Ann", owner_id="U1", ref="m1")),
        thread_id="t1",
        requested_by="U9",
    )
    due = date(2026, 12, 11)
    second = repo.save_recap(
        channel,
        _recap(
            ActionItem(task="Book the venue", ref="m2"),
            ActionItem(task="Send finance the report", owner_id="U1", due=due, ref="m1"),
        ),
        thread_id="t1",
    )
    rows = repo.items.query(workspace_id=channel.workspace_id)
    assert sorted(row.task for row in rows) == ["Book the venue", "Send finance the report"]
    report = next(row for row in rows if row.source_ref == "m1")
    assert (report.due, report.recap_id, report.requested_by) == (due, second.id, "U9")
    assert [e.field for e in repo.items.history(report.id)] == ["created", "due", "seen"]
    assert [r.id for r in repo.items.recaps_showing(report.id)] == [first.id, second.id]
    slots = repo.items.recap_items(second.id, 2)
    assert [slot.source_ref for slot in slots] == ["m2", "m1"]


def test_a_person_s_status_and_owner_survive_a_re_report(repo, channel) -> None:
    item = ActionItem(task="Renew the certificate", owner="Ann", owner_id="U1", ref="m1")
    repo.save_recap(channel, _recap(item))
    [row] = repo.items.query()
    done, changed = repo.items.change(row.id, actor="U1", status="done")
    assert changed and done.status == "done"
    repo.items.change(row.id, actor="U1", owner_id="U2", owner_name="Bo")
    repo.save_recap(channel, _recap(item))
    again = repo.items.get(row.id)
    assert (again.status, again.owner_id, again.owner_name) == ("done", "U2", "Bo")
    assert repo.items.query(status="open") == []


def test_a_re_report_names_the_owner_when_nobody_set_one(repo, channel) -> None:
    repo.save_recap(channel, _recap(ActionItem(task="Fix the build", ref="m1")))
    repo.save_recap(channel, _recap(ActionItem(task="Fix the build", owner="Cy", ref="m1")))
    [row] = repo.items.query()
    assert row.owner_name == "Cy"


def test_changes_are_history_and_move_the_version(repo, channel) -> None:
    repo.save_recap(channel, _recap(ActionItem(task="Write the notes", ref="m1")))
    [row] = repo.items.query()
    before = repo.items.view(row).version
    same, changed = repo.items.change(row.id, actor="U1", status="open")
    assert not changed and repo.items.view(same).version == before
    after, changed = repo.items.change(row.id, actor="U1", status="dismissed")
    assert changed and repo.items.view(after).version != before
    last = repo.items.history(row.id)[-1]
    assert (last.actor, last.field, last.old, last.new) == ("U1", "status", "open", "dismissed")
    with pytest.raises(ValueError):
        repo.items.change(row.id, actor="U1", status="finished")
    assert repo.items.change(row.id + 100, actor="U1", status="done") == (None, False)


def test_views_carry_the_channel_s_tracker(repo, channel, engine) -> None:
    repo.save_recap(channel, _recap(ActionItem(task="Ship it", ref="m1")))
    [row] = repo.items.query()
    assert repo.items.view(row).tracker is None
    with Session(engine) as session:
        session.add(
            TrackerLink(
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                tracker="github",
                target="o/r",
            )
        )
        session.commit()
    assert repo.items.view(row).tracker == "github"


def test_query_filters_and_orders_by_due(repo, channel) -> None:
    repo.save_recap(
        channel,
        _recap(
            ActionItem(task="Later", owner_id="U1", due=date(2026, 12, 20), ref="a"),
            ActionItem(task="Undated", owner_id="U1", ref="b"),
            ActionItem(task="Soon", owner_id="U2", due=date(2026, 12, 1), ref="c"),
        ),
    )
    assert [r.task for r in repo.items.query()] == ["Soon", "Later", "Undated"]
    assert [r.task for r in repo.items.query(owner_id="U1")] == ["Later", "Undated"]
    assert [r.task for r in repo.items.query(due_before=date(2026, 12, 5))] == ["Soon"]
    assert repo.items.query(channel_ids=[]) == []
    assert len(repo.items.query(channel_ids=[channel.id], limit=2)) == 2


def test_deleting_the_source_message_deletes_the_item_and_its_history(
    repo, channel, engine
) -> None:
    repo.save_recap(
        channel,
        _recap(ActionItem(task="Call the supplier", ref="f1@12"), ActionItem(task="Keep", ref="k")),
    )
    [row] = [r for r in repo.items.query() if r.source_ref == "f1@12"]
    repo.items.change(row.id, actor="U1", status="done")
    repo.delete_message(channel, "f1")
    assert repo.items.get(row.id) is None
    assert [r.task for r in repo.items.query()] == ["Keep"]
    with Session(engine) as session:
        assert (
            session.exec(select(ActionItemEvent).where(ActionItemEvent.item_id == row.id)).all()
            == []
        )
        assert session.exec(select(RecapItem).where(RecapItem.item_id == row.id)).all() == []


def test_forget_deletes_items_events_and_links(repo, channel, engine) -> None:
    repo.save_recap(channel, _recap(ActionItem(task="Call the supplier", ref="m1")))
    [row] = repo.items.query()
    repo.items.change(row.id, actor="U1", status="done")
    counts = repo.forget_channel(channel)
    assert counts["items"] == 1 and counts["recaps"] == 1
    for model in (ActionItemRecord, ActionItemEvent, RecapItem):
        assert _count(engine, model) == 0


def test_set_post_is_kept_on_the_recap(repo, channel) -> None:
    row = repo.save_recap(channel, _recap(ActionItem(task="x", ref="m1")))
    repo.items.set_post(row.id, {"channel": "C1", "message_id": "p1", "title": "T", "links": {}})
    assert repo.items.get_recap(row.id).post["message_id"] == "p1"


def test_retention_deletes_old_items_with_their_reminders_and_keeps_re_reported_ones(
    repo, channel, engine
) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.storage.models import ItemReminder

    then = datetime(2026, 1, 5, tzinfo=UTC)
    old = ActionItem(task="Old task", ref="o")
    kept = ActionItem(task="Still said", ref="k")
    repo.save_recap(channel, _recap(old, kept), now=then)
    repo.save_recap(channel, _recap(kept), now=then + timedelta(days=60))
    rows = {row.task: row for row in repo.items.query()}
    with Session(engine) as session:
        session.add(ItemReminder(item_id=rows["Old task"].id, kind="before", due=date(2026, 1, 9)))
        session.commit()
    counts = repo.purge_expired(then + timedelta(days=61), default_days=30)
    assert counts["items"] == 1 and counts["recaps"] == 1
    assert [row.task for row in repo.items.query()] == ["Still said"]
    assert _count(engine, ItemReminder) == 0
    # The kept item's history is whole; the link to the deleted recap went with it.
    assert [e.field for e in repo.items.history(rows["Still said"].id)] == ["created", "seen"]
    assert len(repo.items.recaps_showing(rows["Still said"].id)) == 1


def test_naming_speakers_records_the_recap_again_and_keeps_people_s_changes(repo, channel) -> None:
    transcript = repo.save_transcript(
        channel, source_message_id="f1", file_id="F1", file_name="call.m4a", transcript={}
    )
    said = ActionItem(task="Send the slides", owner="Speaker 1", ref="f1@12")
    dropped = ActionItem(task="Book a room", owner="Speaker 2", ref="f1@40")
    row = repo.save_recap(channel, _recap(said, dropped), transcript_id=transcript.id)
    slides, room = repo.items.recap_items(row.id, 2)
    repo.items.change(slides.id, actor="U1", status="done")
    named = ActionItem(task="Send the slides", owner="Ann", owner_id="U1", ref="f1@12")
    assert repo.replace_recap(transcript.id, _recap(named)).id == row.id
    again = repo.items.get(slides.id)
    assert (again.status, again.owner_id, again.owner_name) == ("done", "U1", "Ann")
    assert repo.items.get(room.id) is None  # no longer reported, never touched by a person
    assert [r.id for r in repo.items.recaps_showing(slides.id)] == [row.id]
    assert repo.replace_recap(transcript.id + 1, _recap()) is None


def test_positions_in_different_recordings_are_different_items(repo, channel) -> None:
    """A transcript's recap cites positions ("t=0:00:05"), which recur in every recording
    of the channel: the same position in another recording is another item (and does not
    inherit its status); in the same recording's recap again, it is the same item."""

    def transcript() -> int:
        row = repo.save_transcript(
            channel, file_id="F", file_name="standup.m4a", transcript={"segments": []}
        )
        return row.id

    first_recording, second_recording = transcript(), transcript()
    said = ActionItem(task="Alice will send the budget", ref="t=0:00:05")
    first = repo.save_recap(channel, _recap(said), transcript_id=first_recording)
    [item] = repo.items.query(workspace_id=channel.workspace_id)
    repo.items.change(item.id, actor="U1", status="done")
    repo.save_recap(
        channel,
        _recap(ActionItem(task="Alice will send the agenda", ref="t=0:00:05")),
        transcript_id=second_recording,
    )
    rows = repo.items.query(workspace_id=channel.workspace_id, status=None)
    assert sorted((row.task, row.status) for row in rows) == [
        ("Alice will send the agenda", "open"),
        ("Alice will send the budget", "done"),
    ]
    # The first recording's recap replaced (speakers named): still its one item.
    assert repo.replace_recap(first_recording, _recap(said)) is not None
    assert len(repo.items.query(workspace_id=channel.workspace_id, status=None)) == 2
    assert [r.id for r in repo.items.recaps_showing(item.id)] == [first.id]


def test_an_edit_drops_only_the_items_nothing_but_the_bot_touched(repo, channel, engine) -> None:
    """Review finding 8: editing a message keeps its items a person acted on or that
    have a tracker issue (or one being created); the others are stale and go."""
    from datetime import UTC, datetime

    from bot.storage.trackers import TrackerStore

    sent = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    repo.upsert_message(channel, external_id="m1", author_name="Ann", text="…", sent_at=sent)
    tasks = ("Close the books", "Call the bank", "Pay the rent", "Book the trip", "Other")
    recap = repo.save_recap(
        channel, _recap(*(ActionItem(task=t, ref="m1" if t != "Other" else "m2") for t in tasks))
    )
    closed, exported, exporting, untouched, other = repo.items.recap_items(recap.id, 5)
    repo.items.change(closed.id, actor="U1", status="done")
    trackers = TrackerStore(engine)
    for row in (exported, exporting):
        assert trackers.claim_export(row.id, "github", "bot")  # AUTO_EXPORT: not a person
    trackers.store_created(exported.id, "acme/web#7", "https://example.test/7", "7")

    showing = repo.edit_message(channel, "m1", "Close the books and pay the rent.", sent)
    assert [row.id for row in showing] == [recap.id]
    assert repo.items.get(untouched.id) is None
    kept = {row.id: row for row in repo.items.query(status=None)}
    assert set(kept) == {closed.id, exported.id, exporting.id, other.id}
    assert kept[closed.id].status == "done" and kept[exported.id].tracker_ref == "acme/web#7"
    assert [e.field for e in repo.items.history(closed.id)] == ["created", "status"]
    # The next recap finds them again by source and wording: no second issue, same status.
    again = repo.save_recap(channel, _recap(ActionItem(task="Close the books", ref="m1")))
    assert repo.items.recap_items(again.id, 1)[0].id == closed.id
    assert repo.edit_message(channel, "unknown", "x", sent) is None


def test_a_re_report_moving_due_or_owner_bumps_the_item(repo, channel) -> None:
    """Review finding 11: `updated_at` and the version move with a due date or owner a
    recap changes, and `moved_by_recap` names the item so its earlier posts update."""
    item = ActionItem(task="Renew the lease", owner="Ann", owner_id="U1", ref="m1")
    first = repo.save_recap(channel, _recap(item))
    [row] = repo.items.query()
    seen = repo.save_recap(channel, _recap(item))
    assert repo.items.get(row.id).updated_at == row.updated_at  # seen again, nothing moved
    assert repo.items.moved_by_recap(seen.id) == []
    moved = repo.save_recap(channel, _recap(item.model_copy(update={"due": date(2026, 12, 9)})))
    after = repo.items.get(row.id)
    assert after.updated_at > row.updated_at
    assert repo.items.view(after).version != repo.items.view(row).version
    assert repo.items.moved_by_recap(moved.id) == [row.id]
    assert repo.items.moved_by_recap(first.id) == []
