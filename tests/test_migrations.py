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
