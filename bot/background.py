"""Work that runs after the platform has its answer (Slack's 3 s acknowledgement, a
click's response): tracked, logged, awaited by `settle()` (tests, shutdown)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """Fire-and-forget tasks that are never lost silently: errors are logged, and
    `settle()` waits for all of them (tests, shutdown).

    Each task first awaits `ready()` when given (the Slack adapter passes "no Slack request
    is waiting for its ack"), and at most `limit` run at once, so a burst of events is
    acknowledged before the follow-up work (posts, name lookups, storing messages) takes
    the CPU and database.
    """

    def __init__(
        self, *, ready: Callable[[], Awaitable[None]] | None = None, limit: int | None = 8
    ) -> None:
        self._ready = ready
        # None: no bound (and no semaphore, which binds to the first loop that waits on it:
        # a module-level Background outlives event loops).
        self._slots = asyncio.Semaphore(limit) if limit else None
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, what: str) -> None:
        task = asyncio.create_task(self._run(coroutine, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, coroutine: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            if self._ready is not None:
                await self._ready()
            if self._slots is None:
                await coroutine
            else:
                async with self._slots:
                    await coroutine
        except Exception:
            log.exception("background task failed: %s", what)
        finally:
            coroutine.close()  # never awaited when cancelled early: no warning

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until no task is left (tasks may start others)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - loop.time())

    def __len__(self) -> int:
        return len(self._tasks)
