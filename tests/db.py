"""Migrated test databases: Alembic runs once per test session, each test gets a copy.

Running the Alembic migrations costs a test 0.1-0.3 s. SQLite tests get a copy of a file
migrated once; PostgreSQL tests get a schema of their own (a random name, so sessions on one
server stay apart) in which the statements of one recorded migration are replayed in a single
transaction. The templates are made on first use and removed by `drop_templates()` at the end
of the session (tests/conftest.py). Tests of the migrations themselves still migrate: they
downgrade their copy and upgrade it again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bot.storage.db import checkpoint, create_db_engine, upgrade

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

_sqlite_template: Path | None = None
# (statement, parameters) as the driver received them
_Statement = tuple[str, Any]
_postgres_template: list[_Statement] | None = None


def migrated_sqlite(path: Path) -> str:
    """The URL of a migrated, empty SQLite database at `path` (a copy of the template)."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="balafon-template-"))
        template = folder / "template.db"
        engine = create_db_engine(f"sqlite:///{template}")
        try:
            upgrade(engine)
            checkpoint(engine)  # everything in the main file: the copy needs no -wal file
        finally:
            engine.dispose()
        _sqlite_template = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


def _admin() -> Engine:
    """An engine on the test database itself; skips the test when the server is down (fails
    in CI, which provides one)."""
    admin = create_db_engine(POSTGRES_URL)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")
    return admin


def _schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def _recorded_migration(admin: Engine) -> list[_Statement]:
    """The statements migrating an empty schema sends, recorded once per session: the
    template. Migrations name no schema (the search path picks it), so replaying them
    builds the same tables in another schema, in one transaction, without Alembic."""
    global _postgres_template
    if _postgres_template is None:
        schema = f"t_template_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_db_engine(_schema_url(schema))
        recorded: list[_Statement] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _record(_conn, _cursor, statement, parameters, _context, _many) -> None:
            recorded.append((statement, parameters))

        try:
            upgrade(engine)
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        if any(schema in statement for statement, _ in recorded):
            raise AssertionError("a migration names its schema; tests/db.py cannot replay it")
        _postgres_template = recorded
    return _postgres_template


@contextmanager
def postgres_schema(*, migrated: bool = True) -> Iterator[str]:
    """The URL of a schema of its own on the live PostgreSQL, dropped afterwards: migrated
    (the recorded migration replayed), or empty (for processes that migrate it themselves).
    Random names keep two sessions on one server apart."""
    admin = _admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            if migrated:
                statements = _recorded_migration(admin)
                engine = create_db_engine(_schema_url(schema))
                try:
                    with engine.begin() as connection:
                        for statement, parameters in statements:
                            connection.exec_driver_sql(statement, parameters or ())
                finally:
                    engine.dispose()
            yield _schema_url(schema)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def drop_templates() -> None:
    """Remove this session's templates (end of the session)."""
    global _sqlite_template, _postgres_template
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)
        _sqlite_template = None
    _postgres_template = None  # only a recording: its schema was dropped at once
