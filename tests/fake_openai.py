"""A fake OpenAI-compatible chat server on 127.0.0.1 for tests: real HTTP, scripted answers.

The real clients (`init_chat_model("openai:...", base_url=server.base_url)`) talk to it, so
tests exercise the real request encoding, retries, timeouts and response parsing.

    with FakeOpenAI() as server:
        server.enqueue(Reply.json({"summary": "..."}), Reply.error(500))
        ...
        server.requests[0]["messages"]   # every request body, in arrival order

Answers come from the queue first, then from `server.handler(body) -> Reply` when set; with
neither, the server answers 500 so a missing script fails loudly instead of hanging.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from summarizer.config import LLMConfig


@dataclass
class Reply:
    """One scripted answer of `POST /v1/chat/completions`."""

    status: int = 200
    content: str | None = None  # choices[0].message.content
    body: bytes | None = None  # the raw response body, instead of a completion
    delay: float = 0.0  # seconds to wait before answering (cut short when the server stops)
    prompt_tokens: int = 11
    completion_tokens: int = 7
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, *, prompt_tokens: int = 11, completion_tokens: int = 7) -> Reply:
        """A completion whose content is `payload` as a JSON string (json_schema output)."""
        return cls(
            content=json.dumps(payload),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    @classmethod
    def text(cls, content: str) -> Reply:
        return cls(content=content)

    @classmethod
    def error(cls, status: int = 500, message: str = "boom", *, retry_after_ms: int = 1) -> Reply:
        """An OpenAI-style error; a short retry-after-ms keeps client retries fast."""
        body = json.dumps({"error": {"message": message, "type": "server_error", "code": None}})
        headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms else {}
        return cls(status=status, body=body.encode(), headers=headers)

    @classmethod
    def slow(cls, seconds: float, payload: Any = None) -> Reply:
        return cls(delay=seconds, content=json.dumps(payload or {"summary": "late"}))


@dataclass
class Recorded:
    """A request as the server saw it."""

    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    def content_of(self, role: str) -> str:
        """The text of all messages with `role` ("system", "user"), joined."""
        parts = []
        for message in self.messages:
            if message.get("role") != role:
                continue
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
            parts.append(content or "")
        return "\n".join(parts)


class FakeOpenAI:
    """An OpenAI-compatible server in a background thread; see the module docstring."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.handler: Callable[[dict[str, Any]], Reply] | None = None
        # How many requests were being answered at once, at most (concurrency checks).
        self.max_in_flight = 0
        self._in_flight = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ----------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.handler is not None:
            return self.handler(body)
        return Reply.error(500, "the fake server has no scripted reply", retry_after_ms=0)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def config(self, **changes: Any) -> LLMConfig:
        """The LLM settings of a summarizer that talks to this server (no retries)."""
        settings: dict[str, Any] = {
            "model": "openai:test-model",
            "base_url": self.base_url,
            "api_key": "test",
            "timeout_seconds": 5,
            "max_retries": 0,
        }
        return LLMConfig(**(settings | changes))

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                with fake._lock:
                    fake.requests.append(
                        Recorded(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                        )
                    )
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(Reply.error(404, f"no route {self.path}", retry_after_ms=0), body)
                    return
                with fake._lock:
                    fake._in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
                try:
                    reply = fake._next_reply(body)
                    if reply.delay and fake._stopping.wait(reply.delay):
                        # The server is stopping: hang up, so a client still waiting fails
                        # now instead of at its own (possibly long) timeout.
                        self.close_connection = True
                        return
                    self._send(reply, body)
                finally:
                    with fake._lock:
                        fake._in_flight -= 1

            def _send(self, reply: Reply, body: dict[str, Any]) -> None:
                payload = reply.body if reply.body is not None else _completion(reply, body)
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False  # a handler still sleeping must not block stop()

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # a quick stop() between tests
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _completion(reply: Reply, request: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": None},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }
    ).encode()
