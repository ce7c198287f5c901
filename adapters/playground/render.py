"""HTML for the playground: people's messages and the core's replies (recap cards, progress,
transcripts, errors), rendered on the server and inserted as they are by the page's script.

Everything that came from people or from the pipeline is escaped; the only markup is ours.
The page's Content-Security-Policy forbids inline scripts and styles, so no attribute here
carries either.
"""

from __future__ import annotations

import re
import zlib
from datetime import date, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from adapters.playground import item_html, replies
from adapters.playground.store import ChatLine, StoredFile
from bot.item_buttons import MAX_ITEMS_WITH_BUTTONS
from bot.outline import ItemKind, OutlineItem, build_outline
from bot.ports import (
    ErrorReply,
    ItemListReply,
    ItemView,
    ProgressReply,
    RecapReply,
    Reply,
    TextReply,
    TranscriptReply,
)
from bot.recordings import parse_recording_ref, source_label
from summarizer.pipeline import format_timestamp
from summarizer.types import ActionItem

API = "/playground/api"
_CHANNEL_MARK = re.compile(r"&lt;#([A-Za-z0-9_-]+)&gt;")  # the core's `<#id>`, escaped
_PERSON_MARK = re.compile(r"&lt;@([a-z0-9][a-z0-9_-]*)&gt;")  # the core's `<@id>`, escaped
_CHANNEL_WORD = re.compile(r"(?<![\w&/])#([a-z0-9][a-z0-9_-]*)")
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][\w.-]*)")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_PERMALINK = re.compile(r"/playground/\?channel=[a-z0-9_-]+&message=\d+")
_CHANNEL_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
COLORS = 10


def color(key: str) -> int:
    """A stable avatar colour index for a person."""
    return zlib.crc32(key.encode()) % COLORS


def _initials(name: str) -> str:
    parts = name.split()
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def _channel_link(channel: str) -> str:
    return (
        f'<a class="channel-ref" href="/playground/?channel={channel}" '
        f'data-channel="{channel}">#{channel}</a>'
    )


def people_text(text: str) -> str:
    """What a person typed: escaped, with @mentions and #channels highlighted."""
    html = escape(text)
    html = _MENTION.sub(lambda m: f'<span class="mention">@{m.group(1)}</span>', html)
    html = _CHANNEL_WORD.sub(lambda m: _channel_link(m.group(1)), html)
    return html.replace("\n", "<br>")


def bot_text(text: str) -> str:
    """The core's sentences: its small Markdown (`*bold*`, `code`) and `<#channel>` marks."""
    html = escape(text)
    html = _CHANNEL_MARK.sub(lambda m: _channel_link(m.group(1)), html)
    html = _PERSON_MARK.sub(r'<span class="mention">@\1</span>', html)
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return html.replace("\n", "<br>")


def _time(at: datetime) -> str:
    return f'<time datetime="{at.isoformat()}">{at:%H:%M}</time>'


def _size(size: int) -> str:
    if size <= 0:
        return "empty"
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


# --- replies -----------------------------------------------------------------------------


def _source(ref: str | None, links: dict[str, str]) -> str:
    if not ref:
        return ""
    url = links.get(ref)
    label = escape(source_label(ref))
    if url and _PERMALINK.fullmatch(url):
        return f' <a class="source" href="{escape(url)}" data-goto>{label}</a>'
    if ref.startswith("t="):
        return f' <span class="source">at {escape(ref[2:])}</span>'
    if parse_recording_ref(ref):  # a moment of a recording with no permalink
        return f' <span class="source">{label}</span>'
    return ""


def _section(title: str, items: list[str], css: str = "") -> str:
    if not items:
        return ""
    rows = "".join(f"<li>{item}</li>" for item in items)
    css_class = f' class="{css}"' if css else ""
    return f"<h4>{title}</h4><ul{css_class}>{rows}</ul>"


def _due(day: date | None) -> str:
    if day is None:
        return ""
    return f' <span class="due">due <time datetime="{day.isoformat()}">{day:%a %d %b}</time></span>'


def _action(item: OutlineItem, links: dict[str, str]) -> str:
    owner = (
        f'<span class="owner mention">@{escape(item.owner)}</span>'
        if item.owner
        else '<span class="owner none">no owner</span>'
    )
    task = f'<span class="task">{escape(item.text)}</span>'
    extra = "" if item.open_days is None else _age(item.open_days)
    return f"{task} {owner}{_due(item.due)}{extra}{_source(item.ref, links)}"


