"""The database engine and migrations. SQLite by default, PostgreSQL by DATABASE_URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
log = logging.getLogger(__name__)


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout, secure deletion and its
    folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Deleted rows are overwritten with zeros, not left in free pages of the file
            # (`forget` and retention must not leave readable copies behind).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def ping(engine: Engine) -> None:
    """Raise unless the database answers (the readiness check)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database and empty it, so that pages
    holding deleted rows do not linger in the `-wal` file. Nothing to do elsewhere
    (PostgreSQL reclaims dead rows with VACUUM, which autovacuum runs)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.warning("SQLite's write-ahead log is in use; a later checkpoint empties it")


def _alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent; `balafon db upgrade` and start-up)."""
    import logging

    # Alembic narrates its set-up at INFO (a dozen lines at every start): warnings only.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic import command

    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), revision)
    after = current_revision(engine)
    if after != before:
        logging.getLogger(__name__).info("database schema upgraded: %s -> %s", before, after)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
