"""The playground's HTML for messages and the core's replies: complete, and inert."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from adapters.playground import render, replies
from adapters.playground.store import ChatLine, StoredFile
from bot.ports import (
    ErrorReply,
    OpenItem,
    ProgressReply,
    RecapReply,
    TextReply,
    TranscriptReply,
)
from summarizer.types import ActionItem, Decision, OpenQuestion, Recap, Segment, Transcript

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
EVIL = '<img src=x onerror="alert(1)"> @channel'


def _message(**fields: object) -> ChatLine:
    values = {
        "id": 7,
        "channel_id": "general",
        "thread_id": None,
        "kind": "message",
        "author_id": "ann",
        "author_name": "Ann",
        "text": "",
        "reply": None,
        "visible_to": None,
        "created_at": NOW,
        "edited_at": None,
        "deleted_at": None,
        **fields,
    }
    return ChatLine(**values)


def test_what_people_type_is_escaped_with_mentions_and_channels_marked() -> None:
    html = render.message_html(_message(text=f"{EVIL} ask @balafon about #design's plan"))
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert '<span class="mention">@balafon</span>' in html
    assert 'data-channel="design">#design</a>' in html
    named = render.message_html(_message(author_name=EVIL, author_id=EVIL))
    assert "<img" not in named


def test_recap_card_lists_everything_with_safe_links_only() -> None:
    recap = Recap(
        summary=f"Release plan. {EVIL}",
        key_points=["The build is green"],
        decisions=[Decision(text="Ship on Friday", ref="3")],
        action_items=[
            ActionItem(task="Update the changelog", owner="Bob", due=date(2026, 11, 26), ref="2"),
            ActionItem(task="Tell support", ref="t=0:04"),
        ],
        open_questions=[OpenQuestion(text="Who writes the blog post?", asked_by="Ann", ref="9")],
    )
    links = {
        "2": "/playground/?channel=general&message=2",
        "3": "javascript:alert(1)",  # never becomes a link
        "9": "https://evil.example/",
    }
    old = OpenItem(item=ActionItem(task="Draft the budget", owner="Ann"), since=NOW)
    reply = RecapReply(
        recap=recap,
        title="Digest of <#general> since Mon",
        links=links,
        still_open=(old,),
        as_of=NOW + timedelta(days=2),
    )
    html = render.reply_html(reply, 1)
    assert '<h3>Digest of <a class="channel-ref"' in html
    assert "<img" not in html and "javascript:" not in html and "evil.example" not in html
    assert html.count('class="source" href=') == 1
    assert 'href="/playground/?channel=general&amp;message=2" data-goto' in html
    assert '<span class="owner mention">@Bob</span>' in html
    assert '<time datetime="2026-11-26">Thu 26 Nov</time>' in html
    assert '<span class="owner none">no owner</span>' in html and "at 0:04" in html
    assert "Still open from earlier digests" in html and "open 2 days" in html
    assert "asked by Ann" in html and "Made by the offline engine." in html


def test_progress_errors_transcripts_and_text() -> None:
    assert 'value="40"' in render.reply_html(ProgressReply(text="Working", fraction=0.4), 1)
    done = render.reply_html(ProgressReply(text="Done", fraction=1.0), 1)
    assert 'class="progress done"' in done
    assert "<progress></progress>" in render.reply_html(ProgressReply(text="…"), 1)
    error = render.reply_html(ErrorReply(text=f"No <#general> access {EVIL}"), 1)
    assert 'role="alert"' in error and "<img" not in error and "#general</a>" in error
    text = render.reply_html(TextReply(text="*Help* — use `recap 7d`\nline two"), 1)
    assert "<strong>Help</strong>" in text and "<code>recap 7d</code>" in text and "<br>" in text
    transcript = Transcript(
        segments=[
            Segment(start=0, end=2, text="Hello there."),
            Segment(start=65, end=70, text=EVIL),
        ],
        duration=70,
    )
    card = render.reply_html(TranscriptReply(transcript=transcript, filename="call.txt"), 12)
    assert "1:10 · 6 words" in card and "<time>1:05</time>" in card and "<img" not in card
    # One header, and it is the one that opens and closes the transcript.
    assert card.count("Transcript") == 1 and "<summary><h3>Transcript " in card
    assert 'href="/playground/api/messages/12/transcript.txt" download="call.txt"' in card


def test_files_play_in_the_page_and_deleted_messages_keep_nothing() -> None:
    audio = StoredFile(id="a1", message_id=7, channel_id="general", name="call.ogg",
                       mimetype="audio/ogg", size=2_500_000)  # fmt: skip
    other = StoredFile(id="b2", message_id=7, channel_id="general", name="notes.pdf",
                       mimetype="application/pdf", size=900)  # fmt: skip
    html = render.message_html(_message(files=(audio, other)))
    assert '<audio controls preload="metadata" src="/playground/api/files/a1">' in html
    assert "call.ogg · 2.4 MB" in html and 'href="/playground/api/files/b2" download' in html
    # An empty file has nothing to play (a player would ask for bytes that are not there).
    empty = StoredFile(id="c3", message_id=7, channel_id="general", name="silence.mp3",
                       mimetype="audio/mpeg", size=0)  # fmt: skip
    html = render.message_html(_message(files=(empty,)))
    assert "silence.mp3 · empty" in html and "<audio" not in html and "/files/c3" not in html
    gone = render.message_html(_message(text="secret", files=(audio,), deleted_at=NOW))
    assert "secret" not in gone and "call.ogg" not in gone and "This message was deleted" in gone


def test_replies_survive_the_database_round_trip() -> None:
    recap = Recap(summary="S", action_items=[ActionItem(task="T", owner="Bob", due=date.today())])
    originals = [
        RecapReply(
            recap=recap,
            title="t",
            links={"1": "/x"},
            still_open=(OpenItem(item=ActionItem(task="Old"), since=NOW),),
            as_of=NOW,
        ),
        TranscriptReply(
            transcript=Transcript(segments=[Segment(start=0, end=1, text="hi")]), filename="a.txt"
        ),
        ProgressReply(text="p", fraction=0.5),
        ErrorReply(text="e"),
        TextReply(text="x"),
    ]
    for reply in originals:
        assert replies.load(replies.dump(reply)) == reply
