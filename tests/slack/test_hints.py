"""Every command the bot suggests on Slack works as pasted in a channel: `@balafon …` as
the mention Slack makes of it, `/recap …` as the slash command (tests/hints.py)."""

from __future__ import annotations

import pytest

from tests.hints import (
    MENTION,
    SLASH,
    Recorder,
    check_all,
    core_hints,
    misunderstood,
    slack_texts,
    spans,
)
from tests.slack.conftest import ANN, GENERAL, Harness

pytestmark = pytest.mark.anyio

SLACKS_OWN = {"/invite @balafon"}  # Slack's own command, in NOT_IN_CHANNEL


async def test_every_hint_is_understood_as_pasted_in_a_channel(slack: Harness) -> None:
    hints = core_hints() + [h for h in spans(slack_texts()) if h not in SLACKS_OWN]
    assert set(spans(slack_texts())) - set(hints) == SLACKS_OWN
    assert "@balafon digest off" in hints and "@balafon recap 7d" in hints
    recorder = Recorder(slack.core)
    results: dict[str, str | None] = {}
    for hint in hints:
        if hint.startswith(SLASH):
            response = await slack.slash(hint.removeprefix(SLASH).strip(), user=ANN)
            assert response.status_code == 200, hint
        elif hint.startswith(MENTION):  # Slack turns the pasted @balafon into its mention
            _, response = await slack.mention(GENERAL, ANN, hint.removeprefix(MENTION))
            assert response.status_code == 200, hint
        else:  # a plain message in a channel: not addressed to the bot
            await slack.say(GENERAL, ANN, hint)
        results[hint] = misunderstood(hint, recorder.take())
    await slack.adapter.settle()
    check_all(hints, results)
