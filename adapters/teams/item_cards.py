"""Adaptive Card parts for stored action items (issue #16): each item in a container with
its line and its buttons, `Action.Execute` (Universal Actions) with the verbs `item_done`,
`item_reopen`, `item_dismiss`, `item_export`, and a "Reassign" card that opens a people
picker (as the speaker picker does) and runs `item_reassign`.

Every action's data is `{"balafon": "item", "id": <id>, "v": "<version>"}`: a click says
which item and which state it was shown in. The bot answers the `adaptiveCard/action`
invoke with the card refreshed (see adapters/teams/item_actions.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.teams.activities import ENTRA_ID
from adapters.teams.cards import (
    PEOPLE_DATASET,
    Element,
    Mentions,
    block,
    core_text,
    safe_link,
    source_text,
)
from adapters.teams.text import inert
from bot import sentences
from bot.item_buttons import MAX_ITEMS_WITH_BUTTONS, controls, export_label, label, shown_owner
from bot.outline import OutlineItem
from bot.ports import ItemListReply, ItemView
from summarizer.types import ActionItem

MARKER = "item"  # data.balafon of every item action
CONTAINER_PREFIX = "item:"


def owner_input(view: ItemView) -> str:
    """The people picker's input id: one per item, so a card's pickers never mix."""
    return f"owner_{view.id}"


def container_id(view: ItemView) -> str:
    return f"{CONTAINER_PREFIX}{view.id}:{view.version}"


def _data(view: ItemView) -> dict[str, Any]:
    return {"balafon": MARKER, "id": view.id, "v": view.version}


def _execute(action: str, view: ItemView, title: str) -> Element:
    return {"type": "Action.Execute", "title": title, "verb": f"item_{action}", "data": _data(view)}


def _reassign(view: ItemView) -> Element:
    picker: Element = {
        "type": "Input.ChoiceSet",
        "id": owner_input(view),
        "placeholder": sentences.ITEM_REASSIGN_PLACEHOLDER,
        "choices": [],
        "choices.data": {"type": "Data.Query", "dataset": PEOPLE_DATASET},
    }
    if view.owner_id and ENTRA_ID.fullmatch(view.owner_id):
        picker["value"] = view.owner_id  # prepopulated: the picker shows their name
        if view.owner_name:
            picker["choices"] = [{"title": inert(view.owner_name), "value": view.owner_id}]
    return {
        "type": "Action.ShowCard",
        "title": label("reassign"),
        "card": {
            "type": "AdaptiveCard",
            "body": [picker],
            "actions": [_execute("reassign", view, label("reassign"))],
        },
    }


def item_actions(view: ItemView) -> list[Element]:
    found = []
    for action in controls(view):
        if action == "reassign":
            found.append(_reassign(view))
        elif action == "export":
            found.append(_execute(action, view, export_label(view)))
        else:
            found.append(_execute(action, view, label(action)))
    return found


def item_line(
    item: ActionItem,
    view: ItemView | None,
    links: Mapping[str, str],
    mentions: Mentions,
    *,
    numbered: bool = False,
) -> str:
    owner, owner_id = shown_owner(item, view)
    who = mentions.owner(OutlineItem(text=item.task, owner=owner, owner_id=owner_id))
    task = inert(item.task)
    status = view.status if view is not None else "open"
    if status == "done":
        task = f"✅ ~~{task}~~"
    elif status == "dismissed":
        task = f"~~{task}~~ _dismissed_"
    number = f"#{view.id} " if numbered and view is not None else ""
    due = f" · due {item.due:%a %d %b %Y}" if item.due else ""
    line = f"{number}{task} — {who}{due}{source_text(item.ref, links)}"
    issue = safe_link(view.tracker_url, inert(view.tracker_ref or "")) if view else ""
    if view is not None and view.tracker_ref and issue:
        line += f" · {issue}"
    return line


def item_elements(
    entries: Sequence[tuple[ActionItem, ItemView | None]],
    links: Mapping[str, str],
    mentions: Mentions,
    *,
    numbered: bool = False,
    limit: int = MAX_ITEMS_WITH_BUTTONS,
) -> list[Element]:
    """A container per item (its line, then its buttons for the first `limit` stored
    items); the rest are listed below with a hint."""
    elements: list[Element] = []
    rest: list[str] = []
    seen: set[int] = set()
    for item, view in entries:
        line = item_line(item, view, links, mentions, numbered=numbered)
        if view is None or view.id in seen or len(seen) >= limit:
            rest.append(line)
            continue
        seen.add(view.id)
        elements.append(
            {
                "type": "Container",
                "id": container_id(view),
                "spacing": "Small",
                "items": [
                    block(f"- {line}"),
                    {"type": "ActionSet", "actions": item_actions(view)},
                ],
            }
        )
    if rest:
        elements.append(block("\n".join(f"- {line}" for line in rest), spacing="Small"))
    left_out = sum(1 for _, view in entries if view is not None) - len(seen)
    if left_out > 0:
        hint = sentences.ITEMS_WITHOUT_BUTTONS.format(count=left_out)
        elements.append(block(core_text(hint, {}), isSubtle=True, size="Small"))
    return elements


def list_elements(
    reply: ItemListReply, names: Mapping[str, str], mentions: Mentions
) -> list[Element]:
    """`my items` / `items`: the title, each group under its heading, every item with its
    number, owner, due date, source and buttons (the card is split when long)."""
    elements = [block(core_text(reply.title, names), weight="Bolder", size="Medium")]
    if not any(entries for _, entries in reply.groups):
        return [*elements, block(core_text(reply.empty_text, names))]
    for heading, entries in reply.groups:
        if entries:
            elements.append(block(inert(heading), weight="Bolder", spacing="Medium"))
            elements += item_elements(
                entries, reply.links, mentions, numbered=True, limit=len(entries)
            )
    return elements


def card_with_item(cards: list[dict[str, Any]], item_id: int) -> dict[str, Any]:
    """The card (of a reply's several) that holds the item's container; the first when
    none does."""
    prefix = f"{CONTAINER_PREFIX}{item_id}:"
    for card in cards:
        if any(str(e.get("id", "")).startswith(prefix) for e in card.get("body", [])):
            return card
    return cards[0]
