"""Adaptive Card rendering of the core's replies.

Every string that can carry people's words goes through `text.inert`, so no `<at>` tag,
Markdown link or `@channel` survives from a message into a card; the only mentions are
action-item owners whose Teams id the source gave us, declared as `msteams.entities`.
Cards are split to stay under Teams' message size (about 28 KB), so a long recap or
transcript arrives as several messages rather than being refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botbuilder.schema import Activity, ActivityTypes, Attachment

from adapters.teams.activities import ENTRA_ID
from adapters.teams.text import inert
from bot.outline import ItemKind, OutlineItem, RecapOutline, build_outline
from bot.ports import (
    ErrorReply,
    ItemListReply,
    ItemView,
    ProgressReply,
    RecapReply,
    Reply,
    SpeakerChoice,
    TextReply,
    TranscriptReply,
)
from bot.recordings import parse_recording_ref, source_label
from bot.rendering import split_text
from summarizer.pipeline import format_timestamp
from summarizer.types import ActionItem

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"
MAX_CARD_BYTES = 20_000  # JSON of one card; Teams refuses messages over ~28 KB
MAX_BLOCK_CHARS = 3_000
MAX_MESSAGES = 10
MAX_SUMMARY = 200
# The people picker that names a transcript's speaker: its submit data carries the marker
# and the label; the chosen person arrives as the input `speaker_<n>` (an Entra object id).
SPEAKER_ACTION = "speaker_name"
MAX_PICKERS = 10  # as Slack's menus: a long card stays under Teams' size limits
PEOPLE_DATASET = "graph.microsoft.com/users"

Element = dict[str, Any]
Mention = dict[str, Any]

_CHANNEL_REF = re.compile(r"<#([^>\s]+)>")
_SLACK_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_SAFE_URL = re.compile(r"https?://[^\s()<>\[\]]+")
OWNER_ID = re.compile(
    r"29:[\w\-.:]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def block(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _chunks(text: str, limit: int = MAX_BLOCK_CHARS) -> Iterator[str]:
    return split_text(text, limit)


def paragraphs(text: str, **style: Any) -> list[Element]:
    return [block(chunk, **style) for chunk in _chunks(text) if chunk.strip()]


def section(heading: str, lines: list[str]) -> list[Element]:
    if not lines:
        return []
    listing = "\n".join(f"- {line}" for line in lines)
    return [
        block(heading, weight="Bolder", spacing="Medium"),
        *paragraphs(listing, spacing="Small"),
    ]


def core_text(text: str, names: Mapping[str, str]) -> str:
    """The core's sentences (Slack-flavoured: `*bold*`, `<#C1>`) as card Markdown."""
    text = inert(_CHANNEL_REF.sub(lambda m: names.get(m.group(1), "this conversation"), text))
    return _SLACK_BOLD.sub(r"**\1**", text)


def safe_link(url: str | None, label: str) -> str:
    return f"[{label}]({url})" if url and _SAFE_URL.fullmatch(url) else ""


def source_text(ref: str | None, links: Mapping[str, str]) -> str:
    if not ref:
        return ""
    if link := safe_link(links.get(ref), source_label(ref)):
        return f" · {link}"
    if ref.startswith("t="):
        return f" · at {inert(ref[2:])}"
    if parse_recording_ref(ref):  # a moment of a recording with no permalink
        return f" · {inert(source_label(ref))}"
    return ""


class Mentions:
    """Owner mentions used in a card: `<at>Name</at>` text plus its entity."""

    def __init__(self) -> None:
        self.entities: dict[str, Mention] = {}

    def owner(self, item: OutlineItem) -> str:
        name = " ".join(inert(item.owner or "").replace("<", "‹").replace(">", "›").split())
        if item.owner_id and OWNER_ID.fullmatch(item.owner_id) and name:
            markup = f"<at>{name}</at>"
            self.entities.setdefault(
                markup,
                {
                    "type": "mention",
                    "text": markup,
                    "mentioned": {"id": item.owner_id, "name": name},
                },
            )
            return markup
        return name or "_no owner_"


