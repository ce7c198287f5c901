"""Block Kit rendering of the core's replies.

Everything that came from people (summaries, tasks, names, file names) is escaped, so no
`<!channel>`, `<!here>`, `<!everyone>`, user-group or user mention can come out of it; the
only mentions emitted are action-item owners whose Slack id the source gave us. Output is
split under Slack's limits: 3000 characters per section, 50 blocks per message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from bot.item_buttons import list_text
from bot.outline import ItemKind, OutlineItem, RecapOutline, build_outline
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
from bot.rendering import outline_markdown, split_text
from summarizer.pipeline import format_timestamp
from summarizer.types import ActionItem

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_CONTEXT = 2000
MAX_FALLBACK = 500
# A transcript longer than this goes up as a file rather than into the thread.
INLINE_TRANSCRIPT_CHARS = 2500
# A reply is at most this many messages; beyond that, the last one is the whole reply as a
# file (recaps are capped before rendering, so this is for digests and long texts).
MAX_MESSAGES = 3

Message = dict[str, Any]  # {"text": fallback, "blocks": [...]}: chat.postMessage arguments

_MASS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_CHANNEL_REF = re.compile(r"&lt;#([CGD][A-Z0-9]+)&gt;")
_SAFE_URL = re.compile(r"https?://[^\s|<>]+")
OWNER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
# The menu that names a transcript's speaker: its block says which label it is for.
SPEAKER_ACTION = "speaker_name"
SPEAKER_BLOCK = "speaker:"


def escape(text: str) -> str:
    """User text as inert mrkdwn: no markup, and `@here`-style words broken with a joiner."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MASS.sub(lambda m: "@\u2060" + m.group(1), text)


def escape_keeping_channels(text: str) -> str:
    """Our own sentences may name channels (`<#C123>`); any other markup is escaped."""
    return _CHANNEL_REF.sub(r"<#\1>", escape(text))


def safe_link(url: str | None, label: str) -> str:
    if url and _SAFE_URL.fullmatch(url):
        return f"<{url}|{label}>"
    return ""


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _chunks(text: str, limit: int = MAX_SECTION) -> Iterator[str]:
    return split_text(text, limit)


def sections(text: str) -> list[dict[str, Any]]:
    return [section(chunk) for chunk in _chunks(text) if chunk.strip()]


def _owner(item: OutlineItem) -> str:
    if item.owner_id and OWNER_ID.fullmatch(item.owner_id):
        return f"<@{item.owner_id}>"
    return escape(item.owner) if item.owner else "_no owner_"


def source_text(ref: str | None, links: dict[str, str]) -> str:
    if not ref:
        return ""
    if link := safe_link(links.get(ref), source_label(ref)):
        return f" · {link}"
    if ref.startswith("t="):
        return f" · at {escape(ref[2:])}"
    if parse_recording_ref(ref):  # a moment of a recording with no permalink
        return f" · {escape(source_label(ref))}"
    return ""


def _listing(heading: str, lines: Iterable[str]) -> list[dict[str, Any]]:
    lines = list(lines)
    if not lines:
        return []
    return sections(f"*{heading}*\n" + "\n".join(f"• {line}" for line in lines))


def _item(kind: ItemKind, item: OutlineItem, links: dict[str, str]) -> str:
    text = escape(item.text)
    if kind is ItemKind.TASK:
        due = f" · due {item.due:%a %d %b %Y}" if item.due else ""
        text += f" — {_owner(item)}{due}"
        if item.open_days is not None:
            text += f" · open {item.open_days} day{'s' * (item.open_days != 1)}"
    elif kind is ItemKind.QUESTION and item.asked_by:
        text += f" (asked by {escape(item.asked_by)})"
    return text + source_text(item.ref, links)


def recap_blocks(
    outline: RecapOutline,
    links: dict[str, str],
    items: Sequence[tuple[ActionItem, ItemView | None]] = (),
) -> list[dict[str, Any]]:
    """A recap's blocks; with stored `items` (the recap's action items and their views),
    the action items get their buttons in the room the other blocks leave."""
    from adapters.slack import item_blocks

    blocks: list[dict[str, Any]] = sections(f"*{escape_keeping_channels(outline.title)}*")
    blocks += sections(escape(outline.summary))
    buttons_at = None
    with_buttons = any(view is not None for _, view in items)
    for part in outline.sections:
        if part.key == "action_items" and with_buttons:
            buttons_at = len(blocks)
            continue
        lines = (_item(part.kind, item, links) for item in part.items)
        blocks += _listing(part.heading, lines)
    notes = [escape(note) for note in outline.notes]
    notes.append(f"Made by the {escape(outline.made_by)}.")
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": chunk}
                for chunk in list(_chunks("\n".join(notes), MAX_CONTEXT))[:10]
            ],
        }
    )
    if buttons_at is not None:
        heading = sections("*Action items*")
        room = MAX_BLOCKS - len(blocks) - len(heading)
        listed = item_blocks.item_blocks(items, links, room=room)
        blocks[buttons_at:buttons_at] = heading + listed
    return blocks


