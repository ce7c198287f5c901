"""Reading Teams activities: where they happen, who wrote them, what they ask.

A Teams conversation id is long (personal chats: well over 100 characters) and channel
posts carry their thread in it (`19:…@thread.tacv2;messageid=<root>`). The core gets a
short, stable `channel_key` (the id itself when it fits the database's 64 characters, a
digest otherwise); the conversation reference store maps the key back.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botbuilder.schema import Activity

from adapters.teams.text import to_plain, without_mentions
from bot.ports import ChatMessage, FileRef, Place

PLATFORM = "teams"
SERVED_CHANNELS = ("msteams",)
EMULATOR_CHANNEL = "emulator"  # the Bot Framework Emulator: anonymous mode only
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
MAX_KEY = 64
_SAFE_KEY = re.compile(r"[A-Za-z0-9:@._\-]+")


def content_hash(value: str, size: int = 32) -> str:
    """A short, stable hash of `value` (hex SHA-256, `size` characters)."""
    return hashlib.sha256(value.encode()).hexdigest()[:size]


def channel_key(conversation_id: str) -> str:
    """The core's channel id for a conversation: short, stable, unique per conversation."""
    if len(conversation_id) <= MAX_KEY and _SAFE_KEY.fullmatch(conversation_id):
        return conversation_id
    return "h:" + content_hash(conversation_id, 40)


def split_thread(conversation_id: str) -> tuple[str, str | None]:
    """`19:x@thread.tacv2;messageid=17` → (`19:x@thread.tacv2`, `17`)."""
    base, _, rest = conversation_id.partition(";messageid=")
    return base, (rest or None)


def thread_conversation(conversation_id: str, thread: str | None) -> str:
    return f"{conversation_id};messageid={thread}" if thread else conversation_id