def _age(days: int) -> str:
    return f' <span class="age">open {days} day{"s" * (days != 1)}</span>'


def _item(kind: ItemKind, item: OutlineItem, links: dict[str, str]) -> str:
    if kind is ItemKind.TASK:
        return _action(item, links)
    asked = ""
    if kind is ItemKind.QUESTION and item.asked_by:
        asked = f' <span class="asked">asked by {escape(item.asked_by)}</span>'
    return escape(item.text) + asked + _source(item.ref, links)


# Styling hooks of the lists that are tasks (the page's stylesheet lays them out).
_SECTION_CLASSES = {"action_items": "actions", "still_open": "actions still-open"}


def _item_line(item: ActionItem, view: ItemView | None, links: dict[str, str]) -> str:
    shown = item_html.owner_of(item, view)
    outline = OutlineItem(
        text=shown.task, ref=shown.ref, owner=shown.owner, owner_id=shown.owner_id, due=shown.due
    )
    line = _action(outline, links)
    if view is not None and view.channel and _CHANNEL_ID.fullmatch(view.channel):
        line += f" {_channel_link(view.channel)}"
    return line


def _stored_items(reply: RecapReply, heading: str) -> str:
    """The recap's action items with their checkboxes and tools (item_html.py)."""
    views = [reply.item_at(n) for n in range(len(reply.recap.action_items))]
    entries = [
        (item, view, _item_line(item, view, reply.links))
        for item, view in zip(reply.recap.action_items, views, strict=True)
    ]
    rows = "".join(item_html.item_rows(entries))
    hint = item_html.hint(entries, MAX_ITEMS_WITH_BUTTONS)
    return f'<h4>{heading}</h4><ul class="actions items">{rows}</ul>{hint}'


def recap_card(reply: RecapReply) -> str:
    outline, links = build_outline(reply), reply.links
    stored = any(view is not None for view in reply.items)
    sections = "".join(
        _stored_items(reply, part.heading)
        if part.key == "action_items" and stored
        else _section(
            part.heading,
            [_item(part.kind, item, links) for item in part.items],
            _SECTION_CLASSES.get(part.key, ""),
        )
        for part in outline.sections
    )
    made_by = "the offline engine" if outline.engine == "offline" else escape(outline.engine)
    notes = "".join(f"<p>{escape(note)}</p>" for note in outline.notes)
    return (
        '<section class="card recap">'
        f"<h3>{bot_text(outline.title)}</h3>"
        f'<p class="summary">{escape(outline.summary)}</p>'
        + sections
        + f"<footer>{notes}<p>Made by {made_by}.</p></footer></section>"
    )


def speaker_menus(reply: TranscriptReply) -> str:
    """A picker per speaker label; app.js fills in the people and, on a choice, says
    `@balafon speaker N is @them` in the transcript's thread."""
    if not reply.speakers:
        return ""
    pickers = "".join(
        f'<label>{escape(choice.label)} <select data-speaker="{escape(choice.label.split()[-1])}"'
        f' data-current="{escape(choice.user_id or "")}">'
        f'<option value="">{escape(choice.name or "Who is this?")}</option></select></label>'
        for choice in reply.speakers
    )
    return f'<div class="speakers"><span>Who spoke?</span> {pickers}</div>'


def _who(speaker: str | None) -> str:
    """Who said a line ("Speaker 1", or the name given to it), as the .txt download has it."""
    return f'<b class="speaker">{escape(speaker)}:</b> ' if speaker else ""


def transcript_card(reply: TranscriptReply, message_id: int) -> str:
    transcript = reply.transcript
    words = len(transcript.text.split())
    lines = "".join(
        f"<li><time>{format_timestamp(s.start)}</time> "
        f"{_who(s.speaker)}{escape(s.text.strip())}</li>"
        for s in transcript.segments
        if s.text.strip()
    )
    body = f'<ol class="segments">{lines}</ol>' if lines else "<p><em>No speech.</em></p>"
    is_open = " open" if len(transcript.segments) <= 12 else ""
    url = f"{API}/messages/{message_id}/transcript.txt"
    return (
        '<section class="card transcript">'
        f'<details{is_open}><summary><h3>Transcript <span class="meta">'
        f"{format_timestamp(transcript.duration)} · {words} words</span></h3></summary>"
        f"{body}</details>{speaker_menus(reply)}"
        f'<a class="download" href="{url}" download="{escape(reply.filename)}">'
        f"Download {escape(reply.filename)}</a></section>"
    )


