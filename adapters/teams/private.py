"""Writing to one person on Teams (the core's `PrivateMessaging`): their 1:1 chat with the
bot, the stored one, or one opened proactively (the connector's create conversation, `POST
{serviceUrl}/v3/conversations` with the member and the tenant; Teams accepts the Entra
object id when the app is installed for them) and stored like any other; and their time
zone as their activities said it (adapters/teams/people.py)."""

from __future__ import annotations

import logging
import re

import httpx
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from adapters.teams.activities import PLATFORM, Conversation
from adapters.teams.options import TeamsOptions
from adapters.teams.references import ConversationStore, StoredConversation
from bot.ports import Place, Reply, ReplyTarget

log = logging.getLogger(__name__)

_ENTRA_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Create-conversation answers that mean this person cannot be written to (the app is not
# installed for them, they left the tenant): not failures to retry.
UNREACHABLE = (400, 403, 404)


class TeamsPrivate:
    """The private half of the Teams platform (TeamsPlatform supplies these attributes)."""

    references: ConversationStore
    options: TeamsOptions
    http: httpx.AsyncClient

    async def bot_token(self) -> str | None:
        raise NotImplementedError

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        raise NotImplementedError

    async def user_timezone(self, workspace: str, user_id: str) -> str | None:
        return await self.references.people.timezone(workspace, user_id)

    async def post_private(self, workspace: str, user_id: str, reply: Reply) -> str | None:
        target = await self.private_target(workspace, user_id)
        if target is None:
            return None
        return await self.post(target, reply)

    async def private_target(
        self, workspace: str, user_id: str, near: Place | None = None
    ) -> ReplyTarget | None:
        """The person's 1:1 chat with the bot, opened if they have none yet; None when
        Teams will not open one."""
        personal = await self.references.personal(workspace, user_id)
        if personal is None:
            personal = await self._open_personal(workspace, user_id)
        if personal is None:
            return None
        return ReplyTarget(
            place=Place(platform=PLATFORM, workspace=workspace, channel=personal.key)
        )

    async def _open_personal(self, tenant: str, user_id: str) -> StoredConversation | None:
        anywhere = await self.references.latest_in(tenant)
        if anywhere is None or not anywhere.service_url:
            log.info("no conversation of tenant %s stored: cannot open a chat", tenant)
            return None
        bot_id = (
            f"28:{self.options.app_id}"
            if self.options.app_id
            else str((anywhere.reference.get("bot") or {}).get("id") or "")
        )
        body = {
            "bot": {"id": bot_id},
            "isGroup": False,
            "members": [{"id": user_id}],
            "tenantId": tenant,
            "channelData": {"tenant": {"id": tenant}},
        }
        token = await self.bot_token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = anywhere.service_url.rstrip("/") + "/v3/conversations"
        response = await self.http.post(url, json=body, headers=headers)
        if response.status_code in UNREACHABLE:
            log.info("Teams will not open a chat with %s: HTTP %s", user_id, response.status_code)
            return None
        response.raise_for_status()  # 429, 5xx: the reminder is tried again later
        conversation_id = response.json().get("id")
        if not isinstance(conversation_id, str) or not conversation_id:
            return None
        service_url = response.json().get("serviceUrl") or anywhere.service_url
        # Stored as if the person had written to the bot there: posts find it by its key.
        opened = Activity(
            type="message",
            channel_id="msteams",
            service_url=service_url,
            conversation=ConversationAccount(
                id=conversation_id, conversation_type="personal", tenant_id=tenant
            ),
            from_property=ChannelAccount(
                id=user_id, aad_object_id=user_id if _ENTRA_ID.fullmatch(user_id) else None
            ),
            recipient=ChannelAccount(id=bot_id),
            channel_data={"tenant": {"id": tenant}},
        )
        conversation = Conversation(tenant=tenant, id=conversation_id, kind="personal")
        return await self.references.remember(conversation, opened)