def _item(kind: ItemKind, item: OutlineItem, links: Mapping[str, str], mentions: Mentions) -> str:
    text = inert(item.text)
    if kind is ItemKind.TASK:
        due = f" · due {item.due:%a %d %b %Y}" if item.due else ""
        text += f" — {mentions.owner(item)}{due}"
        if item.open_days is not None:
            text += f" · open {item.open_days} day{'s' * (item.open_days != 1)}"
    elif kind is ItemKind.QUESTION and item.asked_by:
        text += f" (asked by {inert(item.asked_by)})"
    return text + source_text(item.ref, links)


def recap_elements(
    outline: RecapOutline,
    links: Mapping[str, str],
    names: Mapping[str, str],
    mentions: Mentions,
    items: Sequence[tuple[ActionItem, ItemView | None]] = (),
) -> list[Element]:
    """A recap's card body; with stored `items` (the recap's action items and their
    views) each action item comes with its buttons."""
    from adapters.teams import item_cards

    elements = [block(core_text(outline.title, names), weight="Bolder", size="Medium")]
    elements += paragraphs(inert(outline.summary))
    with_buttons = any(view is not None for _, view in items)
    for part in outline.sections:
        if part.key == "action_items" and with_buttons:
            elements.append(block(part.heading, weight="Bolder", spacing="Medium"))
            elements += item_cards.item_elements(items, links, mentions)
            continue
        elements += section(
            part.heading, [_item(part.kind, item, links, mentions) for item in part.items]
        )
    notes = [*outline.notes, f"Made by the {outline.made_by}."]
    elements += paragraphs(inert("\n".join(notes)), size="Small", isSubtle=True, spacing="Medium")
    return elements


def progress_bar(fraction: float) -> str:
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * 10)
    return "▰" * filled + "▱" * (10 - filled) + f" {round(fraction * 100)}%"


def transcript_text(reply: TranscriptReply) -> str:
    from summarizer.transcript_formats import render_transcript

    return render_transcript(reply.transcript, "txt", timestamps=True)


def transcript_heading(reply: TranscriptReply) -> str:
    words = len(reply.transcript.text.split())
    return f"Transcript ({format_timestamp(reply.transcript.duration)}, {words} words)"


def picker_input(label: str) -> str:
    """The id of the picker for "Speaker 3": `speaker_3` (a card submits every input)."""
    return "speaker_" + label.rsplit(" ", 1)[-1]


def speaker_pickers(speakers: tuple[SpeakerChoice, ...]) -> list[Element]:
    """A Teams people picker and a submit button per speaker label (the first ten)."""
    elements: list[Element] = []
    for choice in speakers[:MAX_PICKERS]:
        named = f" — {inert(choice.name)}" if choice.name else ""
        picker: Element = {
            "type": "Input.ChoiceSet",
            "id": picker_input(choice.label),
            "placeholder": "Who is this?",
            "choices": [],
            "choices.data": {"type": "Data.Query", "dataset": PEOPLE_DATASET},
        }
        if choice.user_id and ENTRA_ID.fullmatch(choice.user_id):
            picker["value"] = choice.user_id  # prepopulated: the picker shows their name
            if choice.name:
                picker["choices"] = [{"title": inert(choice.name), "value": choice.user_id}]
        submit = {
            "type": "Action.Submit",
            "title": f"Name {choice.label}",
            "data": {"balafon": SPEAKER_ACTION, "label": choice.label},
        }
        items = [
            block(f"**{inert(choice.label)}**{named}"),
            picker,
            {"type": "ActionSet", "actions": [submit]},
        ]  # one container: a card split in two keeps each picker with its button
        elements.append({"type": "Container", "spacing": "Medium", "items": items})
    return elements


