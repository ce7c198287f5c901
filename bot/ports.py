"""What the core needs from a chat platform, and what it asks the platform to show.

Adapters implement `ChatPlatform`; the core only ever talks to this protocol, so it never
imports slack_bolt or botbuilder. Replies are platform-neutral descriptions that each
adapter renders in its own format (Block Kit, Adaptive Cards, HTML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from bot.errors import PermanentJobError
from summarizer.types import ActionItem, Recap, Transcript


class HistoryUnavailableError(PermanentJobError):
    """The platform cannot read this conversation's history (a Teams bot without Graph):
    the core answers from the messages it stored as they arrived."""


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where a conversation happens: a channel, or a thread in it."""

    platform: str
    workspace: str  # Slack team id, Teams tenant id
    channel: str
    thread: str | None = None  # the thread's root message id


@dataclass(frozen=True, kw_only=True)
class ReplyTarget:
    """Where a reply goes; `ephemeral_to` makes it visible to that user only."""

    place: Place
    ephemeral_to: str | None = None
    response_url: str | None = None  # Slack slash commands answer through it


@dataclass(frozen=True, kw_only=True)
class ChatMessage:
    """A message as the platform gives it, already in plain text (mentions as @Name)."""

    id: str
    author_id: str | None
    author_name: str
    text: str
    at: datetime
    thread: str | None = None
    files: tuple[FileRef, ...] = ()
    from_bot: bool = False  # the bot's own posts are never summarized


@dataclass(frozen=True, kw_only=True)
class FileRef:
    id: str
    name: str
    mimetype: str | None = None
    size: int | None = None
    url: str | None = None  # private download URL, fetched with the bot's credentials
    # When the recording was made or shared, as the platform says (Slack's `created`, the
    # Teams message time, the upload time): segments are dated from it.
    created: datetime | None = None
    # How many people took part in the recording, when the platform knows (a meeting's
    # participant list): at most that many speakers are told apart.
    participants: int | None = None


# --- replies -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TextReply:
    text: str


@dataclass(frozen=True, kw_only=True)
class ErrorReply:
    """Something the user must know went wrong, in words they can act on."""

    text: str


@dataclass(frozen=True, kw_only=True)
class ProgressReply:
    text: str
    fraction: float | None = None  # 0..1 when known


@dataclass(frozen=True, kw_only=True)
class OpenItem:
    """An action item from an earlier recap that nobody has closed yet."""

    item: ActionItem
    since: datetime  # when it was first reported

    def age_days(self, now: datetime) -> int:
        return max(0, (now - self.since).days)


ITEM_STATUSES = ("open", "done", "dismissed")


@dataclass(frozen=True, kw_only=True)
class ItemView:
    """A stored action item as its buttons show it (issue #16): its id, status and owner
    now, and its tracker issue. `version` says what the card shows of its state (it moves
    exactly when that does), so a click on a card rendered before a change of what the
    click depends on is recognised as stale."""

    id: int
    status: str = "open"  # open, done, dismissed
    owner_id: str | None = None
    owner_name: str | None = None
    version: str = ""
    tracker: str | None = None  # the channel's linked tracker: the item can be exported
    tracker_ref: str | None = None  # "owner/repo#12" once exported
    tracker_url: str | None = None
    export_state: str | None = None  # pending, created, failed
    # Where the item was said (the channel's id), for lists across channels (`my items`).
    channel: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecapReply:
    recap: Recap
    title: str
    # Source reference (message id or transcript position) -> link to show for it.
    links: dict[str, str] = field(default_factory=dict)
    # Digests: items still open from earlier digests, and the time they are counted from.
    still_open: tuple[OpenItem, ...] = ()
    as_of: datetime | None = None
    # The stored items behind recap.action_items, position for position (None: not stored,
    # no buttons); empty for a recap that is not kept (the API, the CLI).
    items: tuple[ItemView | None, ...] = ()

    def item_at(self, position: int) -> ItemView | None:
        return self.items[position] if position < len(self.items) else None


@dataclass(frozen=True, kw_only=True)
class ItemListReply:
    """`my items`, `items`: stored items, grouped by the renderer under `heading`s."""

    title: str
    groups: tuple[tuple[str, tuple[tuple[ActionItem, ItemView], ...]], ...]
    links: dict[str, str] = field(default_factory=dict)
    empty_text: str = "No open action items."


@dataclass(frozen=True, kw_only=True)
class SpeakerChoice:
    """A diarization label a menu on the transcript can name, and whom it names now."""

    label: str  # "Speaker 1"
    name: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TranscriptReply:
    transcript: Transcript  # named speakers already read as their names
    filename: str  # base name for an uploaded file ("standup.txt")
    # The labels people may name (a menu where the platform has one); empty: no menu.
    speakers: tuple[SpeakerChoice, ...] = ()


Reply = TextReply | ErrorReply | ProgressReply | RecapReply | TranscriptReply | ItemListReply


@dataclass(frozen=True, kw_only=True)
class ItemAction:
    """A click on an item's button (or `done N`): the adapter verified the request."""

    place: Place  # where the clicked message is
    user_id: str
    item_id: int
    action: str  # done, reopen, dismiss, reassign, export
    event_key: str  # unique per click: a retried delivery carries the same key
    owner_id: str | None = None  # reassign: the new owner
    owner_name: str | None = None
    version: str | None = None  # the ItemView.version the card showed (None: unknown)
    message_id: str | None = None  # the message the button is on, updated in place


