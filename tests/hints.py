"""Every command the bot suggests, and a check that the core understood one.

A hint is a code span (`…`) in a sentence the bot prints: the core's sentences
(bot/sentences.py, bot/commands.py, bot/features/), and each platform's own. The
platform tests (tests/*/test_hints.py) paste each one in a channel through the platform's
real inbound path and check, with `Recorder`, that the core got a command it understood.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from adapters.slack import sentences as slack_sentences
from bot import sentences as messages
from bot.commands import CommandError, parse_command
from bot.inbound import CommandRequest, Inbound, Outcome

ROOT = Path(__file__).parents[1]
_SPAN = re.compile(r"`([^`\n]+)`")
_SETTING = re.compile(r"[A-Z][A-Z0-9_]+")  # `TEAMS_GRAPH_CLIENT_ID`: a setting, not a command
MENTION = "@balafon "
SLASH = "/recap"


def spans(texts: Iterable[str]) -> list[str]:
    found = {span.strip() for text in texts for span in _SPAN.findall(text)}
    return sorted(span for span in found if not _SETTING.fullmatch(span))


def module_texts(module: ModuleType, *, skip_prefix: str | None = None) -> list[str]:
    """The sentences a messages module defines (strings, and the strings of its dicts)."""
    texts: list[str] = []
    for name, value in vars(module).items():
        if name.startswith("_") or (skip_prefix and name.startswith(skip_prefix)):
            continue
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            texts.extend(v for v in value.values() if isinstance(v, str))
        elif isinstance(value, tuple):
            texts.extend(v for item in value for v in _strings(item))
    return texts


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [s for item in value for s in _strings(item)]
    return []


def literal_texts(path: Path) -> list[str]:
    """The string literals of a module that are not docstrings (its error sentences)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def core_hints() -> list[str]:
    """What every platform may print: the core's sentences, but not Slack's own."""
    texts = module_texts(messages)
    texts += literal_texts(ROOT / "bot" / "commands.py")
    for feature in sorted((ROOT / "bot" / "features").rglob("*.py")):  # help lines, errors
        texts += literal_texts(feature)
    return spans(texts)


def slack_texts() -> list[str]:
    return [value for name, value in vars(slack_sentences).items() if name.isupper()]


@dataclass
class Recorder:
    """Wraps the core's `handle_command` (calling it as ever) to see what reached it."""

    core: Inbound
    seen: list[tuple[CommandRequest, Outcome]] = field(default_factory=list)

    def __post_init__(self) -> None:
        original = self.core.handle_command

        async def recorded(request: CommandRequest) -> Outcome:
            outcome = await original(request)
            self.seen.append((request, outcome))
            return outcome

        self.core.handle_command = recorded  # type: ignore[method-assign]

    def take(self) -> list[tuple[CommandRequest, Outcome]]:
        seen, self.seen = self.seen, []
        return seen


def misunderstood(hint: str, seen: list[tuple[CommandRequest, Outcome]]) -> str | None:
    """None when exactly one command reached the core and it understood it; else why not."""
    if len(seen) != 1:
        return f"{hint!r}: {len(seen)} commands reached the core"
    request, outcome = seen[0]
    said = getattr(outcome.reply, "text", "") or ""
    if said.startswith("I didn't understand"):
        return f"{hint!r} arrived as {request.text!r}: not understood"
    try:
        parse_command(request.text, now=datetime.now(UTC))
    except CommandError as exc:
        return f"{hint!r} arrived as {request.text!r}: {exc}"
    return None


def check_all(hints: Iterable[str], results: dict[str, str | None]) -> None:
    failures = [why for hint in hints if (why := results.get(hint, f"{hint!r}: not sent"))]
    assert not failures, "\n".join(failures)
