"""The core's replies as JSON, so the bot's posts are stored and re-rendered after a restart."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from typing import Any

from bot.item_buttons import list_text
from bot.ports import (
    ErrorReply,
    ItemListReply,
    ItemView,
    OpenItem,
    ProgressReply,
    RecapReply,
    Reply,
    SpeakerChoice,
    TextReply,
    TranscriptReply,
)
from summarizer.transcript_formats import render_transcript
from summarizer.types import ActionItem, Recap, Transcript


def dump(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, RecapReply):
        return {
            "type": "recap",
            "title": reply.title,
            "recap": reply.recap.model_dump(mode="json"),
            "links": dict(reply.links),
            "still_open": [
                {"item": o.item.model_dump(mode="json"), "since": o.since.isoformat()}
                for o in reply.still_open
            ],
            "as_of": reply.as_of.isoformat() if reply.as_of else None,
            "items": [asdict(view) if view is not None else None for view in reply.items],
        }
    if isinstance(reply, ItemListReply):
        return {
            "type": "items",
            "title": reply.title,
            "groups": [
                [heading, [[item.model_dump(mode="json"), asdict(view)] for item, view in entries]]
                for heading, entries in reply.groups
            ],
            "links": dict(reply.links),
            "empty_text": reply.empty_text,
        }
    if isinstance(reply, TranscriptReply):
        return {
            "type": "transcript",
            "filename": reply.filename,
            "transcript": reply.transcript.model_dump(mode="json"),
            "speakers": [asdict(choice) for choice in reply.speakers],
        }
    if isinstance(reply, ProgressReply):
        return {"type": "progress", "text": reply.text, "fraction": reply.fraction}
    if isinstance(reply, ErrorReply):
        return {"type": "error", "text": reply.text}
    if isinstance(reply, TextReply):
        return {"type": "text", "text": reply.text}
    # A reply kind this adapter does not know yet: keep its words.
    data = asdict(reply) if is_dataclass(reply) and not isinstance(reply, type) else {}
    return {"type": "text", "text": str(data.get("text") or reply)}


def _view(data: dict[str, Any]) -> ItemView:
    """An ItemView as stored; fields this version does not know are left out."""
    known = {f.name for f in fields(ItemView)}
    return ItemView(**{key: value for key, value in data.items() if key in known})


def load(data: dict[str, Any]) -> Reply:
    kind = data.get("type")
    if kind == "recap":
        return RecapReply(
            title=data["title"],
            recap=Recap.model_validate(data["recap"]),
            links=data.get("links") or {},
            still_open=tuple(
                OpenItem(
                    item=ActionItem.model_validate(o["item"]),
                    since=datetime.fromisoformat(o["since"]),
                )
                for o in data.get("still_open") or ()
            ),
            as_of=datetime.fromisoformat(data["as_of"]) if data.get("as_of") else None,
            items=tuple(_view(v) if v else None for v in data.get("items") or ()),
        )
    if kind == "items":
        return ItemListReply(
            title=data["title"],
            groups=tuple(
                (
                    heading,
                    tuple((ActionItem.model_validate(item), _view(view)) for item, view in entries),
                )
                for heading, entries in data.get("groups") or ()
            ),
            links=data.get("links") or {},
            **({"empty_text": data["empty_text"]} if data.get("empty_text") else {}),
        )
    if kind == "transcript":
        return TranscriptReply(
            filename=data["filename"],
            transcript=Transcript.model_validate(data["transcript"]),
            speakers=tuple(SpeakerChoice(**choice) for choice in data.get("speakers") or ()),
        )
    if kind == "progress":
        return ProgressReply(text=data["text"], fraction=data.get("fraction"))
    if kind == "error":
        return ErrorReply(text=data["text"])
    return TextReply(text=str(data.get("text", "")))


def plain_text(reply: Reply) -> str:
    """A one-line description of a reply (the message's `text` column, for searching)."""
    if isinstance(reply, RecapReply):
        return f"{reply.title}: {reply.recap.summary}"
    if isinstance(reply, TranscriptReply):
        return render_transcript(reply.transcript, "txt", timestamps=True)
    if isinstance(reply, ItemListReply):
        return list_text(reply)
    names = {f.name for f in fields(reply)} if is_dataclass(reply) else set()
    return str(getattr(reply, "text", "")) if "text" in names else ""
