"""HTTP helpers shared by the API (`bot/api/`) and the playground: loopback addresses,
bodies read within a limit, safe upload names, and the JSON problem shape
`{"error", "message"}` every refusal uses."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import shutil
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and small fields around the file
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (an address or name to bind or to be called by)."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BodyTooLargeError(Exception):
    """The request body is over the limit; answer 413."""


def declared_too_large(request: Request, limit: int) -> bool:
    """The request says (Content-Length) that its body is over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > limit


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLargeError as soon as it passes `limit` bytes."""
    if declared_too_large(request, limit):
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit: int, *, max_fields: int = 10) -> FormData:
    """A multipart or urlencoded form of at most one file, reading no more than `limit`
    bytes. Raises BodyTooLargeError, or ValueError for a body that is not such a form."""
    if declared_too_large(request, limit):
        raise BodyTooLargeError
    received = 0
    upstream = request.receive

    async def receive() -> Any:
        nonlocal received
        message = await upstream()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLargeError
        return message

    bounded = Request(request.scope, receive)
    try:
        return await bounded.form(max_files=1, max_fields=max_fields)
    except (HTTPException, MultiPartException, ClientDisconnect) as exc:
        raise ValueError(getattr(exc, "detail", None) or str(exc) or "unreadable form") from exc


def safe_filename(name: str | None, default: str = "upload") -> str:
    """A file name fit for our disk and for display: no folders, no odd characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return base or default


async def save_upload(upload: UploadFile, dest: Path) -> int:
    """Copy an uploaded file to `dest` (off the event loop); returns its size in bytes."""

    def copy() -> int:
        dest.parent.mkdir(parents=True, exist_ok=True)
        upload.file.seek(0)
        with dest.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        return dest.stat().st_size

    return await asyncio.to_thread(copy)


def problem(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON refusal: a stable `code`, and a `message` that says what to fix."""
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def megabytes(size: int) -> str:
    """A size limit for people: `25 MB`, `64 KB`."""
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB"


__all__ = [
    "FORM_OVERHEAD",
    "BodyTooLargeError",
    "declared_too_large",
    "is_loopback_host",
    "megabytes",
    "problem",
    "read_body",
    "read_form",
    "safe_filename",
    "save_upload",
]