def _elements(
    reply: Reply, names: Mapping[str, str], mentions: Mentions
) -> tuple[list[Element], str]:
    if isinstance(reply, RecapReply):
        summary = f"{core_text(reply.title, names)}: {inert(reply.recap.summary)}"
        items = [(item, reply.item_at(n)) for n, item in enumerate(reply.recap.action_items)]
        elements = recap_elements(build_outline(reply), reply.links, names, mentions, items)
        return elements, summary
    if isinstance(reply, ItemListReply):
        from adapters.teams import item_cards

        return item_cards.list_elements(reply, names, mentions), core_text(reply.title, names)
    if isinstance(reply, ErrorReply):
        text = core_text(reply.text, names)
        return paragraphs(f"⚠️ {text}", color="Attention"), text
    if isinstance(reply, ProgressReply):
        text = core_text(reply.text, names)
        elements = paragraphs(text)
        if reply.fraction is not None:
            elements.append(
                block(progress_bar(reply.fraction), fontType="Monospace", spacing="Small")
            )
        return elements, text
    if isinstance(reply, TranscriptReply):
        heading = transcript_heading(reply)
        body = inert(transcript_text(reply)).strip() or "_(no speech)_"
        elements = [block(heading, weight="Bolder"), *paragraphs(body, fontType="Default")]
        if reply.transcript.notes:  # what it leaves out ("Skipped 0:22 of silence.")
            notes = inert("\n".join(reply.transcript.notes))
            elements += paragraphs(notes, size="Small", isSubtle=True, spacing="Medium")
        elements += speaker_pickers(reply.speakers)
        return elements, heading
    if isinstance(reply, TextReply):
        text = core_text(reply.text, names)
        return paragraphs(text), text
    raise TypeError(f"cannot render {type(reply).__name__}")  # pragma: no cover


def _texts(value: Any) -> list[str]:
    """Every `text` of an element and of the elements inside it (containers)."""
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if not isinstance(value, dict):
        return []
    found = [value["text"]] if isinstance(value.get("text"), str) else []
    return found + [t for key in ("items", "body") for t in _texts(value.get(key))]


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def _pack(elements: list[Element]) -> list[list[Element]]:
    """Group elements into cards whose JSON stays under MAX_CARD_BYTES."""
    cards: list[list[Element]] = [[]]
    used = 0
    for element in elements:
        size = _size(element)
        if cards[-1] and used + size > MAX_CARD_BYTES:
            cards.append([])
            used = 0
        cards[-1].append(element)
        used += size
    return cards


def card(body: list[Element], entities: list[Mention] | None = None) -> dict[str, Any]:
    msteams: dict[str, Any] = {"width": "Full"}
    if entities:
        msteams["entities"] = entities
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
        "msteams": msteams,
    }


def message(content: dict[str, Any], summary: str) -> Activity:
    plain = summary.replace("**", "")
    if len(plain) > MAX_SUMMARY:
        plain = plain[: MAX_SUMMARY - 1] + "…"
    return Activity(
        type=ActivityTypes.message,
        summary=plain,
        attachments=[Attachment(content_type=CONTENT_TYPE, content=content)],
    )


def render(reply: Reply, *, names: Mapping[str, str] | None = None) -> list[Activity]:
    """One or more message activities (an Adaptive Card each), in order. `names` maps the
    core's channel keys to the names shown for `<#key>`."""
    mentions = Mentions()
    elements, summary = _elements(reply, names or {}, mentions)
    groups = _pack(elements)
    if len(groups) > MAX_MESSAGES:
        left = sum(len(g) for g in groups[MAX_MESSAGES - 1 :])
        note = block(f"… {left} more parts were left out: too long for Teams.", isSubtle=True)
        groups = [*groups[: MAX_MESSAGES - 1], [note]]
    activities = []
    for number, group in enumerate(groups):
        texts = [text for element in group for text in _texts(element)]
        used = [m for markup, m in mentions.entities.items() if any(markup in t for t in texts)]
        if number:
            group = [
                block(f"(continued, {number + 1}/{len(groups)})", isSubtle=True, size="Small"),
                *group,
            ]
        activities.append(
            message(card(group, used), summary if not number else f"{summary} (continued)")
        )
    return activities


def card_of(activity: Activity) -> dict[str, Any]:
    """The Adaptive Card an activity carries (tests, updates)."""
    return activity.attachments[0].content
