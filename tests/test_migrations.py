"""Alembic migrations on SQLite and PostgreSQL: from empty, from every earlier revision, and
back down; the migrated schema matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import adapters.playground.tables  # the playground's own tables (also binds `adapters`)
import adapters.teams.references  # noqa: F401 - the Teams adapter's own table
import bot.storage.models  # noqa: F401 - the tables
from bot.storage.db import MIGRATIONS, current_revision, downgrade, upgrade

REVISIONS = [r.revision for r in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]


@pytest.fixture
def empty(engine):
    downgrade(engine, "base")  # the fixture migrated it; start from nothing
    assert current_revision(engine) is None
    return engine


def test_upgrade_from_empty_matches_the_models(empty) -> None:
    upgrade(empty)
    assert current_revision(empty) == REVISIONS[-1]
    with empty.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    # APScheduler's store, the one table that lives outside the models, aside.
    assert [d for d in diff if d[0] != "remove_table" and "remove_index" not in d[0]] == []


@pytest.mark.parametrize("start", REVISIONS[:-1])
def test_upgrade_from_each_previous_revision(empty, start) -> None:
    upgrade(empty, start)
    assert current_revision(empty) == start
    upgrade(empty)
    assert current_revision(empty) == REVISIONS[-1]
    assert "digest_runs" in inspect(empty).get_table_names()


def test_downgrade_to_base_removes_every_table(empty) -> None:
    upgrade(empty)
    downgrade(empty, "base")
    assert set(inspect(empty).get_table_names()) <= {"alembic_version"}


def test_0007_gives_stored_items_identities_and_positions(empty) -> None:
    """A database with recaps and items from before #16 upgrades (foreign keys on: SQLite
    copies the changed tables), and its items become what a new recap finds again: the
    latest of several rows of one commitment carries the identity, each recap keeps its
    items in order. And back down again."""
    from sqlalchemy import text

    from bot.features.items.identity import item_key
    from summarizer.types import ActionItem

    upgrade(empty, "0006")
    now = "2026-12-01 10:00:00"
    with empty.begin() as db:
        db.execute(
            text(
                "INSERT INTO workspaces (id, platform, external_id, is_enterprise_install, "
                "installed_at) VALUES (1, 'slack', 'T1', false, :now)"
            ),
            {"now": now},
        )
        db.execute(
            text(
                "INSERT INTO channels (id, workspace_id, external_id, is_private, "
                "auto_transcribe) VALUES (1, 1, 'C1', false, true)"
            )
        )
        for recap_id in (1, 2):
            db.execute(
                text(
                    "INSERT INTO recaps (id, workspace_id, channel_id, engine, input_tokens, "
                    "output_tokens, recap, created_at) "
                    "VALUES (:id, 1, 1, 'offline', 0, 0, '{}', :now)"
                ),
                {"id": recap_id, "now": now},
            )
        rows = [
            (1, 1, "Send the deck", "m1"),
            (2, 1, "Book the room", None),
            (3, 2, "Send the deck", "m1"),  # the second recap reported it again
        ]
        for item_id, recap_id, task, ref in rows:
            db.execute(
                text(
                    "INSERT INTO action_items (id, recap_id, workspace_id, channel_id, task, "
                    "source_ref, status, confidence, created_at) "
                    "VALUES (:id, :recap, 1, 1, :task, :ref, 'open', 0.5, :now)"
                ),
                {"id": item_id, "recap": recap_id, "task": task, "ref": ref, "now": now},
            )
    upgrade(empty)
    with empty.connect() as db:
        keys = dict(db.execute(text("SELECT id, key FROM action_items")).fetchall())
        positions = db.execute(
            text("SELECT recap_id, item_id, position FROM recap_items ORDER BY recap_id, item_id")
        ).fetchall()
        posts = db.execute(text("SELECT post FROM recaps")).fetchall()
    assert keys[3] == item_key(ActionItem(task="Send the deck", ref="m1"))
    assert keys[1] == "legacy:1"
    assert keys[2] == item_key(ActionItem(task="Book the room"))
    assert [tuple(p) for p in positions] == [(1, 1, 0), (1, 2, 1), (2, 3, 0)]
    assert all(post[0] in ("{}", {}) for post in posts)
    downgrade(empty, "0006")
    assert current_revision(empty) == "0006"
