"""HTML for stored action items in the playground (issue #16): each item is a real
checkbox (done / reopened), a menu of the playground's people to reassign it, and Dismiss,
Reopen and Create issue buttons. app.js fills the menu and sends a click as
`POST /playground/api/items/<id>/actions` with the version the item showed; the server
answers by re-rendering the message, so every page sees the new state.

Everything that came from people is escaped; ids and versions are the core's.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot import sentences
from bot.item_buttons import MAX_ITEMS_WITH_BUTTONS, controls, export_label, label, shown_owner
from bot.ports import ItemListReply, ItemView
from summarizer.types import ActionItem

_SAFE_URL = ("https://", "http://")


def _tracker(view: ItemView) -> str:
    url = view.tracker_url or ""
    if not view.tracker_ref or not url.startswith(_SAFE_URL):
        return ""
    return (
        f' <a class="issue" href="{escape(url)}" target="_blank" rel="noopener noreferrer">'
        f"{escape(view.tracker_ref)}</a>"
    )


def _tools(view: ItemView) -> str:
    tools = []
    for action in controls(view):
        if action == "reassign":
            tools.append(
                f'<select data-reassign data-current="{escape(view.owner_id or "")}" '
                f'aria-label="{escape(label("reassign"))}">'
                f'<option value="">{escape(sentences.ITEM_REASSIGN_PLACEHOLDER)}</option></select>'
            )
        elif action == "export":
            tools.append(
                f'<button type="button" data-item-action="export">'
                f"{escape(export_label(view))}</button>"
            )
        elif action not in ("done", "reopen") or view.status == "dismissed":
            # done (and undone) is the checkbox; a dismissed item's box is off
            text = escape(label(action))
            tools.append(f'<button type="button" data-item-action="{action}">{text}</button>')
    return f'<span class="item-tools">{"".join(tools)}</span>'


def item_row(
    item: ActionItem,
    view: ItemView | None,
    line: str,
    *,
    buttons: bool = True,
    numbered: bool = False,
) -> str:
    """One `<li>`: `line` (the task, owner, due date and source, already HTML) with the
    item's checkbox and tools when it is stored."""
    if view is None:
        return f"<li>{line}</li>"
    number = f'<span class="number">#{view.id}</span> ' if numbered else ""
    status = escape(view.status)
    closed = " — dismissed" if view.status == "dismissed" else ""
    body = f"{number}{line}{_tracker(view)}{escape(closed)}"
    if not buttons:
        return f'<li class="item {status}">{body}</li>'
    checked = " checked" if view.status == "done" else ""
    disabled = " disabled" if view.status == "dismissed" else ""
    box = (
        f'<input type="checkbox" data-item-toggle aria-label="{escape(label("done"))}"'
        f"{checked}{disabled}>"
    )
    return (
        f'<li class="item {status}" data-item="{view.id}" data-version="{escape(view.version)}">'
        f"<label>{box}</label> {body} {_tools(view)}</li>"
    )


def item_rows(
    entries: Sequence[tuple[ActionItem, ItemView | None, str]],
    *,
    numbered: bool = False,
    limit: int = MAX_ITEMS_WITH_BUTTONS,
) -> list[str]:
    """Rows for (item, view, line) entries: buttons on the first `limit` stored items;
    a hint after the list when some have none."""
    rows: list[str] = []
    seen: set[int] = set()
    for item, view, line in entries:
        buttons = view is not None and view.id not in seen and len(seen) < limit
        if buttons and view is not None:
            seen.add(view.id)
        rows.append(item_row(item, view, line, buttons=buttons, numbered=numbered))
    return rows


def hint(entries: Sequence[tuple[ActionItem, ItemView | None, str]], limit: int) -> str:
    stored = sum(1 for _, view, _ in entries if view is not None)
    if stored <= limit:
        return ""
    text = sentences.ITEMS_WITHOUT_BUTTONS.format(count=stored - limit).replace("`", "")
    return f'<p class="hint">{escape(text)}</p>'


def list_card(reply: ItemListReply, lines: dict[int, str], title_html: str) -> str:
    """`my items` / `items`: the title, then each group under its heading (`lines`: each
    item's line, already HTML, by item id)."""
    groups = []
    for heading, entries in reply.groups:
        if not entries:
            continue
        rows = item_rows(
            [(item, view, lines[view.id]) for item, view in entries],
            numbered=True,
            limit=len(entries),
        )
        groups.append(f'<h4>{escape(heading)}</h4><ul class="actions items">{"".join(rows)}</ul>')
    body = "".join(groups) or f"<p>{escape(reply.empty_text)}</p>"
    return f'<section class="card items"><h3>{title_html}</h3>{body}</section>'


def owner_of(item: ActionItem, view: ItemView | None) -> ActionItem:
    """The item with its owner now (a reassigned item shows its new owner)."""
    name, owner_id = shown_owner(item, view)
    return item.model_copy(update={"owner": name, "owner_id": owner_id})
