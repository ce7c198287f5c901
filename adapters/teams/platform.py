"""The core's `ChatPlatform` on Teams: posts and edits through botbuilder's adapter
(proactively, from stored conversation references), files over httpx, history through
Microsoft Graph when it is configured."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ConversationReference

from adapters.teams import cards, downloads, sentences
from adapters.teams.activities import PLATFORM
from adapters.teams.credentials import TokenSource
from adapters.teams.downloads import (
    GRAPH_REF,
    MICROSOFT_FILE_HOSTS,
    DownloadPolicy,
    DownloadRefusedError,
)
from adapters.teams.errors import HistoryUnavailableError, NoConversationError
from adapters.teams.graph import RECORDING_PATH, GraphClient, GraphError, chat_message
from adapters.teams.options import TeamsOptions
from adapters.teams.private import TeamsPrivate
from adapters.teams.references import ConversationStore, StoredConversation
from bot.errors import PermanentJobError
from bot.ports import ChatMessage, FileRef, Place, RecapReply, Reply, ReplyTarget, TranscriptReply
from summarizer.errors import MediaError

log = logging.getLogger(__name__)

# Hosts that may receive the bot's token when a file link points at them (https; besides
# URLs under the conversation's own service URL): the Bot Framework connector's clouds.
CONNECTOR_HOSTS = (
    "smba.trafficmanager.net",
    "botframework.com",
    "teams.microsoft.com",
    "teams.microsoft.us",
    "botframework.azure.us",
)
DEEP_LINK = "https://teams.microsoft.com/l/message/"
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0


def _status(exc: Exception) -> int | None:
    """The HTTP status of a connector error (msrest keeps the requests response)."""
    return getattr(getattr(exc, "response", None), "status_code", None)


async def _connector_call(call: Callable[[], Awaitable[Any]]) -> Any:
    """One connector call, retried on 429 after Retry-After (msrest itself retries 5xx
    but not 429); a conversation the bot was removed from is a permanent failure."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await call()
        except Exception as exc:
            status = _status(exc)
            if status in (403, 404):
                raise NoConversationError(sentences.NO_CONVERSATION) from exc
            if status != 429 or attempt == MAX_ATTEMPTS:
                raise
            headers = getattr(getattr(exc, "response", None), "headers", None) or {}
            try:
                delay = float(headers.get("Retry-After", ""))
            except ValueError:
                delay = 2.0**attempt
            await asyncio.sleep(min(delay, MAX_RETRY_AFTER))
    raise AssertionError("unreachable")  # pragma: no cover


