"""Every command the bot suggests in the playground works as pasted in a channel, typed
as it is into the page's composer (its JSON API), and so do the page's Try buttons."""

from __future__ import annotations

import re

import pytest

import adapters.playground.adapter as playground
from tests.hints import ROOT, Recorder, check_all, core_hints, misunderstood, module_texts, spans
from tests.playground.conftest import WRITE, Stack, local_client

TEMPLATE = ROOT / "adapters" / "playground" / "templates" / "index.html"


def try_buttons() -> list[str]:
    return re.findall(r'data-insert="([^"]+)"', TEMPLATE.read_text())


@pytest.mark.anyio
async def test_every_hint_is_understood_as_pasted_in_a_channel(stack: Stack) -> None:
    hints = sorted(set(core_hints() + spans(module_texts(playground)) + try_buttons()))
    assert "/recap 7d" in hints and "@balafon digest off" in hints
    recorder = Recorder(stack.core)
    results: dict[str, str | None] = {}
    await stack.playground.startup()
    async with local_client(stack.app) as client:
        for hint in hints:
            answer = await client.post(
                "/playground/api/messages",
                json={"channel": "general", "user": "ann", "text": hint},
                headers=WRITE,
            )
            assert answer.status_code == 201, (hint, answer.text)
            results[hint] = misunderstood(hint, recorder.take())
    check_all(hints, results)
