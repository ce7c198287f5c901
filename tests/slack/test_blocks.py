"""Block Kit rendering and Slack markup: escaping, mentions, limits."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from adapters.slack.blocks import MAX_BLOCKS, MAX_SECTION, escape, render
from adapters.slack.text import command_text, to_plain
from bot.ports import ErrorReply, ProgressReply, RecapReply, TextReply
from summarizer.types import ActionItem, Decision, OpenQuestion, Recap

HOSTILE = "<!channel> <!here> <!everyone> <!subteam^S1|@ops> <@U0ANN> @here & <b> >"


def _strings(payload) -> list[str]:
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for v in payload.values() for s in _strings(v)]
    if isinstance(payload, list):
        return [s for v in payload for s in _strings(v)]
    return []


def test_user_text_is_inert() -> None:
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert escape("<!channel>") == "&lt;!channel&gt;"
    assert escape("ping @here and @Channel") == "ping @\u2060here and @\u2060Channel"


def test_recap_renders_owners_dues_links_and_nothing_else_that_pings() -> None:
    recap = Recap(
        summary=f"Summary with {HOSTILE}",
        key_points=[HOSTILE],
        decisions=[Decision(text="Ship it", ref="1.1")],
        action_items=[
            ActionItem(
                task="Roll back", owner="Bob", owner_id="U0BOB", due=date(2026, 11, 27), ref="1.2"
            ),
            ActionItem(
                task="Email <!everyone>", owner="<!here>", owner_id="<!channel>", ref="t=0:12"
            ),
            ActionItem(task="Unowned task"),
        ],
        open_questions=[OpenQuestion(text="Who pays?", asked_by="Cy", ref="1.3")],
        notes=["The language model timed out <!here>."],
    )
    links = {
        "1.1": "https://balafon-test.slack.com/archives/C1/p11",
        "1.2": "javascript:alert(1)",
        "1.3": "https://x.example/a|<!channel>",
    }
    [message] = render(RecapReply(recap=recap, title="Recap of <#C0GENERAL> (24h)", links=links))
    text = "\n".join(_strings(message))
    assert "<!" not in text
    assert "<@U0ANN>" not in text  # a mention in the source is not a reason to ping
    assert "Roll back — <@U0BOB> · due Fri 27 Nov 2026" in text
    assert "Email &lt;!everyone&gt; — &lt;!here&gt; · at 0:12" in text
    assert "Unowned task — _no owner_" in text
    assert "Ship it · <https://balafon-test.slack.com/archives/C1/p11|source>" in text
    assert "javascript" not in text and "x.example" not in text
    assert "(asked by Cy)" in text
    assert "*Recap of <#C0GENERAL> (24h)*" in text  # our own channel reference survives


def test_long_recaps_are_split_under_slack_limits() -> None:
    rng = random.Random(7)
    words = ["deploy", "<!channel>", "report", "&", "budget", "@here", "<@U1>", "x" * 40]
    recap = Recap(
        summary=" ".join(rng.choice(words) for _ in range(2500)),
        key_points=[" ".join(rng.choice(words) for _ in range(60)) for _ in range(150)],
        action_items=[
            ActionItem(task=f"Task {i} " + "y" * 200, owner_id="U0BOB", owner="Bob")
            for i in range(120)
        ],
    )
    messages = render(RecapReply(recap=recap, title="Big"))
    assert len(messages) > 1
    for message in messages:
        assert 1 <= len(message["blocks"]) <= MAX_BLOCKS
        for block in message["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION
        assert len(message["text"]) <= 500
        assert "<!" not in json.dumps(message)
    flat = json.dumps(messages)
    assert all(f"Task {i} " in flat for i in range(120))  # nothing lost in the split
    assert messages[1]["text"].endswith("(continued)")


@pytest.mark.parametrize(
    "reply",
    [
        TextReply(text=f"I didn't understand “{HOSTILE}”"),
        ErrorReply(text=f"You're not in <#C0SECRET>: {HOSTILE}"),
        ProgressReply(text=f"Transcribing {HOSTILE}", fraction=0.42),
    ],
)
def test_every_reply_kind_is_escaped(reply) -> None:
    [message] = render(reply)
    assert "<!" not in json.dumps(message) and "<@U0ANN>" not in json.dumps(message)


def test_progress_shows_a_bar() -> None:
    [message] = render(ProgressReply(text="Transcribing “a.m4a”…", fraction=0.42))
    assert "▰▰▰▰▱▱▱▱▱▱ 42%" in message["text"]
    assert "`▰▰▰▰▱▱▱▱▱▱` 42%" in message["blocks"][0]["text"]["text"]


def test_slack_markup_to_plain_text() -> None:
    names = {"U0BOB": "Bob"}
    raw = "<@U0BOB> see <#C0DEV|dev>, <https://x.io/a?b=1&amp;c=2|the doc> &amp; <!here> <@U0ZED>"
    assert to_plain(raw, names) == "@Bob see #dev, the doc & @here @U0ZED"
    assert (
        to_plain("<mailto:a@b.io|a@b.io> <!date^1392734382^{date}|Feb 18>", {}) == "a@b.io Feb 18"
    )


def test_command_text_strips_the_bot_and_keeps_channel_ids() -> None:
    text = "<@U0BALAFON> recap since Monday <#C0OTHER|other>"
    assert command_text(text, "U0BALAFON") == "recap since Monday #C0OTHER"
    assert command_text("<@U0BALAFON|balafon>   help", "U0BALAFON") == "help"
