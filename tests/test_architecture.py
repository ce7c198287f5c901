"""The shape docs/architecture.md promises, checked on the source (import-linter checks the
layers and the SDKs; this checks what it cannot): short modules, and no module reaching into
another module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "summarizer")
MAX_LINES = 450
COMPOSITION_ROOT = "bot.main"


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(module: str, source: str, modules: dict[str, Path]) -> list[str]:
    """`from other import _name`, and `other._name` where `other` is an imported module of
    ours. (Another object's `_name` inside its own class, e.g. `other._slot` in `__lt__`, is
    the class's own business and not counted.)"""
    tree = ast.parse(source)
    imported: set[str] = set()  # local names bound to modules of ours
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{module}:{node.lineno} imports {node.module}.{alias.name}")
                if f"{node.module}.{alias.name}" in modules:
                    imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    imported.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            found.append(f"{module}:{node.lineno} reads {node.value.id}.{node.attr}")
    return found


def test_no_module_is_over_450_lines() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
        and ".migrations." not in f".{name}."
    }
    assert long == {}, f"split these by concern: {long}"


def test_no_module_reaches_into_another_modules_private_names() -> None:
    modules = _modules()
    reaches = [
        reach
        for name, path in modules.items()
        if name != COMPOSITION_ROOT
        for reach in private_reaches(name, path.read_text(), modules)
    ]
    assert reaches == []


def test_the_private_name_check_sees_both_kinds_of_reach() -> None:
    modules = {"bot.jobs": Path("bot/jobs.py"), "bot": Path("bot/__init__.py")}
    source = "from bot.jobs import _lease\nfrom bot import jobs\njobs._claim()\nself._x = 1\n"
    assert private_reaches("bot.x", source, modules) == [
        "bot.x:1 imports bot.jobs._lease",
        "bot.x:3 reads jobs._claim",
    ]
