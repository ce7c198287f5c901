"""The Teams activity handler: each activity becomes one core call.

A command is anything in the 1:1 chat, or a message that mentions the bot; everything else
the bot sees (channel messages, with the manifest's resource-specific permissions) is
stored for later recaps, and audio or video in it is transcribed when the channel allows.
Event keys are activity ids, so a redelivered activity is a duplicate for the core and
gets no second reply. Immediate answers are sent in the turn; jobs post proactively.
"""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    ActivityEventNames,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
)

from adapters.teams import cards
from adapters.teams import sentences as teams_sentences
from adapters.teams.activities import (
    Conversation,
    addresses_bot,
    chat_message,
    command_text,
    conversation_of,
    is_from_bot,
    mentioned_people,
    speaker_pick,
    timezone_of,
)
from adapters.teams.item_actions import ItemClicks
from adapters.teams.meetings import MeetingRecaps
from adapters.teams.platform import TeamsPlatform
from bot.inbound import CommandRequest, InboundPort, Outcome, is_media
from bot.ports import ChatMessage

log = logging.getLogger(__name__)


def event_key(conversation: Conversation, activity_id: str) -> str:
    return f"teams:{conversation.tenant}:{conversation.key}:{activity_id}"


def file_key(conversation: Conversation, file_id: str) -> str:
    """One transcription per file and conversation, whichever activity brings it first."""
    return f"teams:{conversation.tenant}:file:{conversation.key}:{file_id}"


class TeamsBot(TeamsActivityHandler):
    def __init__(
        self, *, core: InboundPort, platform: TeamsPlatform, meetings: MeetingRecaps | None = None
    ) -> None:
        super().__init__()
        self.core = core
        self.platform = platform
        self.meetings = meetings
        self.items = ItemClicks(core=core, platform=platform)

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if (
            activity.conversation is not None
            and activity.name != ActivityEventNames.continue_conversation
        ):
            conversation = conversation_of(activity)
            if conversation.tenant and activity.service_url:
                await self.platform.references.remember(conversation, activity)
        await super().on_turn(turn_context)

    # --- messages ---------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if is_from_bot(activity):
            return
        conversation = conversation_of(activity)
        message = chat_message(activity, conversation)
        if activity.value is not None and not (activity.text or "").strip():
            await self._picked(turn_context, conversation, message)
        elif addresses_bot(activity):
            await self._command(turn_context, conversation, message)
        else:
            await self._conversation(conversation, message)

    async def _command(
        self, turn_context: TurnContext, conversation: Conversation, message: ChatMessage
    ) -> None:
        activity = turn_context.activity
        text = command_text(activity)
        media = [f for f in message.files if is_media(f)]
        if not text and media:
            text = "transcribe"  # a recording sent to the bot, or the bot mentioned on one
        await self.core.claim_media(media, lambda file_id: file_key(conversation, file_id))
        request = CommandRequest(
            place=conversation.place(message.thread),
            user_id=message.author_id or "",
            text=text,
            event_key=event_key(conversation, message.id),
            message_id=message.id,
            files=message.files,
            via="mention",
            timezone=timezone_of(activity),
            mentions=mentioned_people(activity),
        )
        outcome = await self.core.handle_command(request)
        await self._show(turn_context, outcome)

    async def _picked(
        self, turn_context: TurnContext, conversation: Conversation, message: ChatMessage
    ) -> None:
        """A transcript card's speaker picker was submitted: the same as typing
        `@balafon speaker N is @them` in the transcript's thread."""
        activity = turn_context.activity
        pick = speaker_pick(activity.value, cards.SPEAKER_ACTION)
        if pick is None or not message.author_id:
            log.info("ignored a card submit that is not a speaker pick (%s)", activity.id)
            return
        label, picked = pick
        request = CommandRequest(
            place=conversation.place(message.thread),
            user_id=message.author_id,
            text=f"{label.lower()} is @{picked}",
            event_key=event_key(conversation, message.id),
            message_id=message.id,
            via="menu",
            mentions={f"@{picked}": picked},
        )
        await self._show(turn_context, await self.core.handle_command(request))

    async def _show(self, turn_context: TurnContext, outcome: Outcome) -> None:
        """The core's immediate answer, in the turn. The event is already claimed, so a
        failure here is logged rather than answered 500 (a retry would be a duplicate)."""
        if outcome.duplicate:
            return
        try:
            if outcome.reply is not None:
                await turn_context.send_activities(cards.render(outcome.reply))
            elif outcome.ack:
                await turn_context.send_activity(MessageFactory.text(outcome.ack))
        except Exception:
            log.exception("could not answer activity %s in its turn", turn_context.activity.id)

    async def _conversation(self, conversation: Conversation, message: ChatMessage) -> None:
        """A message the bot overhears: stored, and its recordings transcribed."""
        place = conversation.place()
        await self.core.record_message(place, message)
        for file in message.files:
            if not is_media(file):
                continue
            await self.core.handle_shared_files(
                CommandRequest(
                    place=conversation.place(message.thread),
                    user_id=message.author_id or "",
                    text="",
                    event_key=file_key(conversation, file.id),
                    message_id=message.id,
                    files=(file,),
                    via="file",
                )
            )

    async def on_teams_message_edit(self, turn_context: TurnContext) -> None:
        conversation = conversation_of(turn_context.activity)
        message = chat_message(turn_context.activity, conversation)
        if not message.from_bot:
            await self.core.record_edit(conversation.place(), message)

    on_teams_message_undelete = on_teams_message_edit

    async def on_teams_message_soft_delete(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.id:
            await self.core.record_delete(conversation_of(activity).place(), activity.id)

    # --- action item buttons (Universal Actions) -------------------------------------

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        """An item's Action.Execute: answered with the refreshed card (item_actions.py)."""
        return await self.items.answer(turn_context, invoke_value.action)

    # --- members: nothing to do (references are stored in on_turn, the welcome comes with
    # the installation); botbuilder's defaults would look every member up on the connector.

    async def on_teams_members_added_dispatch(self, *args: Any) -> None:
        return None

    async def on_teams_members_removed_dispatch(self, *args: Any) -> None:
        return None

    # --- installs and meetings --------------------------------------------------------

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        """The reference is stored (on_turn); greet in a 1:1 chat, stay quiet elsewhere."""
        if conversation_of(turn_context.activity).is_personal:
            await turn_context.send_activity(MessageFactory.text(teams_sentences.WELCOME))

    async def on_teams_meeting_end_event(self, meeting: Any, turn_context: TurnContext) -> None:
        if self.meetings is None:
            log.info("a meeting ended, but meeting recaps are off (no Graph credentials)")
            return
        await self.meetings.meeting_ended(turn_context, meeting)