@dataclass(frozen=True, kw_only=True)
class ItemActionResult:
    """What the adapter shows: `notice` only to the clicker (refused, stale, failed);
    `reply`, when set, is the clicked message re-rendered with the item's state now."""

    changed: bool
    notice: str | None = None
    reply: Reply | None = None
    # The item now (changed or stale), for a message the core does not keep (a `my items`
    # list): the adapter re-renders that item's line itself.
    item: tuple[ActionItem, ItemView] | None = None


@runtime_checkable
class ChatPlatform(Protocol):
    """The operations the core performs on a chat platform."""

    name: str

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        """Post a reply; return the platform's id of the new message."""
        ...

    async def update(self, target: ReplyTarget, message_id: str, reply: Reply) -> None:
        """Replace a message the bot posted earlier (progress updates)."""
        ...

    async def fetch_messages(
        self,
        place: Place,
        *,
        oldest: datetime | None = None,
        latest: datetime | None = None,
    ) -> list[ChatMessage]:
        """Messages of a thread (place.thread set) or of a channel window, oldest first."""
        ...

    async def download(self, place: Place, file: FileRef, dest: Path, *, max_bytes: int) -> Path:
        """Stream a shared file to `dest`; raise MediaTooLargeError past `max_bytes`."""
        ...

    async def permalink(self, place: Place, message_id: str) -> str | None: ...

    async def is_member(self, place: Place, user_id: str) -> bool:
        """Whether the user may read the channel (cross-channel recaps need it)."""
        ...

    async def can_manage(self, place: Place, user_id: str) -> bool:
        """Whether the user may decide what the bot keeps of the channel (`retention`,
        `forget`): a workspace admin or whoever manages the channel on this platform.
        False when the platform cannot tell (refuse when in doubt)."""
        ...

    async def forget(self, place: Place) -> None:
        """After `forget confirm`: delete what the adapter itself stored of the channel
        (the playground, being its own chat server, keeps messages and files; Slack's and
        Teams' messages stay theirs, and nothing of them is kept by the adapter)."""
        ...


@runtime_checkable
class PrivateMessaging(Protocol):
    """A platform that can write to one person privately (Slack and Teams: a direct
    message; the playground: the person's own view): `my items`, reminders."""

    name: str

    async def post_private(self, workspace: str, user_id: str, reply: Reply) -> str | None:
        """Post `reply` to the user alone; the message id, or None when the platform cannot
        reach them (never installed for them, blocked)."""
        ...

    async def user_timezone(self, workspace: str, user_id: str) -> str | None:
        """The IANA time zone the person set on the platform, when it says."""
        ...


@runtime_checkable
class PrivateConversations(Protocol):
    """A `PrivateMessaging` platform that says where a private message to a person goes,
    so the core can post it through `Delivery` under a key (reminders: a crash between the
    post and its record does not post twice on a platform with `MarkedPosting`)."""

    name: str

    async def private_target(
        self, workspace: str, user_id: str, near: Place | None = None
    ) -> ReplyTarget | None:
        """Where `post(target, reply)` reaches the person alone (Slack, Teams: the direct
        chat with the bot, opened if need be; the playground: their own view of `near`'s
        channel), or None when the platform cannot reach them."""
        ...


@runtime_checkable
class DirectConversations(Protocol):
    """A platform that can tell a one-person conversation with the bot (a Slack DM, a
    Teams 1:1 chat), whose person `can_manage` says manages it: deployment-wide settings
    such as a tracker link need more than that."""

    name: str

    async def is_direct(self, place: Place) -> bool: ...


@runtime_checkable
class PeopleDirectory(Protocol):
    """A platform that can say a person's display name from their id (Slack), for people
    mentioned in a command."""

    name: str

    async def display_name(self, place: Place, user_id: str) -> str | None: ...


@runtime_checkable
class AckWithdrawing(Protocol):
    """A platform that can take back the requester's "working on it" once the job has
    answered (the playground). Slack cannot remove an ephemeral message: its ack says where
    the result will appear instead."""

    name: str

    async def withdraw(self, target: ReplyTarget, message_id: str) -> None:
        """Remove the acknowledgement `message_id`, shown to one person only."""
        ...


@runtime_checkable
class ChannelLookup(Protocol):
    """A platform that can say whether a channel named in a command exists (Slack, the
    playground), so that `recap 7d #nope` is answered at once instead of by a job."""

    name: str

    async def find_channel(self, place: Place, reference: str) -> str | None:
        """The id of the channel that `reference` (an id, or a name as typed, without `#`)
        names in `place`'s workspace, or None when there is none the bot can see. Raises
        when the platform cannot tell."""
        ...


@runtime_checkable
class MarkedPosting(Protocol):
    """A platform that can mark a post with its delivery key and find it again (Slack:
    message metadata), so that a delivery retried after a crash does not post twice."""

    name: str

    async def post_marked(
        self, target: ReplyTarget, reply: Reply, *, key: str, since: datetime | None
    ) -> str:
        """Post `reply` marked with `key`. `since` is set on a retried delivery that may
        have been accepted before a crash: look for the marked post (made after `since`)
        first and post only what is missing. Returns the first message's id."""
        ...