def _data(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    serialize = getattr(value, "serialize", None)
    return serialize() if serialize else dict(vars(value))


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """Where an activity happened, in the terms the adapter needs."""

    tenant: str
    id: str  # without the thread suffix
    kind: str  # personal, groupChat or channel
    thread: str | None = None  # channel posts: the thread's root message id
    team_id: str | None = None  # the team's thread id (channels)
    team_group_id: str | None = None  # the team's Microsoft 365 group id (Graph)
    name: str | None = None

    @property
    def key(self) -> str:
        return channel_key(self.id)

    @property
    def is_channel(self) -> bool:
        return self.kind == "channel"

    @property
    def is_personal(self) -> bool:
        return self.kind == "personal"

    def place(self, thread: str | None = None) -> Place:
        return Place(platform=PLATFORM, workspace=self.tenant, channel=self.key, thread=thread)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def readable(data: dict[str, Any]) -> dict[str, Any]:
    """The activity without the parts that cannot be read (members without a string id,
    entities or attachments that are not objects): they are ignored, not a failure that
    the channel would retry."""
    clean = dict(data)
    for key in ("membersAdded", "membersRemoved"):
        if key in clean:
            members = clean[key] if isinstance(clean[key], list) else []
            clean[key] = [m for m in members if isinstance(m, dict) and _text(m.get("id"))]
    for key in ("entities", "attachments"):
        if key in clean:
            items = clean[key] if isinstance(clean[key], list) else []
            clean[key] = [item for item in items if isinstance(item, dict)]
    return clean


def tenants_named(activity: Activity) -> set[str]:
    """The tenant ids the activity names (conversation.tenantId, channelData.tenant.id)."""
    data = _dict(_data(activity.channel_data))
    account = activity.conversation
    named = [_text(_dict(data.get("tenant")).get("id"))]
    if account is not None:  # botbuilder maps `tenantID`; Teams sends `tenantId`
        extra = _dict(getattr(account, "additional_properties", None))
        named += [_text(account.tenant_id), _text(extra.get("tenantId"))]
    return {tenant for tenant in named if tenant}


def refusal(activity: Activity, *, anonymous: bool, tenant_id: str, claims: dict) -> str | None:
    """Why an authenticated activity is not served, or None. Only the Teams channel (and
    the Emulator in anonymous mode) is served, and the tenant must be unambiguous: one
    tenant named, the configured one for a single-tenant bot, the token's if it has one."""
    channels = (*SERVED_CHANNELS, EMULATOR_CHANNEL) if anonymous else SERVED_CHANNELS
    if (activity.channel_id or "") not in channels:
        return f"channel {activity.channel_id!r} is not served"
    named = tenants_named(activity)
    if len(named) > 1:
        return "the activity names two tenants"
    token_tenant = _text(claims.get("tid"))
    for expected, source in ((tenant_id, "MICROSOFT_APP_TENANT_ID"), (token_tenant, "token")):
        if expected and named and named != {expected}:
            return f"tenant differs from the {source}'s"
    return None


def conversation_of(activity: Activity) -> Conversation:
    account = activity.conversation
    data = _dict(_data(activity.channel_data))
    base, thread = split_thread(_text(account.id))
    tenant = next(iter(tenants_named(activity)), "")
    team = _dict(data.get("team"))
    channel = _dict(data.get("channel"))
    kind = account.conversation_type or ("channel" if channel else "personal")
    return Conversation(
        tenant=tenant,
        id=base,
        kind=kind,
        thread=thread if kind == "channel" else None,
        team_id=_text(team.get("id")) or None,
        team_group_id=_text(team.get("aadGroupId")) or None,
        name=_text(channel.get("name"))
        or _text(account.name)
        or (_text(team.get("name")) if kind == "channel" else "")
        or None,
    )


def _mentions(activity: Activity) -> list[tuple[str, str, str]]:
    """(mentioned id, name, markup) of each mention entity."""
    found = []
    for entity in activity.entities or []:
        if (getattr(entity, "type", "") or "").lower() != "mention":
            continue
        props = _dict(getattr(entity, "additional_properties", None))
        mentioned = _dict(props.get("mentioned"))  # unreadable parts are ignored
        found.append(
            (_text(mentioned.get("id")), _text(mentioned.get("name")), _text(props.get("text")))
        )
    return found


def addresses_bot(activity: Activity) -> bool:
    """A command: anything in the 1:1 chat, or a message that mentions the bot."""
    if (activity.conversation.conversation_type or "") == "personal":
        return True
    me = activity.recipient.id if activity.recipient else None
    return any(mentioned == me for mentioned, _, _ in _mentions(activity))


def command_text(activity: Activity) -> str:
    """The text after the bot's mention, as plain text (other mentions as `@Name`)."""
    me = activity.recipient.id if activity.recipient else None
    own = [markup for mentioned, _, markup in _mentions(activity) if mentioned == me]
    return " ".join(to_plain(without_mentions(activity.text or "", own)).split())


def mentioned_people(activity: Activity) -> dict[str, str]:
    """The people a command mentions, as `command_text` writes them (`@Bob Stone`) ->
    their Teams id; the bot itself is not one of them."""
    me = activity.recipient.id if activity.recipient else None
    found = {}
    for mentioned, _, markup in _mentions(activity):
        shown = " ".join(to_plain(markup).split())
        if mentioned and mentioned != me and shown:
            found[shown] = mentioned
    return found


_PICK_LABEL = re.compile(r"Speaker ([1-9][0-9]?)")
ENTRA_ID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")  # a GUID
MAX_PICK_KEYS = 30  # the marker, the label and one input per picker (10), with room


def speaker_pick(value: Any, marker: str) -> tuple[str, str] | None:
    """(label, Entra object id) from a speaker picker's submit (`value`: the button's data
    merged with the card's inputs), or None when it is not one or is malformed. The value
    is untrusted: only "Speaker N" and an object id's exact shape are taken."""
    if not isinstance(value, dict) or value.get("balafon") != marker:
        return None
    label = value.get("label")
    if len(value) > MAX_PICK_KEYS or not isinstance(label, str):
        return None
    match = _PICK_LABEL.fullmatch(label)
    picked = value.get(f"speaker_{match.group(1)}") if match else None
    if not isinstance(picked, str) or not ENTRA_ID.fullmatch(picked):
        return None
    return label, picked.lower()


def author_of(activity: Activity) -> tuple[str | None, str]:
    """(stable id, display name): the Entra object id when Teams gives one, as Graph does."""
    sender = activity.from_property
    if sender is None:
        return None, "unknown"
    return (sender.aad_object_id or sender.id), (sender.name or sender.id or "unknown")


def is_from_bot(activity: Activity) -> bool:
    sender = activity.from_property
    return bool(sender and ((sender.role or "") == "bot" or (sender.id or "").startswith("28:")))


def timezone_of(activity: Activity) -> str | None:
    candidates = [activity.local_timezone]
    for entity in activity.entities or []:
        if (getattr(entity, "type", "") or "") == "clientInfo":
            candidates.append(
                (getattr(entity, "additional_properties", None) or {}).get("timezone")
            )
    for zone in candidates:
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return zone
    return None


def _mimetype(name: str, declared: str | None = None) -> str | None:
    if declared and "/" in declared and not declared.startswith("application/vnd."):
        return declared
    return mimetypes.guess_type(name)[0]


def _web_link(url: Any) -> bool:
    try:
        return isinstance(url, str) and urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def file_refs(activity: Activity) -> tuple[FileRef, ...]:
    """Files attached to a message: Teams file uploads (a pre-authorised SharePoint
    download link) and inline audio/video (a connector URL that needs the bot's token)."""
    files = []
    for attachment in activity.attachments or []:
        kind = attachment.content_type or ""
        content = attachment.content if isinstance(attachment.content, dict) else {}
        if kind == FILE_DOWNLOAD_INFO:
            url = content.get("downloadUrl")
            name = attachment.name or f"file.{content.get('fileType') or 'bin'}"
            ident = content.get("uniqueId") or content_hash(url or name)
        elif kind.startswith(("audio/", "video/")):
            url = attachment.content_url
            suffix = mimetypes.guess_extension(kind.split(";")[0]) or ""
            name = attachment.name or f"recording{suffix}"
            ident = content_hash(url or name)
        else:
            continue  # the message's own HTML, cards, images
        if not _web_link(url):
            continue  # only web links (GRAPH_REF-style references are the bot's own)
        files.append(
            FileRef(
                id=ident,
                name=PurePosixPath(name).name,
                mimetype=_mimetype(name, kind),
                url=url,
                created=sent_at(activity),  # shared with the message: the recording's end
            )
        )
    return tuple(files)


def sent_at(activity: Activity) -> datetime:
    stamp = activity.timestamp or datetime.now(UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def chat_message(activity: Activity, conversation: Conversation) -> ChatMessage:
    """A message activity as the core stores it."""
    author_id, author_name = author_of(activity)
    thread = conversation.thread if conversation.thread != activity.id else None
    return ChatMessage(
        id=activity.id or content_hash(activity.text or ""),
        author_id=author_id,
        author_name=author_name,
        text=to_plain(activity.text),
        at=sent_at(activity),
        thread=thread,
        files=file_refs(activity),
        from_bot=is_from_bot(activity),
    )
