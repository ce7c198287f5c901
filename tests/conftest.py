"""Shared fixtures. Storage tests run on SQLite and on the live PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.storage.db import create_db_engine
from summarizer import threadsafe_ast
from tests.db import drop_templates, migrated_sqlite, postgres_schema

# As `balafon` does at start: the test process parses Python on several threads at once
# (pytest's rewriting, numpy's .npz headers, inspect), which CPython 3.11.7 cannot.
threadsafe_ast.install()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`@pytest.mark.anyio`) run on asyncio, the loop the bot runs on."""
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def _database_templates() -> Iterator[None]:
    """The migrated templates (tests/db.py) live as long as the session."""
    yield
    drop_templates()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each kind (a copy of the session's migrated template)."""
    if request.param == "sqlite":
        engine = create_db_engine(migrated_sqlite(tmp_path / "balafon.db"))
        yield engine
        engine.dispose()
        return
    with postgres_schema() as url:
        engine = create_db_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of an empty database of its own on the live PostgreSQL, for processes the test
    starts (they migrate it themselves)."""
    with postgres_schema(migrated=False) as url:
        yield url


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def broker_url() -> Iterator[str]:
    """The live Redis as a Celery broker, on a database of the tests' own, emptied."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()
