"""Work that runs after Slack has its acknowledgement: tracked, logged, awaited at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """Fire-and-forget tasks that are never lost silently: errors are logged, and
    `settle()` waits for all of them (tests, shutdown).

    Each task first awaits `ready()` (the adapter passes "no Slack request is waiting for
    its ack"), and at most `limit` run at once, so a burst of events is acknowledged before
    the follow-up work (posts, name lookups, storing messages) takes the CPU and database.
    """

    def __init__(
        self, *, ready: Callable[[], Awaitable[None]] | None = None, limit: int = 8
    ) -> None:
        self._ready = ready
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, what: str) -> None:
        task = asyncio.create_task(self._run(coroutine, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, coroutine: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            if self._ready is not None:
                await self._ready()
            async with self._slots:
                await coroutine
        except Exception:
            log.exception("Slack background task failed: %s", what)
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
