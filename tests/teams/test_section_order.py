"""Every platform lays a recap out in the same sections, in the same order (Teams used to
put "Still open from earlier digests" after the open questions)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from adapters.playground import render as playground
from adapters.slack import blocks as slack
from adapters.teams import cards as teams
from bot.outline import build_outline
from bot.ports import OpenItem, RecapReply
from bot.rendering import outline_markdown
from summarizer.recap_formats import recap_to_markdown
from summarizer.types import ActionItem, Decision, OpenQuestion, Recap

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HEADINGS = [
    "Key points",
    "Decisions",
    "Action items",
    "Still open from earlier digests",
    "Open questions",
]
RECAP = Recap(
    summary="The team planned the launch.",
    key_points=["Launch is on Thursday"],
    decisions=[Decision(text="Ship the beta", ref="m1")],
    action_items=[ActionItem(task="Write the notes", owner="Bob", due=date(2026, 11, 26))],
    open_questions=[OpenQuestion(text="Who tells sales?", asked_by="Ann")],
)
REPLY = RecapReply(
    recap=RECAP,
    title="Digest of #general",
    links={"m1": "https://example.slack.com/archives/C1/p1"},
    still_open=(OpenItem(item=ActionItem(task="Draft the budget", owner="Ann"), since=NOW),),
    as_of=NOW + timedelta(days=2),
)


def _order(text: str) -> list[str]:
    found = [(text.find(heading), heading) for heading in HEADINGS if heading in text]
    return [heading for _, heading in sorted(found)]


def test_all_renderers_show_the_same_sections_in_the_same_order() -> None:
    expected = [s.heading for s in build_outline(REPLY).sections]
    assert expected == HEADINGS
    slack_text = "\n".join(
        str(block.get("text", {}).get("text", ""))
        for message in slack.render(REPLY)
        for block in message["blocks"]
    )
    teams_text = "\n".join(
        element.get("text", "")
        for activity in teams.render(REPLY)
        for element in teams.card_of(activity)["body"]
    )
    html = playground.reply_html(REPLY, 1)
    markdown = slack.overflow_file(REPLY)[1]
    for rendered in (slack_text, teams_text, html, markdown):
        assert _order(rendered) == HEADINGS
    assert re.search(r"Still open from earlier digests.*Draft the budget", teams_text, re.S)


def test_markdown_of_a_plain_recap_is_the_summarizers() -> None:
    reply = RecapReply(recap=RECAP, title="Recap of #general")
    assert outline_markdown(build_outline(reply)) == recap_to_markdown(RECAP, title=reply.title)
