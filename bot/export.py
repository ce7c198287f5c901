"""`balafon export`: recaps, action items and voice profiles (whose voice is kept) as
JSON Lines or CSV, one row per record,
shaped for a warehouse (no nested structures in CSV, ISO 8601 times, platform ids)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy.engine import Engine

from bot.storage.export import ExportQueries
from bot.storage.models import (
    ActionItemEvent,
    ActionItemRecord,
    Channel,
    RecapRecord,
    VoiceProfile,
    Workspace,
)

KINDS = ("recaps", "action-items", "voice-profiles")
# A spreadsheet opening the CSV runs a cell that starts with one of these as a formula
# (OWASP "CSV Injection"; ASVS 1.2.10 adds NUL): such a cell gets a leading apostrophe.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def rows(engine: Engine, kind: str, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The records of `kind`, oldest first, with their workspace and channel ids."""
    queries = ExportQueries(engine)
    if kind == "recaps":
        for recap, workspace, channel in queries.recaps(since):
            yield _place(recap.id, workspace, channel, recap.created_at) | _recap(recap)
    elif kind == "voice-profiles":
        for profile, workspace in queries.voice_profiles(since):
            yield _voice(profile, workspace)
    else:
        batch: list[tuple[ActionItemRecord, Workspace, Channel]] = []
        for found in queries.action_items(since):
            batch.append(found)
            if len(batch) == HISTORY_BATCH:
                yield from _items(queries, batch)
                batch = []
        yield from _items(queries, batch)


HISTORY_BATCH = 500  # items whose histories are read in one query


def _items(
    queries: ExportQueries, batch: list[tuple[ActionItemRecord, Workspace, Channel]]
) -> Iterator[dict[str, Any]]:
    histories = queries.item_histories([item.id for item, _, _ in batch if item.id])
    for item, workspace, channel in batch:
        history = histories.get(item.id or 0, [])
        yield _place(item.id, workspace, channel, item.created_at) | _item(item, history)


def _place(
    record_id: int | None, workspace: Workspace, channel: Channel, created_at: datetime
) -> dict[str, Any]:
    return {
        "id": record_id,
        "platform": workspace.platform,
        "workspace": workspace.external_id,
        "channel": channel.external_id,
        "created_at": _iso(created_at),
    }


def _recap(record: RecapRecord) -> dict[str, Any]:
    recap = record.recap
    return {
        "thread": record.thread_id,
        "window_start": _iso(record.window_start),
        "window_end": _iso(record.window_end),
        "engine": record.engine,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "summary": recap.get("summary", ""),
        "decisions": [d.get("text") for d in recap.get("decisions", [])],
        "action_items": len(recap.get("action_items", [])),
        "open_questions": len(recap.get("open_questions", [])),
    }


def _item(record: ActionItemRecord, history: list[ActionItemEvent]) -> dict[str, Any]:
    """An item with its state now, its tracker issue and its history (oldest first: who
    changed what, when; `seen` = a later recap reported it again)."""
    return {
        "recap_id": record.recap_id,
        "thread": record.thread_id,
        "task": record.task,
        "owner_id": record.owner_id,
        "owner_name": record.owner_name,
        "due": _iso(record.due),
        "status": record.status,
        "confidence": record.confidence,
        "source_ref": record.source_ref,
        "requested_by": record.requested_by,
        "updated_at": _iso(record.updated_at),
        # The issue it was exported to (docs/trackers.md), when it was.
        "tracker": record.tracker,
        "tracker_ref": record.tracker_ref,
        "tracker_url": record.tracker_url,
        "export_state": record.export_state,
        "history": [
            {
                "at": _iso(event.at),
                "actor": event.actor,
                "field": event.field,
                "old": event.old,
                "new": event.new,
            }
            for event in history
        ],
    }


def _voice(profile: VoiceProfile, workspace: Workspace) -> dict[str, Any]:
    """Whose voice is kept, and since when; the voice itself never leaves the database."""
    return {
        "id": profile.id,
        "platform": workspace.platform,
        "workspace": workspace.external_id,
        "user_id": profile.user_id,
        "name": profile.name,
        "samples": profile.samples,
        "updated_at": _iso(profile.updated_at),
    }


def neutralise(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates: text led by a formula trigger is quoted
    with `'` (shown as text by Excel, LibreOffice and Sheets); other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write(records: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> int:
    """Write JSON Lines or CSV (lists joined with " | ", formula-like cells neutralised:
    `neutralise`); JSON Lines is data, never evaluated, and stays as stored. Returns the
    number of rows."""
    count = 0
    writer: csv.DictWriter | None = None
    for record in records:
        if fmt == "jsonl":
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            flat = {k: neutralise(_cell(v)) for k, v in record.items()}
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(flat))
                writer.writeheader()
            writer.writerow(flat)
        count += 1
    return count


def _cell(value: Any) -> Any:
    """A list in one CSV cell: its entries joined with " | " (objects as JSON)."""
    if not isinstance(value, list):
        return value
    return " | ".join(
        v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)
        for v in value
    )


def export_text(engine: Engine, kind: str, fmt: str, since: datetime | None = None) -> str:
    buffer = io.StringIO()
    write(rows(engine, kind, since), buffer, fmt)
    return buffer.getvalue()
