"""Every tracker client a test opened is closed after it (their connection pools)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.features.items import service
from tests.trackers.support import OPENED


@pytest.fixture(autouse=True)
async def _close_trackers(anyio_backend: str) -> AsyncIterator[None]:
    yield
    await service.drain()  # re-renders started in the background
    while OPENED:
        await OPENED.pop().aclose()
