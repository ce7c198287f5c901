"""Where a marker is still stored: every column of every table, the SQLite files' raw
bytes, files on disk (the data-governance tests of tests/security)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine


def tables_with(engine: Engine, marker: str) -> list[str]:
    """`table.column` of every stored value containing `marker`, over all tables."""
    found = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            columns = [c["name"] for c in inspect(connection).get_columns(table)]
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes | bytearray | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    elif not isinstance(value, str):
                        value = json.dumps(value, default=str)
                    if marker in value:
                        found.append(f"{table}.{column}")
    return found


def raw_with(engine: Engine, marker: str) -> list[str]:
    """The SQLite files (database and write-ahead log) whose bytes contain `marker`."""
    if engine.dialect.name != "sqlite":
        return []
    database = Path(engine.url.database or "")
    files = [database, database.with_name(database.name + "-wal")]
    return [f.name for f in files if f.exists() and marker.encode() in f.read_bytes()]


def files_with(root: Path, marker: str) -> list[str]:
    """Files under `root` whose name or bytes contain `marker` (uploads, work files)."""
    return [
        str(p)
        for p in root.rglob("*")
        if marker in p.name or (p.is_file() and marker.encode() in p.read_bytes())
    ]