def progress(reply: ProgressReply) -> str:
    if reply.fraction is None:
        bar = "<progress></progress>"
        percent = ""
    else:
        fraction = min(1.0, max(0.0, reply.fraction))
        bar = f'<progress max="100" value="{round(fraction * 100)}"></progress>'
        percent = f' <span class="percent">{round(fraction * 100)}%</span>'
    done = " done" if reply.fraction is not None and reply.fraction >= 1 else ""
    return (
        f'<div class="progress{done}" role="status"><p>{bot_text(reply.text)}{percent}</p>'
        f"{bar}</div>"
    )


def reply_html(reply: Reply, message_id: int) -> str:
    if isinstance(reply, RecapReply):
        return recap_card(reply)
    if isinstance(reply, TranscriptReply):
        return transcript_card(reply, message_id)
    if isinstance(reply, ProgressReply):
        return progress(reply)
    if isinstance(reply, ErrorReply):
        return f'<div class="notice error" role="alert">{bot_text(reply.text)}</div>'
    if isinstance(reply, TextReply):
        return f'<div class="text">{bot_text(reply.text)}</div>'
    if isinstance(reply, ItemListReply):
        lines = {
            view.id: _item_line(item, view, reply.links)
            for _, entries in reply.groups
            for item, view in entries
        }
        return item_html.list_card(reply, lines, bot_text(reply.title))
    return f'<div class="text">{escape(str(reply))}</div>'  # pragma: no cover


# --- messages ----------------------------------------------------------------------------


def _file(file: StoredFile) -> str:
    url = f"{API}/files/{quote(file.id)}"
    caption = f"{escape(file.name)} · {_size(file.size)}"
    kind = (file.mimetype or "").split("/")[0]
    if file.size <= 0:  # nothing to play or download: the bot's answer says so
        return f'<figure class="file empty"><figcaption>{caption}</figcaption></figure>'
    if kind in {"audio", "video"}:
        player = f'<{kind} controls preload="metadata" src="{url}"></{kind}>'
        return f'<figure class="file {kind}">{player}<figcaption>{caption}</figcaption></figure>'
    return f'<figure class="file"><a href="{url}" download>{caption}</a></figure>'


def message_html(message: ChatLine) -> str:
    author_key = message.author_id or message.author_name
    classes = ["msg", message.kind]
    if message.visible_to:
        classes.append("ephemeral")
    if message.deleted_at:
        classes.append("deleted")
    if message.from_bot:
        avatar = '<div class="avatar bot" aria-hidden="true">b</div>'
    else:
        avatar = (
            f'<div class="avatar c{color(author_key)}" aria-hidden="true">'
            f"{escape(_initials(message.author_name))}</div>"
        )
    badges = ""
    if message.from_bot:
        badges += ' <span class="badge">app</span>'
    if message.visible_to:
        badges += ' <span class="only-you">only visible to you</span>'
    if message.edited_at and not message.from_bot and not message.deleted_at:
        badges += ' <span class="edited">(edited)</span>'
    if message.deleted_at:
        content = '<p class="gone">This message was deleted.</p>'
    elif message.reply is not None:
        content = reply_html(replies.load(message.reply), message.id)
    else:
        content = f'<div class="text">{people_text(message.text)}</div>' if message.text else ""
    attached = "".join(_file(f) for f in message.files) if not message.deleted_at else ""
    files_html = f'<div class="files">{attached}</div>' if attached else ""
    thread = f' data-thread="{message.thread_id}"' if message.thread_id else ""
    return (
        f'<article class="{" ".join(classes)}" id="m{message.id}" data-id="{message.id}"'
        f'{thread} data-author="{escape(author_key)}">{avatar}<div class="body">'
        f'<header><span class="author">{escape(message.author_name)}</span>{badges} '
        f"{_time(message.created_at)}</header>{content}{files_html}</div></article>"
    )


def message_json(message: ChatLine) -> dict[str, Any]:
    """What the page needs to place a message: ids, thread, author, and its HTML."""
    return {
        "id": message.id,
        "channel": message.channel_id,
        "thread": message.thread_id,
        "author": message.author_id,
        "kind": message.kind,
        "deleted": message.deleted_at is not None,
        "ephemeral": message.visible_to is not None,
        "html": message_html(message),
    }
