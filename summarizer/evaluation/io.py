"""Reading the reference files of the evaluation harness: JSONL rows, checked fields.

Input files are JSONL and are read one row at a time: the meeting files hold hundreds of
thousands of words, and only the scores are kept. Every problem is an `InputError` that
names the file and line.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from summarizer.errors import InputError

# Seconds, monotonic; looked up at each call (`io.clock()`) so tests can make time fixed.
clock = time.perf_counter


def iter_jsonl(path: Path) -> Generator[tuple[str, dict[str, Any]], None, None]:
    """Yield ("<file> line N", row) for each non-blank line, with one-line errors."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                where = f"{path.name} line {number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{where}: invalid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise InputError(f"{where}: expected a JSON object")
                yield where, row
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


_KINDS: dict[str, tuple[type, ...]] = {
    "a string": (str,),
    "a list": (list,),
    "a number": (int, float),
}


def required_field(row: dict[str, Any], key: str, kind: str, where: str) -> Any:
    """row[key], which must be present, not null and of ``kind`` (a key of _KINDS)."""
    if row.get(key) is None:
        raise InputError(f"{where}: missing field '{key}'")
    value = row[key]
    if not isinstance(value, _KINDS[kind]) or isinstance(value, bool):
        raise InputError(f"{where}: field '{key}' must be {kind}")
    return value


def optional_strings(row: dict[str, Any], key: str, where: str) -> list[str] | None:
    """A list of strings, or None when the field is absent (the metric is then skipped)."""
    if row.get(key) is None:
        return None
    value = required_field(row, key, "a list", where)
    if not all(isinstance(item, str) for item in value):
        raise InputError(f"{where}: field '{key}' must be a list of strings")
    return value


def check_limit(limit: int | None) -> None:
    """A `--limit` must be a positive number of rows."""
    if limit is not None and limit < 1:
        raise InputError("limit must be a positive number")


# AMI annotators wrote "*NA*" or "NA." where a meeting has no action item or decision;
# it means "none", not an item to find.
_PLACEHOLDER = re.compile(r"^\W*(?:n\W*a|none|nil)\W*$", re.IGNORECASE)


def reference_items(items: list[str]) -> list[str]:
    """The annotated items, without blanks and "none" placeholders."""
    return [item for item in items if item.strip() and not _PLACEHOLDER.match(item)]


# --------------------------------------------------------------------------------------
# Markdown helpers
# --------------------------------------------------------------------------------------
