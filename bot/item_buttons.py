"""Which buttons an action item shows, and reading a click back (issue #16), the same on
every platform: the adapters only lay these out in Block Kit, Adaptive Cards or HTML.

A click comes back from the platform as untrusted data (a button's value, a card's data):
`item_reference` takes only an item id and a version of the exact shapes the core makes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot import sentences
from bot.ports import ItemListReply, ItemView
from summarizer.types import ActionItem

# The platform-facing action names (Slack action ids, Teams verbs) and the core's.
ACTIONS = {
    "item_done": "done",
    "item_reopen": "reopen",
    "item_dismiss": "dismiss",
    "item_reassign": "reassign",
    "item_export": "export",
}
# A message shows the buttons of its first items only (Slack: 50 blocks, Teams: the card
# size); the others are listed, and `@balafon items` shows them all with their buttons.
MAX_ITEMS_WITH_BUTTONS = 15

MAX_ITEM_ID = 2**63 - 1
VERSION = re.compile(r"[A-Za-z0-9_.:+\-]{0,64}")
MAX_VALUE = 256  # characters of a button value: ours are far shorter


@dataclass(frozen=True)
class ItemRef:
    """What a button says about its item: which one, and the version it showed."""

    item_id: int
    version: str


def label(action: str) -> str:
    return sentences.ITEM_BUTTONS[action]


def controls(view: ItemView) -> tuple[str, ...]:
    """The actions an item offers in its state: an open item can be done, dismissed,
    handed on and exported (when its channel links a tracker); a closed one reopened."""
    if view.status != "open":
        return ("reopen",)
    found = ["done", "dismiss", "reassign"]
    if view.tracker and not view.tracker_url and view.export_state != "created":
        found.append("export")
    return tuple(found)


def export_label(view: ItemView) -> str:
    """ "Create issue", or what is happening to the export."""
    if view.export_state in ("pending", "failed"):
        return sentences.ITEM_BUTTONS[view.export_state]
    return sentences.ITEM_BUTTONS["export"]


def shown_owner(item: ActionItem, view: ItemView | None) -> tuple[str | None, str | None]:
    """(name, platform id) of the owner now: a stored item's (reassigned) owner, else the
    recap's."""
    if view is not None and (view.owner_id or view.owner_name):
        return view.owner_name or view.owner_id, view.owner_id
    return item.owner, item.owner_id


def with_owner(item: ActionItem, view: ItemView | None) -> ActionItem:
    name, owner_id = shown_owner(item, view)
    if (name, owner_id) == (item.owner, item.owner_id):
        return item
    return item.model_copy(update={"owner": name, "owner_id": owner_id})


def button_value(view: ItemView) -> str:
    """A button's value: the item and the version it shows (compact JSON)."""
    return json.dumps({"id": view.id, "v": view.version}, separators=(",", ":"))


def _valid(item_id: Any, version: Any) -> ItemRef | None:
    if not isinstance(item_id, int) or isinstance(item_id, bool):
        return None
    if not 0 < item_id <= MAX_ITEM_ID:
        return None
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        return None
    return ItemRef(item_id=item_id, version=version)


def item_reference(value: Any) -> ItemRef | None:
    """An ItemRef from a button value (JSON text) or from already-parsed data (a dict with
    exactly `id` and `v`); None for anything else."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE:
            return None
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    if not isinstance(value, dict) or set(value) != {"id", "v"}:
        return None
    return _valid(value["id"], value["v"])


def action_of(name: Any) -> str | None:
    """The core's action for a platform action id (`item_done` -> `done`)."""
    return ACTIONS.get(name) if isinstance(name, str) else None


def list_text(reply: ItemListReply) -> str:
    """An item list as plain text (a file for a list too long for messages, search)."""
    lines = [reply.title]
    for heading, entries in reply.groups:
        if not entries:
            continue
        lines += ["", heading]
        for item, view in entries:
            owner, _ = shown_owner(item, view)
            due = f", due {item.due.isoformat()}" if item.due else ""
            state = "" if view.status == "open" else f" [{view.status}]"
            lines.append(f"#{view.id} {item.task} ({owner or 'no owner'}{due}){state}")
    if len(lines) == 1:
        lines.append(reply.empty_text)
    return "\n".join(lines) + "\n"
