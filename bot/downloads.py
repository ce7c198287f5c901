"""Saving a downloaded file: the part every adapter's `download` shares.

Which URLs may be fetched, with which credentials and through which redirects is each
adapter's own business (Slack's token hosts, Teams' SSRF policy); once a response is in
hand, its status is judged and its body streamed to disk under the same byte limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.errors import TransientJobError
from summarizer.errors import MediaError, MediaTooLargeError

CHUNK_BYTES = 1 << 16


@dataclass(frozen=True, kw_only=True)
class DownloadSentences:
    """What the user is told, in the platform's words."""

    refused: str  # the server said no (4xx); `{status}` is its status code
    not_media: str  # an HTML page came back (a login page) instead of the file
    too_large: str  # over the limit; `{limit}` is the limit in MB


async def stream_to_file(
    response: httpx.Response, dest: Path, *, max_bytes: int, too_large: str
) -> Path:
    """Stream a response's body to `dest`; raise MediaTooLargeError (`too_large`, its
    `{limit}` filled in MB) as soon as it passes `max_bytes`: by its Content-Length, or
    while streaming when the length was not announced or was wrong."""
    message = too_large.format(limit=round(max_bytes / 2**20))
    if int(response.headers.get("content-length") or 0) > max_bytes:
        raise MediaTooLargeError(message)
    size = 0
    with dest.open("wb") as out:
        async for chunk in response.aiter_bytes(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise MediaTooLargeError(message)
            out.write(chunk)
    return dest


async def save_response(
    response: httpx.Response, dest: Path, *, max_bytes: int, sentences: DownloadSentences
) -> Path:
    """Judge a (streamed, not redirecting) response and stream its body to `dest`.

    Raises TransientJobError for 429 and 5xx (the job is retried), MediaError for a refusal
    or a web page, and MediaTooLargeError past `max_bytes` (see `stream_to_file`).
    """
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientJobError(f"file download: HTTP {response.status_code}")  # retried
    if response.status_code >= 400:
        raise MediaError(sentences.refused.format(status=response.status_code))
    if response.headers.get("content-type", "").startswith("text/html"):
        raise MediaError(sentences.not_media)
    return await stream_to_file(response, dest, max_bytes=max_bytes, too_large=sentences.too_large)
