"""How `/v1` answers at the HTTP level: one endpoint per path that takes its own methods,
JSON 404/405/500 (Starlette's own are text/plain), and reading a request's media type and
a validation error's details."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bot.http import problem

log = logging.getLogger(__name__)

PREFIX = "/v1"
Handler = Callable[[Request], Awaitable[Response]]


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as `{"where", "problem"}` (no input echoed back, no URLs)."""
    return [
        {"where": ".".join(str(p) for p in error["loc"]) or "body", "problem": error["msg"]}
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def media_type(request: Request) -> str:
    """The Content-Type without its parameters, lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class PathEndpoint:
    """One path's endpoint: its methods (HEAD with GET), 405 for others, 404 when it has
    none; a crash is a JSON 500 (the log has the traceback). An ASGI app, not a function,
    so that Starlette routes every method to it."""

    def __init__(self, methods: dict[str, Handler]) -> None:
        if "GET" in methods:
            methods = {**methods, "HEAD": methods["GET"]}
        self.methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.answer(Request(scope, receive))
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        if not self.methods:
            return problem(
                404,
                "not_found",
                f"There is nothing at {request.url.path}: the API is described at "
                f"{PREFIX}/openapi.json.",
            )
        handler = self.methods.get(request.method)
        if handler is None:
            allowed = ", ".join(sorted(self.methods))
            return problem(
                405,
                "method_not_allowed",
                f"{request.url.path} takes {allowed}, not {request.method}.",
                headers={"Allow": allowed},
            )
        try:
            return await handler(request)
        except ClientDisconnect:  # gone, or cut off at the body limit (bot/body_limit.py)
            raise
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return problem(
                500, "internal", "Something went wrong on the server; its log says what."
            )
