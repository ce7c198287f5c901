"""bolt listeners: each turns one Slack request into a core call, then lets bolt ack.

The app runs with `process_before_response=True`, so a listener's durable work (the
core writes one job row) is done before Slack gets its 200; anything that needs Slack's
Web API (acks in the thread, names for stored messages, file lookups) is spawned in the
background. Event keys are Slack's event ids (slash commands and shortcuts: trigger ids),
so a retried event is a duplicate for the core and produces no second reply.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from adapters.slack import blocks
from adapters.slack.item_clicks import ACTION_IDS, ItemClicks
from adapters.slack.platform import CONVERSATION_SUBTYPES, SlackPlatform, file_ref
from adapters.slack.text import addresses, command_text, mentioned_people
from bot.background import Background
from bot.commands import slash_text
from bot.inbound import CommandRequest, InboundPort, Outcome, files_for_command, is_media
from bot.ports import FileRef, Place, ReplyTarget, TextReply

PLATFORM = "slack"
SLASH_COMMAND = "/recap"
SHORTCUT_CALLBACK_ID = "summarize_thread"
_NEEDS_TIMEZONE = re.compile(
    r"\b(since|from|today|yesterday|week|morning|digest|\d{4}-\d\d-\d\d|"
    r"mon|tue|wed|thu|fri|sat|sun)",
    re.IGNORECASE,
)
LOOKUP_TIMEOUT = 1.0  # seconds of Web API time a listener may spend before the ack


def file_key(team: str, channel: str, file_id: str) -> str:
    """One transcription per file and channel, whichever event reports the file first."""
    return f"slack:{team}:file:{channel}:{file_id}"


def _team(body: dict[str, Any], context: AsyncBoltContext) -> str:
    return (
        context.team_id
        or body.get("team_id")
        or (body.get("team") or {}).get("id")
        or context.enterprise_id
        or ""
    )


def _is_self(raw: dict[str, Any], context: AsyncBoltContext) -> bool:
    user, bot = raw.get("user"), raw.get("bot_id")
    return bool((user and user == context.bot_user_id) or (bot and bot == context.bot_id))


class Listeners:
    def __init__(
        self, *, core: InboundPort, platform: SlackPlatform, background: Background
    ) -> None:
        self.core = core
        self.platform = platform
        self.background = background
        self.items = ItemClicks(core=core, platform=platform)

    def register(self, app: AsyncApp) -> None:
        # bolt passes arguments by parameter name and would count a bound method's `self`,
        # so each listener is a plain function.
        async def app_mention(event: dict, body: dict, context: AsyncBoltContext) -> None:
            await self.on_mention(event, body, context)

        async def message(event: dict, body: dict, context: AsyncBoltContext) -> None:
            await self.on_message(event, body, context)

        async def file_shared(event: dict, body: dict, context: AsyncBoltContext) -> None:
            await self.on_file_shared(event, body, context)

        async def file_deleted(event: dict, body: dict, context: AsyncBoltContext) -> None:
            await self.on_file_deleted(event, body, context)

        async def slash_command(ack: AsyncAck, command: dict, context: AsyncBoltContext) -> None:
            await self.on_slash(ack, command, context)

        async def message_shortcut(
            ack: AsyncAck, shortcut: dict, context: AsyncBoltContext
        ) -> None:
            await self.on_shortcut(ack, shortcut, context)

        async def speaker_menu(
            ack: AsyncAck, body: dict, action: dict, context: AsyncBoltContext
        ) -> None:
            await ack()  # at once: the naming is a job
            self.background.spawn(self.on_speaker_menu(body, action, context), what="menu")

        async def item_click(
            ack: AsyncAck, body: dict, action: dict, context: AsyncBoltContext
        ) -> None:
            await ack()  # within Slack's 3 s: the change and the update follow
            clicked = self.items.on_click(_team(body, context), body, action)
            self.background.spawn(clicked, what="item click")

        async def other_event() -> None:
            return None  # subscribed (or sent) but unused: acknowledged, nothing else

        app.event("app_mention")(app_mention)
        app.event("message")(message)
        app.event("file_shared")(file_shared)
        app.event("file_deleted")(file_deleted)
        app.command(SLASH_COMMAND)(slash_command)
        app.shortcut(SHORTCUT_CALLBACK_ID)(message_shortcut)
        app.action(blocks.SPEAKER_ACTION)(speaker_menu)
        app.action(ACTION_IDS)(item_click)
        app.event(re.compile(".*"))(other_event)

    # --- helpers ----------------------------------------------------------------------

    async def _timezone(self, team: str, user: str | None, text: str) -> str | None:
        """The requester's zone, when the window needs one (`since Monday`), if Slack says
        it quickly; the core's default zone otherwise."""
        if not user or not _NEEDS_TIMEZONE.search(text):
            return None
        try:
            _, zone = await asyncio.wait_for(self.platform.person(team, user), LOOKUP_TIMEOUT)
        except Exception:
            return None
        return zone

    def _show(self, outcome: Outcome, target: ReplyTarget, user: str | None, key: str) -> None:
        """Post the core's immediate answer after the ack: a reply in the thread, or the
        acknowledgement visible to the requester only."""
        if outcome.duplicate:
            return
        if outcome.reply is not None:
            self.background.spawn(
                self.core.deliver(f"{key}:reply", self.platform, target, outcome.reply),
                what=f"reply to {key}",
            )
        elif outcome.ack and user:
            ephemeral = ReplyTarget(place=target.place, ephemeral_to=user)
            self.background.spawn(
                self.platform.post(ephemeral, TextReply(text=outcome.ack)),
                what=f"ack of {key}",
            )

    async def _command(
        self,
        *,
        team: str,
        event: dict[str, Any],
        key: str,
        bot_user_id: str | None,
    ) -> None:
        """A message addressed to the bot (a mention, or any message in its DM)."""
        channel, ts, thread = event["channel"], event["ts"], event.get("thread_ts")
        place = Place(platform=PLATFORM, workspace=team, channel=channel, thread=thread)
        text = command_text(event.get("text", ""), bot_user_id)
        files: tuple[FileRef, ...] = tuple(
            file_ref(f) for f in event.get("files") or [] if f.get("id")
        )
        files = await files_for_command(text, files, thread, lambda: self._thread_files(place))
        await self.core.claim_media(files, lambda file_id: file_key(team, channel, file_id))
        user = event.get("user")
        request = CommandRequest(
            place=place,
            user_id=user or "",
            text=text,
            event_key=key,
            message_id=ts,
            files=files,
            via="mention",
            timezone=await self._timezone(team, user, text),
            mentions=mentioned_people(event.get("text", ""), bot_user_id),
        )
        outcome = await self.core.handle_command(request)
        self._show(outcome, ReplyTarget(place=replace(place, thread=thread or ts)), user, key)

    async def _thread_files(self, place: Place) -> tuple[FileRef, ...]:
        """`transcribe` as a reply: the recording is on the thread's first message."""
        try:
            root = await asyncio.wait_for(self.platform.thread_root(place), LOOKUP_TIMEOUT * 2)
        except Exception:
            return ()
        return tuple(file_ref(f) for f in (root or {}).get("files") or [] if f.get("id"))

    # --- Events API -------------------------------------------------------------------

    async def on_mention(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        team = _team(body, context)
        key = f"slack:{team}:{body.get('event_id') or event['ts']}"
        await self._command(team=team, event=event, key=key, bot_user_id=context.bot_user_id)

    async def on_message(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        team = _team(body, context)
        subtype = event.get("subtype")
        place = Place(platform=PLATFORM, workspace=team, channel=event.get("channel", ""))
        if subtype == "message_changed":
            changed = event.get("message") or {}
            await self._files_gone(place, event.get("previous_message"), changed)
            if changed.get("subtype") == "tombstone":  # a deleted thread root
                await self.core.record_delete(place, changed["ts"])
            elif not _is_self(changed, context) and changed.get("ts"):
                self.background.spawn(self._record(team, place, changed, edit=True), what="edit")
            return
        if subtype == "message_deleted":
            await self._files_gone(place, event.get("previous_message"), {})
            await self.core.record_delete(place, event["deleted_ts"])
            return
        if subtype not in CONVERSATION_SUBTYPES or _is_self(event, context) or "ts" not in event:
            return
        text = event.get("text", "")
        if event.get("channel_type") == "im" and not event.get("bot_id"):
            key = f"slack:{team}:{body.get('event_id') or event['ts']}"
            await self._command(team=team, event=event, key=key, bot_user_id=context.bot_user_id)
            return
        if addresses(text, context.bot_user_id):
            return  # a command: its app_mention event handles it
        await self._auto_transcribe(team, event)
        self.background.spawn(self._record(team, place, event), what="store message")

    async def _files_gone(
        self, place: Place, before: dict[str, Any] | None, after: dict[str, Any]
    ) -> None:
        """Files a message no longer carries (deleted with it, or edited off it): their
        transcripts leave the channel's history."""
        kept = {f.get("id") for f in after.get("files") or [] if f.get("mode") != "tombstone"}
        for raw in (before or {}).get("files") or []:
            if raw.get("id") and raw["id"] not in kept:
                await self.core.record_file_deleted(place, raw["id"])

    async def on_file_deleted(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if file_id := event.get("file_id"):
            place = Place(platform=PLATFORM, workspace=_team(body, context), channel="")
            await self.core.record_file_deleted(place, file_id)

    async def _record(
        self, team: str, place: Place, raw: dict[str, Any], *, edit: bool = False
    ) -> None:
        for message in await self.platform.chat_messages(team, [raw]):
            if edit:
                await self.core.record_edit(place, message)
            else:
                await self.core.record_message(place, message)

    async def _auto_transcribe(self, team: str, event: dict[str, Any]) -> None:
        channel = event["channel"]
        place = Place(
            platform=PLATFORM, workspace=team, channel=channel, thread=event.get("thread_ts")
        )
        for raw in event.get("files") or []:
            file = file_ref(raw) if raw.get("id") else None
            if file is None or not is_media(file):
                continue
            await self.core.handle_shared_files(
                CommandRequest(
                    place=place,
                    user_id=event.get("user") or "",
                    text="",
                    event_key=file_key(team, channel, file.id),
                    message_id=event["ts"],
                    files=(file,),
                    via="file",
                )
            )

    async def on_file_shared(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """The same file also arrives as a message; this covers shares without one we see."""
        channel = event.get("channel_id")
        if not channel or event.get("user_id") in (context.bot_user_id, None):
            return
        team = _team(body, context)
        self.background.spawn(
            self._shared_file(team, channel, event["file_id"], event["user_id"]),
            what=f"file_shared {event['file_id']}",
        )

    async def _shared_file(self, team: str, channel: str, file_id: str, user: str) -> None:
        info = await self.platform.file_info(team, file_id)
        file = file_ref(info)
        if not is_media(file):
            return
        shares = info.get("shares") or {}
        found = [
            share
            for kind in ("public", "private")
            for share in (shares.get(kind) or {}).get(channel, [])
        ]
        share = found[0] if found else {}
        place = Place(
            platform=PLATFORM, workspace=team, channel=channel, thread=share.get("thread_ts")
        )
        await self.core.handle_shared_files(
            CommandRequest(
                place=place,
                user_id=user,
                text="",
                event_key=file_key(team, channel, file_id),
                message_id=share.get("ts"),
                files=(file,),
                via="file",
            )
        )

    # --- slash command and shortcut ---------------------------------------------------

    async def on_slash(
        self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        team = command.get("team_id") or context.team_id or ""
        raw = (command.get("text") or "").strip()
        text = slash_text(command_text(raw, None))
        user = command["user_id"]
        request = CommandRequest(
            place=Place(platform=PLATFORM, workspace=team, channel=command["channel_id"]),
            user_id=user,
            text=text,
            event_key=f"slack:{team}:slash:{command['trigger_id']}",
            via="slash",
            response_url=command.get("response_url"),
            timezone=await self._timezone(team, user, text),
        )
        outcome = await self.core.handle_command(request)
        if outcome.reply is not None:
            payload = blocks.render(outcome.reply)[0]
            await ack(response_type="ephemeral", **payload)
        elif outcome.ack:
            await ack(response_type="ephemeral", text=outcome.ack)
        else:
            await ack()

    async def on_shortcut(
        self, ack: AsyncAck, shortcut: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """The "Summarize thread" shortcut on any message: recap the thread it belongs to."""
        team = (shortcut.get("team") or {}).get("id") or context.team_id or ""
        message = shortcut.get("message") or {}
        channel = (shortcut.get("channel") or {}).get("id") or ""
        thread = message.get("thread_ts") or message.get("ts")
        place = Place(platform=PLATFORM, workspace=team, channel=channel, thread=thread)
        user = (shortcut.get("user") or {}).get("id")
        key = f"slack:{team}:shortcut:{shortcut['trigger_id']}"
        request = CommandRequest(
            place=place,
            user_id=user or "",
            text="recap",
            event_key=key,
            message_id=message.get("ts"),
            via="shortcut",
        )
        outcome = await self.core.handle_command(request)
        await ack()
        self._show(outcome, ReplyTarget(place=place), user, key)

    # --- interactivity ----------------------------------------------------------------

    async def on_speaker_menu(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """Someone picked a person in a transcript's speaker menu: the same as typing
        `@balafon speaker N is @them` in the transcript's thread."""
        label = str(action.get("block_id") or "").removeprefix(blocks.SPEAKER_BLOCK)
        picked, user = action.get("selected_user"), (body.get("user") or {}).get("id")
        number = label.rsplit(" ", 1)[-1]
        if not picked or not user or not number.isdigit():
            return  # cleared, or not one of our menus
        team = _team(body, context)
        container, message = body.get("container") or {}, body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
        thread = message.get("thread_ts") or container.get("message_ts")
        place = Place(platform=PLATFORM, workspace=team, channel=channel, thread=thread)
        key = f"slack:{team}:menu:{action.get('action_ts')}:{user}"
        request = CommandRequest(
            place=place,
            user_id=user,
            text=f"speaker {number} is @{picked}",
            event_key=key,
            via="menu",
            mentions={f"@{picked}": picked},
        )
        outcome = await self.core.handle_command(request)
        self._show(outcome, ReplyTarget(place=place), user, key)
