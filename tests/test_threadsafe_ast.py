"""summarizer/threadsafe_ast.py: on CPython versions whose AST conversion shares one depth
counter between threads, parsing on several threads at once must not fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from summarizer import threadsafe_ast

ROOT = Path(__file__).resolve().parent.parent
# Threads parse while a garbage collection runs finalizers that parse too and let the others
# in: a bot whose media threads load numpy files while the loop imports modules.
STRESS = """
import ast, gc, sys, threading, time
sys.path.insert(0, {root!r})
from summarizer import threadsafe_ast
threadsafe_ast.install()
SOURCE = open({source!r}).read()
HEADER = "{{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 4), }}"
errors, stop = [], False

class Litter:
    def __init__(self): self.me = self  # a cycle: only a collection frees it
    def __del__(self):
        time.sleep(0.0005)  # lets another thread run mid-parse
        try: ast.literal_eval(HEADER)  # and parses on this one (a finalizer's traceback does)
        except SystemError as exc: errors.append(str(exc))

def litter():
    while not stop:
        Litter(); time.sleep(0.001)

def headers():
    while not stop:
        time.sleep(0.0001)
        try: ast.literal_eval(HEADER)
        except SystemError as exc: errors.append(str(exc))

gc.set_threshold(50, 5, 5)
threads = [threading.Thread(target=litter), threading.Thread(target=headers)]
for thread in threads: thread.start()
started = time.monotonic()
while time.monotonic() - started < 1.5 and not errors:
    try: ast.parse(SOURCE)
    except SystemError as exc: errors.append(str(exc))
stop = True
for thread in threads: thread.join()
print(errors[:1] or "ok")
"""


def test_versions_with_the_shared_counter() -> None:
    assert threadsafe_ast.affected((3, 11, 7)) and threadsafe_ast.affected((3, 12, 0))
    assert not threadsafe_ast.affected((3, 11, 8)) and not threadsafe_ast.affected((3, 13, 1))


def test_install_is_idempotent() -> None:
    import ast

    threadsafe_ast.install()
    first = ast.parse
    threadsafe_ast.install()
    assert ast.parse is first
    assert ast.literal_eval("{'a': (1, 2)}") == {"a": (1, 2)}


@pytest.mark.skipif(not threadsafe_ast.affected(), reason="this CPython converts safely")
def test_parsing_on_several_threads_at_once_does_not_fail() -> None:
    script = STRESS.format(root=str(ROOT), source=str(ROOT / "bot" / "features" / "recap.py"))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
