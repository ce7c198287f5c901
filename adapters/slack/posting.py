"""Posting to Slack: replies as Block Kit messages (ephemeral, through a slash command's
response URL, or uploaded as a file when too long), edits, and marked posts that a
delivery retried after a crash finds again instead of posting twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import blocks, sentences
from adapters.slack.connection import SlackConnection, retry_handlers
from adapters.slack.text import datetime_to_ts
from bot.errors import PermanentJobError, TransientJobError
from bot.ports import Place, Reply, ReplyTarget, TranscriptReply

log = logging.getLogger(__name__)
NOT_READABLE = {"not_in_channel", "channel_not_found", "missing_scope"}

# Message metadata marking a post with its delivery key (see `post_marked`).
MARK_EVENT = "balafon_delivery"
# How far before a delivery began its retry looks for its post (clocks differ a little).
MARK_MARGIN = timedelta(minutes=2)


def mark(key: str, part: int) -> dict[str, Any]:
    return {"event_type": MARK_EVENT, "event_payload": {"key": key, "part": part}}


@dataclass
class Marked:
    """What a retried delivery finds already posted: message ids by part, or the file."""

    parts: dict[int, str] = field(default_factory=dict)
    file_id: str | None = None


class SlackPosting(SlackConnection):
    """The writing half of the Slack platform."""

    # --- writing ----------------------------------------------------------------------

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        return await self._post(target, reply)

    async def _post(
        self,
        target: ReplyTarget,
        reply: Reply,
        *,
        key: str | None = None,
        earlier: Marked | None = None,
    ) -> str:
        """Post `reply`; with `key`, each message carries it in its metadata, and the
        parts (or the file) found in `earlier` are not posted again."""
        place = target.place
        _, client = await self.me(place.workspace)
        if isinstance(reply, TranscriptReply) and not target.ephemeral_to:
            text = blocks.transcript_text(reply)
            if len(text) > blocks.INLINE_TRANSCRIPT_CHARS:
                if earlier is not None and earlier.file_id:
                    return f"file:{earlier.file_id}"
                return await self._upload(client, place, reply, text)
        payloads = blocks.render(reply)
        if target.ephemeral_to:  # cannot carry a file: the first messages only
            return await self._post_ephemeral(client, target, payloads[: blocks.MAX_MESSAGES])
        overflow = len(payloads) > blocks.MAX_MESSAGES
        if overflow:  # a few messages in the thread, then the whole reply as a file
            payloads = payloads[: blocks.MAX_MESSAGES - 1]
        first: str | None = None
        for part, payload in enumerate(payloads):
            if earlier is not None and part in earlier.parts:
                first = first or earlier.parts[part]
                continue
            try:
                found = await client.chat_postMessage(
                    channel=place.channel,
                    thread_ts=place.thread,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata=mark(key, part) if key else None,
                    text=payload["text"],
                    blocks=payload["blocks"],
                )
            except SlackApiError as exc:
                if exc.response.get("error") in NOT_READABLE and target.response_url:
                    # A slash command in a channel the bot is not in: answer through it.
                    await self._respond(target.response_url, payloads, "in_channel")
                    return f"response:{target.response_url[-24:]}"
                raise
            first = first or found["ts"]
        if overflow and not (earlier is not None and earlier.file_id):
            name, text = blocks.overflow_file(reply)
            await self._upload_text(client, place, name, text, sentences.REST_IN_FILE)
        assert first is not None
        return first

    async def _post_ephemeral(
        self, client: AsyncWebClient, target: ReplyTarget, payloads: list[blocks.Message]
    ) -> str:
        if target.response_url:
            await self._respond(target.response_url, payloads, "ephemeral")
            return f"ephemeral:{target.response_url[-24:]}"
        first = None
        for payload in payloads:
            found = await client.chat_postEphemeral(
                channel=target.place.channel,
                user=target.ephemeral_to or "",
                thread_ts=target.place.thread,
                text=payload["text"],
                blocks=payload["blocks"],
            )
            first = first or found.get("message_ts")
        return f"ephemeral:{first}"

    async def _respond(self, url: str, payloads: list[blocks.Message], response_type: str) -> None:
        if not self.hosts.is_slack(url):
            raise PermanentJobError("The reply address Slack gave is not a Slack address.")
        hook = AsyncWebhookClient(url, session=self.session, retry_handlers=retry_handlers())
        for payload in payloads:
            answer = await hook.send(response_type=response_type, replace_original=False, **payload)
            if answer.status_code == 429 or answer.status_code >= 500:
                raise TransientJobError(f"response_url: HTTP {answer.status_code}")  # retried
            if answer.status_code >= 400:  # expired or used up: it never comes back
                raise PermanentJobError(sentences.RESPONSE_URL_GONE)

    async def _upload(
        self, client: AsyncWebClient, place: Place, reply: TranscriptReply, text: str
    ) -> str:
        """A long transcript goes into the thread as a text file."""
        comment = blocks.transcript_summary(reply)
        return await self._upload_text(client, place, reply.filename, text, comment)

    async def _upload_text(
        self, client: AsyncWebClient, place: Place, filename: str, text: str, comment: str
    ) -> str:
        found = await client.files_upload_v2(
            channel=place.channel,
            thread_ts=place.thread,
            content=text,
            filename=filename,
            title=filename,
            initial_comment=blocks.guard(comment),
        )
        return f"file:{found['file']['id']}"

    async def update(self, target: ReplyTarget, message_id: str, reply: Reply) -> None:
        if ":" in message_id:  # ephemeral posts and files cannot be edited
            await self.post(target, reply)
            return
        _, client = await self.me(target.place.workspace)
        payload = blocks.render(reply)[0]
        await client.chat_update(channel=target.place.channel, ts=message_id, **payload)

    async def update_item_message(
        self, target: ReplyTarget, message_id: str, reply: Reply, item_id: int
    ) -> None:
        """Replace the message a clicked item is on with the part of `reply` that holds
        the item (a long list spans several messages)."""
        _, client = await self.me(target.place.workspace)
        payload = blocks.part_with_item(blocks.render(reply), item_id)
        await client.chat_update(channel=target.place.channel, ts=message_id, **payload)

    async def replace_ephemeral(self, url: str, reply: Reply, item_id: int) -> None:
        """An ephemeral message (`my items`) is replaced through the click's response URL."""
        if not self.hosts.is_slack(url):
            log.warning("a click's response URL is not Slack's: not used")
            return
        payload = blocks.part_with_item(blocks.render(reply), item_id)
        hook = AsyncWebhookClient(url, session=self.session, retry_handlers=retry_handlers())
        await hook.send(replace_original=True, **payload)

    # --- marked posts: a delivery retried after a crash finds what was posted -----------

    async def post_marked(
        self, target: ReplyTarget, reply: Reply, *, key: str, since: datetime | None
    ) -> str:
        """Post with the delivery key in each message's metadata. On a retried delivery
        (`since` set), first read the thread (or the channel) from shortly before `since`
        and skip what the bot already posted under that key."""
        earlier = None
        if since is not None and not target.ephemeral_to:
            try:
                earlier = await self._find_marked(target, key, reply, since)
            except SlackApiError as exc:  # unreadable: a duplicate beats a lost reply
                log.warning("cannot look for delivery %s: %s", key, exc.response.get("error"))
        return await self._post(target, reply, key=key, earlier=earlier)

    async def _find_marked(
        self, target: ReplyTarget, key: str, reply: Reply, since: datetime
    ) -> Marked:
        place = target.place
        me, client = await self.me(place.workspace)
        oldest = datetime_to_ts(since - MARK_MARGIN)
        if place.thread:
            raws = await self._pages(
                client.conversations_replies,
                "messages",
                channel=place.channel,
                ts=place.thread,
                oldest=oldest,
                include_all_metadata=True,
                limit=200,
            )
        else:
            raws = await self._pages(
                client.conversations_history,
                "messages",
                channel=place.channel,
                oldest=oldest,
                include_all_metadata=True,
                limit=200,
            )
        found = Marked()
        filename = blocks.overflow_file(reply)[0]
        for raw in raws:
            mine = (me.bot_id and raw.get("bot_id") == me.bot_id) or (
                me.bot_user_id and raw.get("user") == me.bot_user_id
            )
            if not mine or float(raw.get("ts") or 0) < float(oldest):
                continue
            meta = raw.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == MARK_EVENT and payload.get("key") == key:
                found.parts.setdefault(int(payload.get("part") or 0), raw["ts"])
            # Uploads carry no metadata: a file of the same name the bot shared here since
            # the delivery began is taken to be it.
            for file in raw.get("files") or []:
                if filename and file.get("name") == filename and not found.file_id:
                    found.file_id = file.get("id")
        return found
