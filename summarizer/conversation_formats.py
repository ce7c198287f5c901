"""Read conversations from files: a Slack export, a JSON list, or plain "Name: text" lines."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from summarizer.errors import InputError
from summarizer.types import Conversation, Message

TEXT_SUFFIXES = {".txt", ".md", ".log", ".text"}
_SKIPPED_SUBTYPES = {"channel_join", "channel_leave", "channel_topic", "channel_purpose"}
_LINE = re.compile(
    r"^\s*(?:\[(?P<stamp>[^\]]+)\]\s*|(?P<clock>\d{1,2}:\d{2}(?::\d{2})?)\s+)?"
    r"(?P<name>[^:\[\]\n]{1,60}?):\s+(?P<text>.*)$"
)


def is_conversation_file(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in TEXT_SUFFIXES | {".json", ".jsonl"}


def load_conversation(path: str | Path) -> Conversation:
    """Load a conversation, choosing the reader from the path (folder, .json, text)."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder.", source=str(path))
    if path.is_dir():
        return load_slack_export(path)
    if path.stat().st_size == 0:
        raise InputError("the file is empty.", source=str(path))
    if path.suffix.lower() in {".json", ".jsonl"}:
        return load_json_messages(path)
    return load_text_lines(path)


def _parse_time(value: Any, source: Path, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) or re.fullmatch(r"\d+(\.\d+)?", str(value)):
            return datetime.fromtimestamp(float(value), tz=UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise InputError(f"{what}: unreadable time {value!r}.", source=str(source)) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _readable(at: datetime | None, fallback: str | None) -> str | None:
    """A message's ref for a reader: when it was said ("2025-11-23 12:13 UTC"), not the
    epoch seconds a file stores; `fallback` when it has no time."""
    if at is None:
        return fallback
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _slack_text(text: str, names: dict[str, str]) -> str:
    """Slack's markup to plain text: <@U1> -> @Name, <#C1|dev> -> #dev, <url|label> -> label."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (names.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return label or target

    return html.unescape(re.sub(r"<([^<>]+)>", replace, text))


def _user_names(export_root: Path) -> dict[str, str]:
    users_file = export_root / "users.json"
    if not users_file.is_file():
        return {}
    try:
        users = json.loads(users_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc}).", source=str(users_file)) from exc
    names = {}
    for user in users if isinstance(users, list) else []:
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        if user.get("id") and (name or user.get("name")):
            names[user["id"]] = name or user["name"]
    return names


def _slack_message(
    raw: dict[str, Any], names: dict[str, str], source: Path, what: str
) -> Message | None:
    if raw.get("subtype") in _SKIPPED_SUBTYPES or not isinstance(raw.get("text"), str):
        return None
    profile = raw.get("user_profile") or {}
    user_id = raw.get("user") or raw.get("bot_id")
    author = (
        names.get(user_id or "")
        or profile.get("display_name")
        or profile.get("real_name")
        or raw.get("username")
        or user_id
        or "unknown"
    )
    text = _slack_text(raw["text"], names).strip()
    if not text:
        return None
    at = _parse_time(raw.get("ts"), source, what)
    return Message(author=author, author_id=user_id, text=text, at=at, ref=_readable(at, None))


def load_slack_export(folder: Path) -> Conversation:
    """A channel folder of a Slack export (one JSON file per day; users.json one level up)."""
    days = sorted(folder.glob("*.json"))
    if not days:
        raise InputError("no day files (*.json) found; pass a channel folder.", source=str(folder))
    names = _user_names(folder.parent) | _user_names(folder)
    messages: list[Message] = []
    for day in days:
        if day.name in {"users.json", "channels.json", "integration_logs.json"}:
            continue
        for index, raw in enumerate(_read_json_list(day)):
            message = f"message {index + 1}"
            if isinstance(raw, dict) and (msg := _slack_message(raw, names, day, message)):
                messages.append(msg)
    if not messages:
        raise InputError("the export holds no messages.", source=str(folder))
    messages.sort(key=lambda m: m.at or datetime.min.replace(tzinfo=UTC))
    return Conversation(messages=messages, title=f"#{folder.name}")


def _read_json_list(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".jsonl":
            data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise InputError("not a text file.", source=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON (line {exc.lineno}: {exc.msg}).", source=str(path)
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        data = data["messages"]
    if not isinstance(data, list):
        raise InputError("expected a JSON list of messages.", source=str(path))
    return data


def load_json_messages(path: Path) -> Conversation:
    """A JSON list (or JSON Lines) of {user, text, ts}; Slack day files read the same way."""
    messages: list[Message] = []
    for index, raw in enumerate(_read_json_list(path)):
        what = f"message {index + 1}"
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
            raise InputError(f"{what} has no text.", source=str(path))
        if "user_profile" in raw or raw.get("type") == "message":
            if msg := _slack_message(raw, {}, path, what):
                messages.append(msg)
            continue
        author = raw.get("user") or raw.get("author") or raw.get("name")
        if not author:
            raise InputError(f"{what} has no user.", source=str(path))
        if raw["text"].strip():
            at = _parse_time(raw.get("ts") or raw.get("time"), path, what)
            messages.append(
                Message(
                    author=str(author),
                    text=raw["text"].strip(),
                    at=at,
                    ref=_readable(at, f"message {index + 1}"),
                )
            )
    if not messages:
        raise InputError("the file holds no messages.", source=str(path))
    return Conversation(messages=messages, title=path.stem)


def load_text_lines(path: Path) -> Conversation:
    """Plain `Name: text` lines, optionally prefixed by `[time]` or `HH:MM`; other lines continue
    the previous message."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError("not a UTF-8 text file.", source=str(path)) from exc
    messages: list[Message] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match and not match.group("name").strip().startswith(("http", "https")):
            stamp = match.group("stamp")
            at = _parse_time(stamp, path, f"line {number}") if stamp and "-" in stamp else None
            messages.append(
                Message(
                    author=match.group("name").strip(),
                    text=match.group("text").strip(),
                    at=at,
                    ref=f"line {number}",
                )
            )
        elif messages:
            messages[-1].text += "\n" + line.strip()
        else:
            raise InputError(f"line {number}: expected 'Name: text' lines.", source=str(path))
    if not messages:
        raise InputError("the file holds no messages.", source=str(path))
    return Conversation(messages=messages, title=path.stem)