def progress_text(reply: ProgressReply) -> str:
    if reply.fraction is None:
        return escape_keeping_channels(reply.text)
    fraction = min(1.0, max(0.0, reply.fraction))
    filled = round(fraction * 10)
    bar = "▰" * filled + "▱" * (10 - filled)
    return f"{escape_keeping_channels(reply.text)}\n`{bar}` {round(fraction * 100)}%"


def transcript_text(reply: TranscriptReply) -> str:
    """The transcript as plain text, one `[m:ss] text` line per segment."""
    from summarizer.transcript_formats import render_transcript

    return render_transcript(reply.transcript, "txt", timestamps=True)


def speaker_menus(reply: TranscriptReply) -> list[dict[str, Any]]:
    """A people picker per speaker label (the `speaker_name` action names it)."""
    menus = []
    for choice in reply.speakers:
        picker: dict[str, Any] = {
            "type": "users_select",
            "action_id": SPEAKER_ACTION,
            "placeholder": {"type": "plain_text", "text": "Who is this?"},
        }
        if choice.user_id and OWNER_ID.fullmatch(choice.user_id):
            picker["initial_user"] = choice.user_id
        named = f" — {escape(choice.name)}" if choice.name else ""
        menus.append(
            {
                "type": "section",
                "block_id": f"{SPEAKER_BLOCK}{choice.label}",
                "text": {"type": "mrkdwn", "text": f"*{escape(choice.label)}*{named}"},
                "accessory": picker,
            }
        )
    return menus


def _notes(reply: TranscriptReply) -> list[dict[str, Any]]:
    """What the transcript leaves out ("Skipped 0:22 of silence."), under its text."""
    notes = "\n".join(escape(note) for note in reply.transcript.notes)
    if not notes:
        return []
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": notes[:MAX_CONTEXT]}]}]


def transcript_summary(reply: TranscriptReply) -> str:
    words = len(reply.transcript.text.split())
    duration = format_timestamp(reply.transcript.duration)
    return f"*Transcript* ({duration}, {words} words)"


def overflow_file(reply: Reply) -> tuple[str, str]:
    """(file name, plain text) of a whole reply, for one too long for a few messages."""
    if isinstance(reply, TranscriptReply):
        return reply.filename, transcript_text(reply)
    if isinstance(reply, RecapReply):
        text = outline_markdown(build_outline(reply))
        return "recap.md", text
    if isinstance(reply, ItemListReply):
        return "items.txt", list_text(reply)
    return "reply.txt", getattr(reply, "text", "")


def _fallback(text: str, suffix: str = "") -> str:
    """The notification text: short, without mrkdwn marks."""
    plain = text.replace("*", "").replace("`", "")
    room = MAX_FALLBACK - len(suffix)
    return (plain if len(plain) <= room else plain[: room - 1] + "…") + suffix


def render(reply: Reply) -> list[Message]:
    """One or more chat.postMessage payloads (`text` fallback + `blocks`), in order."""
    if isinstance(reply, RecapReply):
        items = [(item, reply.item_at(n)) for n, item in enumerate(reply.recap.action_items)]
        blocks = recap_blocks(build_outline(reply), reply.links, items)
        fallback = f"{escape_keeping_channels(reply.title)}: {escape(reply.recap.summary)}"
    elif isinstance(reply, ErrorReply):
        fallback = f":warning: {escape_keeping_channels(reply.text)}"
        blocks = sections(fallback)
    elif isinstance(reply, ProgressReply):
        fallback = progress_text(reply)
        blocks = sections(fallback)
    elif isinstance(reply, TranscriptReply):
        fallback = transcript_summary(reply)
        body = escape(transcript_text(reply)).strip() or "_(no speech)_"
        blocks = sections(fallback) + sections(body) + _notes(reply) + speaker_menus(reply)
    elif isinstance(reply, TextReply):
        fallback = escape_keeping_channels(reply.text)
        blocks = sections(fallback)
    elif isinstance(reply, ItemListReply):
        from adapters.slack import item_blocks

        fallback = escape_keeping_channels(reply.title)
        blocks = item_blocks.list_blocks(reply)
    else:  # pragma: no cover - the Reply union is closed
        raise TypeError(f"cannot render {type(reply).__name__}")
    from adapters.slack.item_blocks import parts

    messages = []
    for number, part in enumerate(parts(blocks) or [[]]):
        text = _fallback(fallback, "" if number == 0 else " (continued)")
        messages.append(guard({"text": text, "blocks": part}))
    return messages


def part_with_item(messages: list[Message], item_id: int) -> Message:
    """The message (of a reply's several) that carries the item's buttons; the first
    when none does."""
    prefix = f"item:{item_id}:"
    for message in messages:
        if any(str(b.get("block_id", "")).startswith(prefix) for b in message["blocks"]):
            return message
    return messages[0]


def guard(payload: Any) -> Any:
    """Last line of defence: no `<!…>` special mention survives in any string we send."""
    if isinstance(payload, str):
        return payload.replace("<!", "&lt;!")
    if isinstance(payload, list):
        return [guard(item) for item in payload]
    if isinstance(payload, dict):
        return {key: guard(value) for key, value in payload.items()}
    return payload