class TeamsPlatform(TeamsPrivate):
    name = PLATFORM
    managers = sentences.MANAGERS
    # What the help leaves out (no `#other-channel` on Teams) and adds (see bot.inbound.HelpNotes).
    capabilities: frozenset[str] = frozenset()
    help_notes: tuple[str, ...] = (
        sentences.HELP_MEETINGS_OFF,
        "",
        sentences.HELP_TEAMS_NOTE,
    )

    def __init__(
        self,
        *,
        bot_adapter: BotAdapter,
        references: ConversationStore,
        options: TeamsOptions,
        tokens: TokenSource | None,
        graph: GraphClient | None = None,
    ) -> None:
        self.bot_adapter = bot_adapter
        self.references = references
        self.options = options
        self.tokens = tokens
        self.graph = graph
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(options.http_timeout_seconds, connect=10.0),
            verify=options.tls_verify(),
            trust_env=options.trust_env,
            follow_redirects=True,
        )
        # File links: redirects checked hop by hop, and no connection kept (each one is
        # made to an address checked for that host).
        self.downloads = httpx.AsyncClient(
            timeout=httpx.Timeout(options.http_timeout_seconds, connect=10.0),
            verify=options.tls_verify(),
            trust_env=options.trust_env,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self.downloads.aclose()
        if self.graph is not None:
            await self.graph.close()

    async def conversation(self, place: Place) -> StoredConversation:
        stored = await self.references.get(place.workspace, place.channel)
        if stored is None:
            raise NoConversationError(sentences.NO_CONVERSATION)
        return stored

    async def bot_token(self) -> str | None:
        if self.tokens is None or self.options.anonymous:
            return None
        return await self.tokens.token(self.options.authority, self.options.oauth_scope)

    # --- writing ----------------------------------------------------------------------

    async def _run(
        self, reference: ConversationReference, logic: Callable[[TurnContext], Awaitable[None]]
    ) -> None:
        async def callback(turn_context: TurnContext) -> None:
            # A proactive post is a new message, not a reply to the synthetic event.
            turn_context.activity.id = None
            await logic(turn_context)

        await self.bot_adapter.continue_conversation(
            reference, callback, self.options.app_id or None
        )

    async def send(self, reference: ConversationReference, activities: list[Activity]) -> list[str]:
        ids: list[str] = []

        async def logic(turn_context: TurnContext) -> None:
            for activity in activities:
                response = await _connector_call(partial(turn_context.send_activity, activity))
                ids.append((response.id if response else None) or "")

        await self._run(reference, logic)
        return ids

    async def _destination(
        self, target: ReplyTarget, reply: Reply
    ) -> tuple[StoredConversation, str | None]:
        stored = await self.conversation(target.place)
        if not target.ephemeral_to:
            return stored, target.place.thread
        # Teams has no message only one person sees: use the requester's 1:1 chat.
        personal = await self.references.personal(target.place.workspace, target.ephemeral_to)
        if personal is not None:
            return personal, None
        if isinstance(reply, RecapReply | TranscriptReply):
            raise PermanentJobError(sentences.NO_PRIVATE_CHAT)
        return stored, target.place.thread

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        stored, thread = await self._destination(target, reply)
        names = {target.place.channel: stored.name or "this conversation"}
        ids = await self.send(stored.reference_for(thread), cards.render(reply, names=names))
        return ids[0]

    async def update(self, target: ReplyTarget, message_id: str, reply: Reply) -> None:
        stored, thread = await self._destination(target, reply)
        names = {target.place.channel: stored.name or "this conversation"}
        first, *rest = cards.render(reply, names=names)
        first.id = message_id
        if isinstance(reply, RecapReply) and reply.items:
            # An item's change re-renders its recap, often: the rest of a recap too long
            # for one card was posted with it, and is not posted again at each change.
            rest = []

        async def logic(turn_context: TurnContext) -> None:
            await _connector_call(lambda: turn_context.update_activity(first))
            for activity in rest:  # an update that grew past one card continues below it
                await _connector_call(partial(turn_context.send_activity, activity))

        await self._run(stored.reference_for(thread), logic)

    # --- reading ----------------------------------------------------------------------

    async def fetch_messages(
        self,
        place: Place,
        *,
        oldest: datetime | None = None,
        latest: datetime | None = None,
    ) -> list[ChatMessage]:
        if self.graph is None:
            raise HistoryUnavailableError(sentences.NO_HISTORY)
        stored = await self.conversation(place)
        tenant = place.workspace
        try:
            if stored.is_channel:
                group = stored.team_group_id or await self._team_group(stored)
                if place.thread:
                    raws = await self.graph.thread(
                        tenant, group, stored.conversation_id, place.thread
                    )
                else:
                    raws = await self.graph.channel(tenant, group, stored.conversation_id, oldest)
            elif stored.kind == "personal":
                raise HistoryUnavailableError(sentences.NO_HISTORY)
            else:
                raws = await self.graph.chat(tenant, stored.conversation_id, oldest)
        except GraphError as exc:
            if exc.status in (401, 403, 404):
                text = sentences.HISTORY_REFUSED.format(status=exc.status)
                raise HistoryUnavailableError(text) from exc
            raise
        found = []
        for raw in raws:
            if self._addresses_me(raw):
                continue  # commands to the bot are not conversation
            message = chat_message(raw)
            if message is None:
                continue
            if not place.thread and (
                (oldest and message.at < oldest) or (latest and message.at > latest)
            ):
                continue
            found.append(message)
        return sorted(found, key=lambda m: m.at)

    def _addresses_me(self, raw: dict[str, Any]) -> bool:
        app_id = self.options.app_id
        for mention in raw.get("mentions") or []:
            application = (mention.get("mentioned") or {}).get("application") or {}
            if app_id and application.get("id") == app_id:
                return True
        return False

    async def connector_get(self, stored: StoredConversation, path: str) -> httpx.Response:
        """GET a connector resource of the conversation's service (meetings, teams)."""
        token = await self.bot_token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = stored.service_url.rstrip("/") + "/" + path.lstrip("/")
        return await self.http.get(url, headers=headers)

    async def _team_group(self, stored: StoredConversation) -> str:
        """The team's Microsoft 365 group id (Graph's team id), from the connector."""
        if not stored.team_id:
            raise HistoryUnavailableError(sentences.NO_HISTORY)
        response = await self.connector_get(stored, f"v3/teams/{quote(stored.team_id)}")
        response.raise_for_status()
        group = response.json().get("aadGroupId")
        if not group:
            raise HistoryUnavailableError(sentences.NO_HISTORY)
        await self.references.set_team_group(stored, group)
        return group

    async def permalink(self, place: Place, message_id: str) -> str | None:
        stored = await self.references.get(place.workspace, place.channel)
        if stored is None or stored.kind == "personal" or not message_id.isdigit():
            return None
        url = DEEP_LINK + quote(stored.conversation_id, safe="") + "/" + quote(message_id)
        if stored.is_channel:
            query = {"tenantId": place.workspace, "parentMessageId": place.thread or message_id}
            if stored.team_group_id:
                query["groupId"] = stored.team_group_id
        else:
            query = {"context": '{"contextType":"chat"}'}
        return f"{url}?{urlencode(query)}"

    async def _member(self, place: Place, user_id: str) -> httpx.Response | None:
        """The connector's roster entry of a person (Teams or Entra id) where `place` is."""
        stored = await self.references.get(place.workspace, place.channel)
        if stored is None or not user_id:
            return None
        roster = stored.team_id if stored.is_channel and stored.team_id else stored.conversation_id
        try:
            return await self.connector_get(
                stored,
                f"v3/conversations/{quote(roster, safe='')}/members/{quote(user_id, safe='')}",
            )
        except httpx.HTTPError as exc:
            log.info("membership of %s in %s: %s", user_id, place.channel, exc)
            return None

    async def is_member(self, place: Place, user_id: str) -> bool:
        response = await self._member(place, user_id)
        return response is not None and response.status_code == 200  # in doubt, refuse

    async def display_name(self, place: Place, user_id: str) -> str | None:
        """A person's name from the roster (speaker pickers give only an Entra id)."""
        response = await self._member(place, user_id)
        if response is None or response.status_code != 200:
            return None
        name = response.json().get("name")
        return name if isinstance(name, str) else None

    # --- files ------------------------------------------------------------------------

    def download_policy(self, stored: StoredConversation | None) -> DownloadPolicy:
        return DownloadPolicy(
            service_url=stored.service_url if stored is not None else "",
            connector_hosts=CONNECTOR_HOSTS,
            file_hosts=MICROSOFT_FILE_HOSTS + self.options.download_hosts,
            trust_env=self.options.trust_env,
        )

    async def download(self, place: Place, file: FileRef, dest: Path, *, max_bytes: int) -> Path:
        url = file.url or ""
        if url.startswith(GRAPH_REF):  # a meeting recording the bot looked up itself
            return await self._graph_download(place, url[len(GRAPH_REF) :], dest, max_bytes)
        if not url:
            raise MediaError(sentences.NO_FILE_URL)
        stored = await self.references.get(place.workspace, place.channel)
        try:
            return await downloads.download(
                self.downloads,
                self.download_policy(stored),
                url,
                dest,
                max_bytes=max_bytes,
                bot_token=self.bot_token,
            )
        except DownloadRefusedError:
            log.warning(
                "refused to download a file from %s in %s (see TEAMS_DOWNLOAD_HOSTS)",
                urlsplit(url).hostname,
                place.channel,
            )
            raise

    async def _graph_download(self, place: Place, path: str, dest: Path, max_bytes: int) -> Path:
        """A recording found through Graph, with the Graph token of the conversation's
        tenant (the stored one)."""
        stored = await self.conversation(place)
        if self.graph is None or not RECORDING_PATH.fullmatch(path):
            raise MediaError(sentences.NO_FILE_URL)
        try:
            return await self.graph.download(stored.tenant, path, dest, max_bytes=max_bytes)
        except GraphError as exc:
            if exc.status == 429 or exc.status >= 500:
                raise  # retried by the job
            raise MediaError(sentences.DOWNLOAD_REFUSED.format(status=exc.status)) from exc

    # --- who manages a conversation (retention, forget) --------------------------------

    async def can_manage(self, place: Place, user_id: str) -> bool:
        """A team's channels: its owners, by the connector's roster (`userRole` "owner";
        members answer "user", guests "guest"). A 1:1 chat with the bot: its person. A
        group chat has no owner the roster shows: ADMIN_USERS names who manages it."""
        stored = await self.references.get(place.workspace, place.channel)
        if stored is None or not user_id:
            return False
        if stored.kind == "personal":
            return stored.user_id in (None, user_id)
        if not (stored.is_channel and stored.team_id):
            return False
        path = f"v3/conversations/{quote(stored.team_id, safe='')}/members/"
        try:
            response = await self.connector_get(stored, path + quote(user_id, safe=""))
            role = response.json().get("userRole") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.info("role of %s in %s: %s", user_id, place.channel, exc)
            return False  # when in doubt, refuse
        return isinstance(role, str) and role.lower() == "owner"

    async def is_direct(self, place: Place) -> bool:
        stored = await self.references.get(place.workspace, place.channel)
        return stored is not None and stored.kind == "personal"

    async def forget(self, place: Place) -> None:
        """Nothing to delete: the adapter keeps only the conversation's reference (its ids
        and service URL, needed to answer), no messages; those in Teams are the tenant's."""
