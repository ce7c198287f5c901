"""TeamsAdapter: what the composition root mounts and registers with the core.

It is the core's `ChatPlatform` for Teams (platform.py) and gives the ASGI app
`POST /api/messages`. Each request is authenticated before botbuilder sees it: any
failure is a 401 with nothing processed; an authenticated activity runs through
botbuilder's `CloudAdapterBase` and our `TeamsBot`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.teams import sentences
from adapters.teams.activities import conversation_of, readable, refusal
from adapters.teams.auth import Authenticator
from adapters.teams.bot import TeamsBot
from adapters.teams.credentials import TokenSource
from adapters.teams.errors import TeamsConfigError, Unauthorized
from adapters.teams.graph import GraphClient
from adapters.teams.meetings import MeetingRecaps
from adapters.teams.options import TeamsOptions
from adapters.teams.platform import TeamsPlatform
from adapters.teams.references import ConversationStore
from adapters.teams.settings import TeamsSettings
from bot.http import is_loopback_host
from bot.inbound import InboundPort

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
UNREADABLE = (AttributeError, TypeError, KeyError)  # a field of an unexpected type
MAX_BODY = 1 << 20  # activities are a few KB; refuse anything absurd before parsing


def check_listen_host(options: TeamsOptions, host: str | None) -> None:
    """Anonymous mode (no token checks) only on this machine: anyone who can reach the
    endpoint could otherwise post as anyone and have the bot fetch and answer."""
    if options.anonymous and options.allow_anonymous and host and not is_loopback_host(host):
        raise TeamsConfigError(sentences.ANONYMOUS_NOT_LOCAL.format(host=host))


class CloudAdapter(CloudAdapterBase):
    """botbuilder's cloud adapter. botbuilder-integration-aiohttp's version only adds
    aiohttp request parsing; ours are Starlette requests, authenticated beforehand."""


class TeamsAdapter(TeamsPlatform):
    """Teams for the core. Without MICROSOFT_APP_ID, and only when `allow_anonymous` says
    so, it runs in anonymous mode (no token checks: local development only)."""

    def __init__(
        self,
        *,
        core: InboundPort,
        settings: TeamsSettings | None = None,
        options: TeamsOptions | None = None,
        listen_host: str | None = None,
    ) -> None:
        """`listen_host`: the address `balafon serve` listens on (anonymous mode is
        refused on any but a loopback one)."""
        if options is None:
            if settings is None:
                raise TypeError("TeamsAdapter needs settings or options")
            options = TeamsOptions.from_settings(settings)
        check_listen_host(options, listen_host)
        if not options.app_id and not options.allow_anonymous:
            raise TeamsConfigError(
                "Set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (or TEAMS_ANONYMOUS=true for "
                "local development with the Bot Framework Emulator only)."
            )
        if options.app_id and not options.app_password:
            raise TeamsConfigError("MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not.")
        if bool(options.graph_client_id) != bool(options.graph_client_secret):
            raise TeamsConfigError(
                "Set both TEAMS_GRAPH_CLIENT_ID and TEAMS_GRAPH_CLIENT_SECRET, or neither."
            )
        tokens = (
            TokenSource(
                client_id=options.app_id,
                client_secret=options.app_password,
                ca_bundle=options.ca_bundle,
                trust_env=options.trust_env,
                timeout=options.http_timeout_seconds,
            )
            if options.app_id
            else None
        )
        self.auth = Authenticator(options, tokens=tokens)
        self.cloud = CloudAdapter(self.auth.bot_framework)
        graph = None
        if options.graph_enabled:
            graph_tokens = TokenSource(
                client_id=options.graph_client_id,
                client_secret=options.graph_client_secret,
                ca_bundle=options.ca_bundle,
                trust_env=options.trust_env,
                timeout=options.http_timeout_seconds,
            )
            graph = GraphClient(
                base_url=options.graph_url,
                tokens=graph_tokens,
                authority_for=options.tenant_authority,
                scope=options.graph_scope,
                timeout=options.http_timeout_seconds,
                verify=options.tls_verify(),
                trust_env=options.trust_env,
            )
        super().__init__(
            bot_adapter=self.cloud,
            references=ConversationStore(core.services.repo.engine),
            options=options,
            tokens=tokens,
            graph=graph,
        )
        self.core = core
        self.meetings = (
            MeetingRecaps(core=core, platform=self, graph=graph, options=options)
            if graph is not None
            else None
        )
        self.bot = TeamsBot(core=core, platform=self, meetings=self.meetings)
        if self.meetings is not None:  # the help says meeting recaps are on
            self.help_notes = (sentences.HELP_MEETINGS_ON, *self.help_notes[1:])

    # --- Mountable --------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [Route(MESSAGES_PATH, self.messages, methods=["POST"])]

    def body_limits(self) -> dict[str, int]:
        """Read at most MAX_BODY of an activity, authenticated or not (bot/body_limit.py)."""
        return {MESSAGES_PATH: MAX_BODY}

    async def startup(self) -> None:
        await self.auth.start()

    async def shutdown(self) -> None:
        self.auth.stop()
        await self.close()

    async def refusal(self, activity: Activity, result: AuthenticateRequestResult) -> str | None:
        """Why an authenticated activity is not served (channel, tenant), or None. A
        conversation keeps the tenant it was first stored under: the tenant that Graph
        calls use comes from that record, so a body naming another one is refused."""
        identity = result.claims_identity
        claims = (identity.claims if identity is not None else None) or {}
        reason = refusal(
            activity,
            anonymous=self.options.anonymous,
            tenant_id=self.options.tenant_id,
            claims=claims,
        )
        if reason is not None:
            return reason
        conversation = conversation_of(activity)
        known = await self.references.tenants_of(conversation.key)
        if known and conversation.tenant not in known:
            return "the conversation is stored under another tenant"
        return None

    # --- HTTP -------------------------------------------------------------------------

    async def messages(self, request: Request) -> Response:
        """Bot Framework activities. Unauthenticated requests get 401 whatever the body;
        an authenticated but unreadable body gets 400."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        activity: Activity | None
        try:
            data = json.loads(body)
            activity = Activity().deserialize(readable(data)) if isinstance(data, dict) else None
        except (ValueError, TypeError, AttributeError, RecursionError):
            activity = None  # still authenticated below: 401 first, then 400
        try:
            result = await self.auth.authenticate(
                activity or Activity(), request.headers.get("authorization")
            )
        except Unauthorized:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if activity is None or not activity.type or activity.conversation is None:
            return JSONResponse({"error": "not an activity"}, status_code=400)
        reason = await self.refusal(activity, result)
        if reason is not None:
            log.warning("Teams activity %s refused: %s", activity.id, reason)
            return JSONResponse({"error": "not served"}, status_code=403)
        try:
            invoke = await self.cloud.process_activity(result, activity, self.bot.on_turn)
        except UNREADABLE:  # a shape nothing expected: the same on every retry
            log.exception("Teams activity %s (%s) could not be read", activity.id, activity.type)
            return Response(status_code=200)
        except Exception:
            log.exception("Teams activity %s (%s) failed", activity.id, activity.type)
            return JSONResponse({"error": "the bot failed; the channel may retry"}, status_code=500)
        if invoke is not None:
            return JSONResponse(invoke.body, status_code=int(invoke.status))
        return Response(status_code=200)
