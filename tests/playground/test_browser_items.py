"""In Chromium: an action item's reassign menu hands it on, its checkbox marks it done and
unticking reopens it; each change comes back as the message re-rendered."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.playground.conftest import Stack
from tests.playground.test_item_clicks import _posted


def test_the_menu_and_the_checkbox_change_the_item(page: Any, stack: Stack, tmp_path: Path) -> None:
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        item, message, _ = pool.submit(asyncio.run, _posted(stack)).result()
    row = page.locator(f'#m{message} li[data-item="{item}"]')
    row.wait_for()
    assert "@Bob" in row.inner_text()

    row.locator("select[data-reassign]").select_option("cy")
    page.locator(f'#m{message} li[data-item="{item}"]', has_text="@Cy").wait_for()
    assert stack.core.services.repo.items.get(item).owner_id == "cy"

    page.locator(f'#m{message} li[data-item="{item}"] input[data-item-toggle]').check()
    page.locator(f'#m{message} li.item.done[data-item="{item}"]').wait_for()
    assert stack.core.services.repo.items.get(item).status == "done"
    page.screenshot(path=str(tmp_path / "done.png"))

    page.locator(f'#m{message} li[data-item="{item}"] input[data-item-toggle]').uncheck()
    page.locator(f'#m{message} li.item.open[data-item="{item}"]').wait_for()
    assert stack.core.services.repo.items.get(item).status == "open"
