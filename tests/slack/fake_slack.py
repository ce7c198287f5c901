"""A fake Slack: the Web API, file downloads, uploads, response URLs and Socket Mode, as a
real HTTP server on 127.0.0.1 (port 0) that records every call and can be scripted.

Like slack-bolt's own tests, the real clients (AsyncWebClient, aiohttp, httpx) talk to it
over HTTP. It keeps channels with messages, members, users and files, paginates history
with small pages, enforces `Authorization: Bearer <bot token>` everywhere (file downloads
without it get Slack's HTML login page, as the real one does), and can answer the next
calls of a method with a 429 + Retry-After, a 5xx or a Slack error.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

TEAM = "T0BALAFON"
TEAM_NAME = "Balafon Test"
BOT_TOKEN = "xoxb-0000-test-token"
BOT_USER = "U0BALAFON"
BOT_ID = "B0BALAFON"
APP_TOKEN = "xapp-1-test"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    status: int = 200


@dataclass
class Script:
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class FakeSlack:
    def __init__(self, *, page_size: int = 2) -> None:
        self.page_size = page_size
        self.tokens = {BOT_TOKEN: (TEAM, BOT_USER, BOT_ID)}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.uploads: dict[str, bytes] = {}
        self.responses: list[dict[str, Any]] = []  # what arrived at response URLs
        self.calls: list[Call] = []
        self.scripts: dict[str, list[Script]] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_ready = asyncio.Event()
        self._clock = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.oauth_codes: dict[str, dict[str, Any]] = {}

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        self.add_user(BOT_USER, "balafon")
        self.users[BOT_USER]["is_bot"] = True
        app = web.Application(client_max_size=2**30)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files/{file_id}/{name}", self._download)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{hook}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self) -> str:
        return f"{self.url}/respond/{next(self._ids)}"

    # --- world ------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        tz: str = "Europe/Paris",
        admin: bool = False,
        owner: bool = False,
    ) -> None:
        """A member of TEAM; `admin` / `owner`: a workspace admin / owner (users.info)."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM,
            "name": name.lower(),
            "real_name": name,
            "tz": tz,
            "is_admin": admin or owner,  # Slack sets is_admin for owners too
            "is_owner": owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "profile": {"display_name": name, "real_name": name},
        }

    def add_channel(
        self, channel: str, *members: str, name: str | None = None, private: bool = False
    ) -> None:
        """A channel the bot is in; its name defaults to the id's ("C0DEV" -> "dev")."""
        self.channels[channel] = {
            "members": [BOT_USER, *members],
            "messages": [],
            "name": name or channel.removeprefix("C0").lower(),
            "is_private": private,
        }

    def next_ts(self, at: float | None = None) -> str:
        base = at if at is not None else time.time()
        return f"{int(base)}.{next(self._clock):06d}"

    def add_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        minutes_ago: float = 0.0,
        **extra: Any,
    ) -> dict[str, Any]:
        """A message as `conversations.history` returns it (and as its event carries it)."""
        message = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts or self.next_ts(time.time() - minutes_ago * 60),
            "team": TEAM,
            **({"thread_ts": thread_ts} if thread_ts else {}),
            **extra,
        }
        self.channels[channel]["messages"].append(message)
        return message

    def edit_message(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        message = self.message(channel, ts)
        message["text"] = text
        message["edited"] = {"user": message.get("user"), "ts": self.next_ts()}
        return message

    def delete_message(self, channel: str, ts: str) -> None:
        self.channels[channel]["messages"] = [
            m for m in self.channels[channel]["messages"] if m["ts"] != ts
        ]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        return next(m for m in self.channels[channel]["messages"] if m["ts"] == ts)

    def add_file(self, name: str, content: bytes, mimetype: str, **extra: Any) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        meta = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(content),
            "url_private": f"{self.url}/files/{file_id}/{name}",
            "url_private_download": f"{self.url}/files/{file_id}/{name}",
            "shares": {},
            **extra,
        }
        self.files[file_id] = (meta, content)
        return meta

    # --- scripting and inspection -----------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.scripts.setdefault(method, []).append(Script(status, error, headers, times))

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Successful chat.postMessage arguments, in order."""
        return [
            c.args
            for c in self.called("chat.postMessage")
            if channel is None or c.args.get("channel") == channel
        ]

    def bot_messages(self, channel: str) -> Iterator[dict[str, Any]]:
        return (m for m in self.channels[channel]["messages"] if m.get("user") == BOT_USER)

    # --- HTTP handlers ----------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            raw = await request.read()
            kind = request.content_type
            if kind == "application/json":
                args.update(json.loads(raw or b"{}"))
            elif kind == "application/x-www-form-urlencoded":
                args.update(parse_qsl(raw.decode()))
        return args

    @staticmethod
    def _token(request: web.Request, args: dict[str, Any]) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header.removeprefix("Bearer ")
        return args.get("token")

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._args(request)
        token = self._token(request, args)
        call = Call(method, args, token)
        self.calls.append(call)
        scripts = self.scripts.get(method)
        if scripts:
            script = scripts[0]
            script.times -= 1
            if script.times <= 0:
                scripts.pop(0)
            call.status = script.status
            if script.status != 200:
                return web.json_response(
                    {"ok": False, "error": "ratelimited" if script.status == 429 else "fatal"},
                    status=script.status,
                    headers=script.headers,
                )
            return web.json_response({"ok": False, "error": script.error})
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access(args, request))
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response(
                {"ok": True, "url": f"{self.url.replace('http', 'ws')}/socket"}
            )
        if token not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args, self.tokens[token]))

    def _page(self, items: list[Any], args: dict[str, Any], key: str) -> dict[str, Any]:
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        size = min(int(args.get("limit") or 100), self.page_size)
        page = items[start : start + size]
        more = start + size < len(items)
        cursor = base64.b64encode(str(start + size).encode()).decode() if more else ""
        return {
            "ok": True,
            key: page,
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _channel(self, args: dict[str, Any]) -> dict[str, Any] | None:
        return self.channels.get(args.get("channel") or args.get("channel_id") or "")

    def _auth_test(self, args: dict[str, Any], who: tuple[str, str, str]) -> dict[str, Any]:
        team, user, bot = who
        return {
            "ok": True,
            "url": "https://balafon-test.slack.com/",
            "team": TEAM_NAME,
            "user": "balafon",
            "team_id": team,
            "user_id": user,
            "bot_id": bot,
            "is_enterprise_install": False,
        }

    def _post(self, args: dict[str, Any], who: tuple[str, str, str]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if who[1] not in channel["members"]:
            return {"ok": False, "error": "not_in_channel"}
        message = {
            "type": "message",
            "user": who[1],
            "bot_id": who[2],
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
            "ts": self.next_ts(),
            **({"thread_ts": args["thread_ts"]} if args.get("thread_ts") else {}),
            **self._metadata_of(args),
        }
        channel["messages"].append(message)
        return {"ok": True, "channel": args["channel"], "ts": message["ts"], "message": message}

    # --- message metadata (as Slack: stored with the post, read back only with
    # include_all_metadata=true) ------------------------------------------------------------

    @staticmethod
    def _metadata_of(args: dict[str, Any]) -> dict[str, Any]:
        metadata = args.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as a JSON string
            metadata = json.loads(metadata)
        if not metadata:
            return {}
        assert set(metadata) <= {"event_type", "event_payload"}, metadata
        return {"metadata": metadata}

    @staticmethod
    def _shown(messages: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        if str(args.get("include_all_metadata", "")).lower() in {"1", "true"}:
            return messages
        return [{k: v for k, v in m.items() if k != "metadata"} for m in messages]

    def _bot_file_share(self, args: dict[str, Any], who: tuple[str, str, str], files: list):
        """The message Slack adds to the channel when a bot completes an upload there."""
        channel = self._channel(args)
        if channel is None:
            return
        channel["messages"].append(
            {
                "type": "message",
                "user": who[1],
                "bot_id": who[2],
                "text": args.get("initial_comment") or "",
                "upload": True,
                "files": [dict(f) for f in files],
                "ts": self.next_ts(),
                **({"thread_ts": args["thread_ts"]} if args.get("thread_ts") else {}),
            }
        )

    _chat_postMessage = _post

    def _chat_postEphemeral(self, args: dict[str, Any], who: tuple[str, str, str]):
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self.next_ts()}

    def _chat_update(self, args: dict[str, Any], who: tuple[str, str, str]) -> dict[str, Any]:
        channel = self._channel(args)
        found = [m for m in (channel or {}).get("messages", []) if m["ts"] == args.get("ts")]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        found[0].update(text=args.get("text", ""), blocks=args.get("blocks", []))
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def _chat_getPermalink(self, args: dict[str, Any], who: tuple[str, str, str]):
        ts = args["message_ts"].replace(".", "")
        link = f"https://balafon-test.slack.com/archives/{args['channel']}/p{ts}"
        return {"ok": True, "channel": args["channel"], "permalink": link}

    def _conversations_history(self, args: dict[str, Any], who: tuple[str, str, str]):
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if who[1] not in channel["members"]:
            return {"ok": False, "error": "not_in_channel"}
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or time.time() + 3600)
        inclusive = str(args.get("inclusive", "")).lower() in {"1", "true"}
        found = []
        for message in channel["messages"]:
            ts = float(message["ts"])
            top = message.get("thread_ts") in (None, message["ts"]) or (
                message.get("subtype") == "thread_broadcast"
            )
            inside = oldest <= ts <= latest if inclusive else oldest < ts < latest
            if top and inside:
                found.append(self._with_replies(channel, message))
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        return self._page(self._shown(found, args), args, "messages")

    @staticmethod
    def _with_replies(channel: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        replies = [
            m
            for m in channel["messages"]
            if m.get("thread_ts") == message["ts"] and m["ts"] != message["ts"]
        ]
        if not replies:
            return message
        return {
            **message,
            "thread_ts": message["ts"],
            "reply_count": len(replies),
            "latest_reply": max(r["ts"] for r in replies),
        }

    def _conversations_replies(self, args: dict[str, Any], who: tuple[str, str, str]):
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if who[1] not in channel["members"]:
            return {"ok": False, "error": "not_in_channel"}
        root = args["ts"]
        found = [
            self._with_replies(channel, m) if m["ts"] == root else m
            for m in channel["messages"]
            if m["ts"] == root or m.get("thread_ts") == root
        ]
        found.sort(key=lambda m: float(m["ts"]))
        return self._page(self._shown(found, args), args, "messages")

    def _visible(self, channel: dict[str, Any], bot_user: str) -> bool:
        """As Slack: a bot sees every public channel, and private ones it is in."""
        return not channel.get("is_private") or bot_user in channel["members"]

    def _conversation(self, channel_id: str, channel: dict[str, Any]) -> dict[str, Any]:
        name = channel.get("name") or channel_id.lower()
        return {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": not channel.get("is_private"),
            "is_private": bool(channel.get("is_private")),
            "is_archived": False,
            "is_member": BOT_USER in channel["members"],
        }

    def _conversations_info(self, args: dict[str, Any], who: tuple[str, str, str]):
        channel = self._channel(args)
        if channel is None or not self._visible(channel, who[1]):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": self._conversation(args["channel"], channel)}

    def _conversations_list(self, args: dict[str, Any], who: tuple[str, str, str]):
        found = [
            self._conversation(channel_id, channel)
            for channel_id, channel in self.channels.items()
            if self._visible(channel, who[1])
        ]
        return self._page(found, args, "channels")

    def _conversations_members(self, args: dict[str, Any], who: tuple[str, str, str]):
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return self._page(list(channel["members"]), args, "members")

    def _conversations_open(self, args: dict[str, Any], who: tuple[str, str, str]):
        """A direct message with one person (`users`), as Slack: the same D… id each time,
        `already_open` after the first."""
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1:
            return {
                "ok": False,
                "error": "users_list_not_supplied" if not users else "not_supported",
            }
        user = self.users.get(users[0])
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        if user.get("deleted"):
            return {"ok": False, "error": "user_disabled"}
        channel_id = "D" + users[0].removeprefix("U")
        opened = channel_id in self.channels
        if not opened:
            self.channels[channel_id] = {
                "members": [who[1], users[0]],
                "messages": [],
                "name": None,
                "is_private": True,
                "is_im": True,
            }
        found = {"ok": True, "channel": {"id": channel_id}}
        if opened:
            found.update(no_op=True, already_open=True)
        return found

    def _users_info(self, args: dict[str, Any], who: tuple[str, str, str]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _files_info(self, args: dict[str, Any], who: tuple[str, str, str]) -> dict[str, Any]:
        found = self.files.get(args.get("file", ""))
        return {"ok": True, "file": found[0]} if found else {"ok": False, "error": "file_not_found"}

    def _files_getUploadURLExternal(self, args: dict[str, Any], who: tuple[str, str, str]):
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = ({"id": file_id, "name": args["filename"]}, b"")
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any], who: tuple[str, str, str]):
        files = json.loads(args["files"]) if isinstance(args["files"], str) else args["files"]
        done = []
        for item in files:
            meta, _ = self.files[item["id"]]
            meta.update(title=item.get("title"), channel=args.get("channel_id"))
            meta["thread_ts"] = args.get("thread_ts")
            meta["initial_comment"] = args.get("initial_comment")
            self.files[item["id"]] = (meta, self.uploads.get(item["id"], b""))
            done.append(meta)
        self._bot_file_share(args, who, done)
        return {"ok": True, "files": done}

    def _oauth_access(self, args: dict[str, Any], request: web.Request) -> dict[str, Any]:
        grant = self.oauth_codes.pop(args.get("code", ""), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        self.tokens[grant["access_token"]] = (
            grant["team"]["id"],
            grant["bot_user_id"],
            grant.get("bot_id", "B0OTHER"),
        )
        return {"ok": True, **grant}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        header = request.headers.get("Authorization", "")
        self.calls.append(Call("files.download", {"file": file_id}, header.removeprefix("Bearer ")))
        if header.removeprefix("Bearer ") not in self.tokens or file_id not in self.files:
            # What Slack does: a 200 with its sign-in page, not the file.
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        meta, content = self.files[file_id]
        if meta.get("redirect_to"):  # a download that Slack answers with a redirect
            raise web.HTTPFound(meta["redirect_to"])
        return web.Response(
            body=content, content_type=meta.get("mimetype") or "binary/octet-stream"
        )

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        self.calls.append(Call("files.upload", {"file": file_id}, None))
        return web.Response(text="OK - 123")

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.responses.append({"hook": request.match_info["hook"], **body})
        self.calls.append(Call("response_url", body, None))
        return web.Response(text="ok")

    # --- Socket Mode ------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self._socket_ready.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
        return ws

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected app."""
        await asyncio.wait_for(self._socket_ready.wait(), 10)
        await self._sockets[-1].send_json(envelope)
