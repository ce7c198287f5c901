"""Block Kit for stored action items (issue #16): each item's line, then an actions block
with its buttons (`item_done`, `item_reopen`, `item_dismiss`, `item_export`) and a
`users_select` to reassign it (`item_reassign`).

The actions block's id is `item:<id>:<version>` and each button's value is
`{"id": <id>, "v": "<version>"}`: a click says which item and which state it was shown in,
so a click on a stale message is recognised. A message holds 50 blocks and an item takes
two, so a recap gives buttons to its first items only and lists the rest (see
`MAX_ITEMS_WITH_BUTTONS` and the `@balafon items` hint); `my items` / `items` lists are
split into several messages instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from adapters.slack.blocks import (
    MAX_BLOCKS,
    OWNER_ID,
    escape,
    escape_keeping_channels,
    safe_link,
    section,
    sections,
    source_text,
)
from bot import sentences
from bot.item_buttons import (
    MAX_ITEMS_WITH_BUTTONS,
    ItemRef,
    button_value,
    controls,
    export_label,
    label,
    shown_owner,
)
from bot.ports import ItemListReply, ItemView
from summarizer.types import ActionItem

Block = dict[str, Any]
BLOCK_PREFIX = "item:"
_BLOCK_ID = re.compile(r"item:([1-9][0-9]{0,18}):([A-Za-z0-9_.:+\-]{0,64})")
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


def block_id(view: ItemView) -> str:
    return f"{BLOCK_PREFIX}{view.id}:{view.version}"


def block_reference(value: Any) -> ItemRef | None:
    """The item an actions block is for (the people picker has no value of its own)."""
    if not isinstance(value, str):
        return None
    match = _BLOCK_ID.fullmatch(value)
    if match is None or int(match.group(1)) > 2**63 - 1:
        return None
    return ItemRef(item_id=int(match.group(1)), version=match.group(2))


def _owner(item: ActionItem, view: ItemView | None) -> str:
    name, owner_id = shown_owner(item, view)
    if owner_id and OWNER_ID.fullmatch(owner_id):
        return f"<@{owner_id}>"
    return escape(name) if name else "_no owner_"


def item_line(
    item: ActionItem,
    view: ItemView | None,
    links: dict[str, str],
    *,
    numbered: bool = False,
) -> str:
    """`task — owner · due … · source`, struck through once done or dismissed, with the
    item's number (lists), its channel and its tracker issue when known."""
    task = escape(item.task)
    status = view.status if view is not None else "open"
    if status == "done":
        task = f":white_check_mark: ~{task}~"
    elif status == "dismissed":
        task = f"~{task}~ _dismissed_"
    number = f"`#{view.id}` " if numbered and view is not None else ""
    due = f" · due {item.due:%a %d %b %Y}" if item.due else ""
    line = f"{number}{task} — {_owner(item, view)}{due}"
    if numbered and view is not None and view.channel and CHANNEL_ID.fullmatch(view.channel):
        line += f" · <#{view.channel}>"
    line += source_text(item.ref, links)
    issue = safe_link(view.tracker_url, escape(view.tracker_ref or "")) if view else ""
    if view is not None and view.tracker_ref and issue:
        line += f" · {issue}"
    return line


def _button(action: str, view: ItemView, text: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": f"item_{action}",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "value": button_value(view),
    }
    if style:
        button["style"] = style
    return button


def item_actions(view: ItemView) -> Block:
    """The buttons an item offers in its state (bot.item_buttons.controls)."""
    elements: list[Block] = []
    for action in controls(view):
        if action == "reassign":
            picker: Block = {
                "type": "users_select",
                "action_id": "item_reassign",
                "placeholder": {"type": "plain_text", "text": sentences.ITEM_REASSIGN_PLACEHOLDER},
            }
            if view.owner_id and OWNER_ID.fullmatch(view.owner_id):
                picker["initial_user"] = view.owner_id
            elements.append(picker)
        elif action == "export":
            elements.append(_button(action, view, export_label(view)))
        else:
            style = "primary" if action in ("done", "reopen") else None
            elements.append(_button(action, view, label(action), style))
    return {"type": "actions", "block_id": block_id(view), "elements": elements}


def item_blocks(
    entries: Sequence[tuple[ActionItem, ItemView | None]],
    links: dict[str, str],
    *,
    room: int,
    numbered: bool = False,
) -> list[Block]:
    """Each entry's line; the first items that fit in `room` blocks also get their
    buttons. Items past that (or not stored) are listed in one section, with a hint."""
    blocks: list[Block] = []
    plain: list[str] = []
    seen: set[int] = set()
    budget = min(MAX_ITEMS_WITH_BUTTONS, max(0, (room - 2) // 2))
    left_out = 0

    def flush() -> None:
        if plain:
            blocks.extend(sections("\n".join(f"• {line}" for line in plain)))
            plain.clear()

    for item, view in entries:
        line = item_line(item, view, links, numbered=numbered)
        if view is None or view.id in seen:
            plain.append(line)
            continue
        seen.add(view.id)
        if budget <= 0:
            plain.append(line)
            left_out += 1
            continue
        budget -= 1
        flush()
        blocks += [section(f"• {line}"), item_actions(view)]
    flush()
    if left_out:
        hint = escape_keeping_channels(sentences.ITEMS_WITHOUT_BUTTONS.format(count=left_out))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]})
    return blocks


def list_blocks(reply: ItemListReply) -> list[Block]:
    """`my items` / `items`: the title, then each group under its heading, every item
    with its number, owner, due date, channel and buttons (split into several messages by
    the renderer when long; each item's two blocks stay together)."""
    blocks = sections(f"*{escape_keeping_channels(reply.title)}*")
    if not any(entries for _, entries in reply.groups):
        return blocks + sections(escape_keeping_channels(reply.empty_text))
    for heading, entries in reply.groups:
        if not entries:
            continue
        blocks += sections(f"*{escape(heading)}*")
        for item, view in entries:
            blocks += item_blocks([(item, view)], reply.links, room=MAX_BLOCKS, numbered=True)
    return blocks


def parts(blocks: list[Block]) -> list[list[Block]]:
    """Blocks in messages of at most MAX_BLOCKS, never separating an item's line from its
    buttons."""
    found: list[list[Block]] = [[]]
    for index, current in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        pair = following is not None and str(following.get("block_id", "")).startswith(BLOCK_PREFIX)
        need = 2 if pair and current.get("type") == "section" else 1
        if found[-1] and len(found[-1]) + need > MAX_BLOCKS:
            found.append([])
        found[-1].append(current)
    return [part for part in found if part]
