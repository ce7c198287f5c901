"""A fake Microsoft cloud on 127.0.0.1: the Bot Framework channel (OpenID metadata, JWKS,
connector), the identity platform's token endpoint (HTTPS, for MSAL), file hosts and
Microsoft Graph. Real HTTP servers (aiohttp, port 0) that record every call.

The connector and Graph insist on the bearer tokens the token endpoint issued; the
SharePoint-like file host records whether anyone sent it a token (it must not get one).
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from tests.teams.crypto import SigningKey, Tls

CHANNEL_TENANT = "botframework.com"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Sent:
    """An activity the bot sent to the connector (a post, a reply or an update)."""

    conversation: str
    activity: dict[str, Any]
    id: str
    reply_to: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last(self) -> dict[str, Any]:
        return self.updates[-1] if self.updates else self.activity

    @property
    def card(self) -> dict[str, Any]:
        return self.last["attachments"][0]["content"]

    @property
    def text(self) -> str:
        """Everything a person would read in the message (card text blocks or plain text)."""
        last = self.last
        if last.get("attachments"):
            return "\n".join(card_texts(self.card.get("body", [])))
        return last.get("text") or ""


def card_texts(elements: list[dict[str, Any]]) -> list[str]:
    """The text of each element, and of the elements inside containers (action items)."""
    found = []
    for element in elements:
        if element.get("type") == "Container":
            found += card_texts(element.get("items", []))
        elif element.get("type") != "ActionSet":
            found.append(element.get("text", ""))
    return found


class FakeMicrosoft:
    def __init__(self, *, app_id: str, app_password: str, tls: Tls, keys: list[SigningKey]) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.tls = tls
        self.keys = list(keys)  # served in the JWKS; tests rotate them
        self.url = ""
        self.login_url = ""
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.token_requests: list[dict[str, str]] = []
        self.members: dict[str, set[str]] = defaultdict(set)
        self.names: dict[str, str] = {}  # member id -> the roster's display name
        self.owners: dict[str, set[str]] = defaultdict(set)  # userRole "owner" in the roster
        self.teams: dict[str, dict[str, Any]] = {}
        self.meetings: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (bytes, content type)
        self.redirects: dict[str, str] = {}  # file path -> where it redirects (302)
        self.graph: dict[str, Any] = {}  # Graph path -> JSON (or str/bytes) answer
        self.graph_failures: dict[str, list[int]] = {}  # Graph path -> statuses to answer first
        self.other_apps: dict[str, str] = {}  # more app registrations (Graph)
        self.jwks_delay = 0.0
        self.endorsements = ["msteams"]  # the channels the published keys are endorsed for
        self.post_failures: list[int] = []  # statuses the next posts answer (Retry-After: 0)
        self.require_token = True  # False: an emulator-like channel for anonymous bots
        # Who the app is installed for (personal scope): a 1:1 chat opens only with them,
        # by their Teams id or their Entra object id; person -> their 1:1 conversation id.
        self.installed_for: set[str] = set()
        self.personal_chats: dict[str, str] = {}
        self._ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> FakeMicrosoft:
        app = web.Application(client_max_size=2**30)
        app.router.add_get("/openid/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/openid/keys", self._jwks)
        app.router.add_get("/login/{tenant}/v2.0/.well-known/openid-configuration", self._oidc)
        app.router.add_post("/login/{tenant}/oauth2/v2.0/token", self._token)
        # The connector under /connector/ and, for a service URL without a path, at /.
        for base in ("/connector", ""):
            app.router.add_post(base + "/v3/conversations", self._create_conversation)
            conversation = base + "/v3/conversations/{conversation}"
            app.router.add_post(conversation + "/activities", self._post)
            app.router.add_post(conversation + "/activities/{reply_to}", self._post)
            app.router.add_put(conversation + "/activities/{id}", self._put)
            app.router.add_get(conversation + "/members/{member}", self._member)
            app.router.add_get(base + "/v3/teams/{team}", self._team)
            app.router.add_get(base + "/v1/meetings/{meeting}", self._meeting)
        app.router.add_get("/connector/v3/attachments/{path:.*}", self._connector_file)
        app.router.add_get("/sharepoint/{path:.*}", self._sharepoint_file)
        app.router.add_get("/graph/v1.0/{path:.*}", self._graph)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        plain = web.TCPSite(self._runner, "127.0.0.1", 0)
        await plain.start()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        secure = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await secure.start()
        self.url = f"http://127.0.0.1:{_port(plain)}"
        self.login_url = f"https://127.0.0.1:{_port(secure)}/login"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests read --------------------------------------------------------------

    @property
    def service_url(self) -> str:
        """Where the connector lives (Teams: https://smba.trafficmanager.net/<region>/)."""
        return self.url + "/connector/"

    @property
    def openid_url(self) -> str:
        return f"{self.url}/openid/.well-known/openidconfiguration"

    @property
    def graph_url(self) -> str:
        return f"{self.url}/graph/v1.0"

    def called(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def in_conversation(self, conversation: str) -> list[Sent]:
        return [s for s in self.sent if s.conversation == conversation]

    def bot_token(self) -> str:
        return f"bot-token-for-{self.app_id}"

    # --- OpenID / JWKS ----------------------------------------------------------------

    def _record(self, request: web.Request, body: Any = None) -> None:
        self.calls.append(
            Call(request.method, request.path, dict(request.headers), body, dict(request.query))
        )

    async def _openid(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response(
            {
                "issuer": "https://api.botframework.com",
                "authorization_endpoint": "https://invalid.botframework.com/v1/auth",
                "jwks_uri": f"{self.url}/openid/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self._record(request)
        if self.jwks_delay:
            await asyncio.sleep(self.jwks_delay)
        return web.json_response({"keys": [key.jwk(self.endorsements) for key in self.keys]})

    # --- identity platform ------------------------------------------------------------

    async def _oidc(self, request: web.Request) -> web.Response:
        self._record(request)
        tenant = request.match_info["tenant"]
        base = f"{self.login_url}/{tenant}"
        return web.json_response(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v[0] for k, v in parse_qs(await request.text()).items()}
        self._record(request, form)
        self.token_requests.append({**form, "tenant": request.match_info["tenant"]})
        secrets = {self.app_id: self.app_password, **self.other_apps}
        if form.get("grant_type") != "client_credentials" or secrets.get(
            form.get("client_id", "")
        ) != form.get("client_secret"):
            return web.json_response(
                {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"},
                status=401,
            )
        scope = form.get("scope", "")
        token = (
            self.bot_token()
            if "api.botframework.com" in scope
            else f"graph-token-{form['client_id']}-{request.match_info['tenant']}"
        )
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
        )

    # --- connector --------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization")
        if not self.require_token:
            return header is None
        return header == f"Bearer {self.bot_token()}"

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if not self._authorized(request):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if self.post_failures:
            status = self.post_failures.pop(0)
            error = {
                "error": {"code": "BotNotInConversationRoster" if status == 403 else "Throttled"}
            }
            return web.json_response(error, status=status, headers={"Retry-After": "0"})
        sent = Sent(
            conversation=request.match_info["conversation"],
            activity=body,
            id=str(next(self._ids)),
            reply_to=request.match_info.get("reply_to"),
        )
        self.sent.append(sent)
        return web.json_response({"id": sent.id}, status=201)

    async def _create_conversation(self, request: web.Request) -> web.Response:
        """Create conversation (Bot Framework REST): a bot opens a 1:1 chat with a member of
        the tenant; the same person gets the same conversation id again."""
        body = await request.json()
        self._record(request, body)
        if not self._authorized(request):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        members = body.get("members") or []
        tenant = body.get("tenantId") or (body.get("channelData") or {}).get("tenant", {}).get("id")
        if body.get("isGroup") or len(members) != 1 or not tenant:
            return web.json_response({"error": {"code": "BadArgument"}}, status=400)
        member = members[0].get("id")
        if member not in self.installed_for:
            error = {"code": "Forbidden", "message": "The bot is not installed for the user."}
            return web.json_response({"error": error}, status=403)
        conversation = self.personal_chats.setdefault(member, f"a:1personal{next(self._ids)}")
        return web.json_response({"id": conversation}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if not self._authorized(request):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        found = [s for s in self.sent if s.id == request.match_info["id"]]
        if not found:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        found[0].updates.append(body)
        return web.json_response({"id": found[0].id})

    async def _member(self, request: web.Request) -> web.Response:
        self._record(request)
        if not self._authorized(request):
            return web.json_response({}, status=401)
        member = request.match_info["member"]
        conversation = request.match_info["conversation"]
        if member in self.members[conversation]:
            role = "owner" if member in self.owners[conversation] else "user"
            entry = {"id": member, "aadObjectId": member, "userRole": role}
            if member in self.names:
                entry["name"] = self.names[member]
            return web.json_response(entry)
        return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)

    async def _team(self, request: web.Request) -> web.Response:
        self._record(request)
        team = self.teams.get(request.match_info["team"])
        if not self._authorized(request) or team is None:
            return web.json_response({}, status=401 if team else 404)
        return web.json_response(team)

    async def _meeting(self, request: web.Request) -> web.Response:
        self._record(request)
        meeting = self.meetings.get(request.match_info["meeting"])
        if not self._authorized(request) or meeting is None:
            return web.json_response({}, status=401 if meeting else 404)
        return web.json_response(meeting)

    async def _connector_file(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if not self._authorized(request):
            return web.json_response({}, status=401)
        return self._file("/connector/v3/attachments/" + request.match_info["path"])

    async def _sharepoint_file(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        return self._file("/sharepoint/" + request.match_info["path"])

    def _file(self, path: str) -> web.StreamResponse:
        if path in self.redirects:
            raise web.HTTPFound(self.redirects[path])
        if path not in self.files:
            return web.Response(status=404)
        data, kind = self.files[path]
        return web.Response(body=data, content_type=kind)

    def add_file(self, path: str, data: bytes, kind: str = "application/octet-stream") -> str:
        self.files[path] = (data, kind)
        return self.url + path

    # --- Graph ------------------------------------------------------------------------

    async def _graph(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if not request.headers.get("Authorization", "").startswith("Bearer graph-token-"):
            return web.json_response({"error": {"message": "no token"}}, status=401)
        path = request.match_info["path"]
        if request.query_string and f"{path}?{request.query_string}" in self.graph:
            path = f"{path}?{request.query_string}"  # a scripted next page
        failures = self.graph_failures.get(path)
        if failures:
            status = failures.pop(0)
            return web.json_response(
                {"error": {"message": "scripted"}}, status=status, headers={"Retry-After": "0"}
            )
        if path not in self.graph:
            return web.json_response({"error": {"message": f"{path} not found"}}, status=404)
        answer = self.graph[path]
        if isinstance(answer, bytes):
            return web.Response(body=answer, content_type="video/mp4")
        if isinstance(answer, str):
            return web.Response(text=answer, content_type="text/vtt")
        return web.json_response(answer)


def _port(site: web.TCPSite) -> int:
    server = site._server
    assert server is not None
    return server.sockets[0].getsockname()[1]
