"""Helpers every adapter needs to render the core's replies within a platform's limits,
and the Markdown layout of a recap outline."""

from __future__ import annotations

from collections.abc import Iterator

from bot.outline import ItemKind, OutlineItem, RecapOutline
from bot.ports import ItemListReply, ItemView
from bot.recordings import parse_recording_ref, source_label
from summarizer.types import ActionItem


def split_text(text: str, limit: int) -> Iterator[str]:
    """Pieces of at most `limit` characters, cut at line ends; an overlong line is cut
    with an ellipsis at each end of the cut."""
    piece = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if piece:
                yield piece
                piece = ""
            yield line[: limit - 1] + "…"
            line = "…" + line[limit - 1 :]
        candidate = f"{piece}\n{line}" if piece else line
        if len(candidate) > limit:
            yield piece
            piece = line
        else:
            piece = candidate
    if piece.strip():
        yield piece


def _cite(ref: str | None) -> str:
    if parse_recording_ref(ref):
        return f" _({source_label(ref)})_"
    return f" _({ref})_" if ref else ""


def _markdown_item(kind: ItemKind, section: str, item: OutlineItem) -> str:
    if section == "still_open":
        return f"- {item.text}" + (f" ({item.owner})" if item.owner else "")
    if kind is ItemKind.TASK:
        owner = f"**{item.owner}**: " if item.owner else ""
        due = f" (due {item.due.isoformat()})" if item.due else ""
        return f"- [ ] {owner}{item.text}{due}{_cite(item.ref)}"
    if kind is ItemKind.QUESTION:
        asker = f" — {item.asked_by}" if item.asked_by else ""
        return f"- {item.text}{asker}{_cite(item.ref)}"
    return f"- {item.text}{_cite(item.ref)}"


def outline_markdown(outline: RecapOutline) -> str:
    """A recap outline as Markdown (a file attached to a reply too long for messages);
    without extra sections it is `summarizer.recap_formats.recap_to_markdown`'s text."""
    lines = [f"# {outline.title}" if outline.title else "# Recap", "", outline.summary, ""]
    for section in outline.sections:
        lines.append(f"## {section.heading}")
        lines += [_markdown_item(section.kind, section.key, item) for item in section.items]
        lines.append("")
    footer = f"_Made by the {outline.engine} engine"
    if outline.participants:
        footer += f" from a conversation between {', '.join(outline.participants)}"
    lines.append(footer + "._")
    lines += [f"> {note}" for note in outline.notes]
    return "\n".join(lines).rstrip() + "\n"


# --- action item lists (`my items`, `items`) ------------------------------------------------

STATUS_MARK = {"open": "[ ]", "done": "[x]", "dismissed": "[-]"}


def item_line(item: ActionItem, owner: str | None, view: ItemView) -> str:
    """One stored item as a Markdown line: `- [ ] #12 Ann: Send the report (due 2026-12-11)
    in <#C1>`, its number being what `done 12` takes."""
    who = f"**{owner}**: " if owner else ""
    due = f" (due {item.due.isoformat()})" if item.due else ""
    where = f" in <#{view.channel}>" if view.channel else ""
    tracker = (
        f" [{view.tracker_ref}]({view.tracker_url})"
        if view.tracker_ref and view.tracker_url
        else ""
    )
    return (
        f"- {STATUS_MARK.get(view.status, '[ ]')} #{view.id} {who}{item.task}{due}{where}{tracker}"
    )


def item_list_markdown(reply: ItemListReply) -> str:
    """An item list as Markdown: every platform can show it as text."""
    lines = [f"*{reply.title}*"]
    if not any(items for _, items in reply.groups):
        return "\n".join([*lines, reply.empty_text])
    for heading, items in reply.groups:
        lines += ["", f"*{heading}*"]
        lines += [
            item_line(item, view.owner_name or item.owner or _mention(view), view)
            for item, view in items
        ]
    return "\n".join(lines)


def _mention(view: ItemView) -> str | None:
    return f"<@{view.owner_id}>" if view.owner_id else None
