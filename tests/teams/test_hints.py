"""Every command the bot suggests on Teams works as pasted: in a channel `@balafon …` is
the mention Teams makes of it; in the 1:1 chat the name may stay as text (tests/hints.py)."""

from __future__ import annotations

import pytest

import adapters.teams.sentences as teams_messages
from tests.hints import MENTION, Recorder, check_all, core_hints, misunderstood, module_texts, spans
from tests.teams.conftest import Harness

pytestmark = pytest.mark.anyio


async def test_every_hint_is_understood_as_pasted(teams: Harness) -> None:
    hints = sorted(set(core_hints() + spans(module_texts(teams_messages))))
    hints = [h for h in hints if "#other-channel" not in h]  # not in Teams' help
    assert "@balafon help" in hints and "@balafon digest off" in hints
    recorder = Recorder(teams.core)
    for where in ("channel", "personal"):
        results: dict[str, str | None] = {}
        for hint in hints:
            if where == "personal":  # pasted as it is, the name as text
                activity = teams.personal_message(hint)
            elif hint.startswith(MENTION):  # Teams turns the pasted @balafon into its mention
                activity = teams.channel_message(hint.removeprefix(MENTION), mention_bot=True)
            else:  # a channel message that mentions nobody: not for the bot
                activity = teams.channel_message(hint)
            await teams.say(activity)
            results[hint] = misunderstood(f"{hint} ({where})", recorder.take())
        check_all(hints, results)
