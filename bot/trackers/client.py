"""One HTTP client per tracker, bound to its configured base URL.

Its token travels only to that base URL: callers give paths, never URLs, and redirects are
not followed (a URL found in a response or a webhook is never fetched with a token).
Rate limits (429, GitHub's 403 with no requests left, Linear's RATELIMITED) and 5xx are
retried with backoff, waiting what the service asks (Retry-After, the reset headers) up
to `max_wait` seconds; a longer wait, or too many failures, raises TrackerUnavailable for
the job to retry later. Any other 4xx raises TrackerRejected at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.trackers.base import RateLimited, TrackerRejected, TrackerUnavailable

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


def check_base_url(url: str) -> str:
    """An absolute http(s) URL without query or fragment, https unless on loopback (a
    token must not cross the network in the clear). Returns it without a trailing /."""
    from bot.http import is_loopback_host

    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{url!r} must use https (tokens are sent to it)")
    if parts.query or parts.fragment or parts.username:
        raise ValueError(f"{url!r} must not carry a query, fragment or credentials")
    return url.strip().rstrip("/")


class ApiClient:
    """Requests to one service, authenticated with `headers`, retried as above."""

    def __init__(
        self,
        service: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout: float = 20.0,
        attempts: int = 4,
        max_wait: float = 30.0,
        sleep: Sleep | None = None,
    ) -> None:
        self.service = service
        self.base_url = check_base_url(base_url)
        self.attempts = attempts
        self.max_wait = max_wait
        self.sleep = sleep or asyncio.sleep
        self._http = httpx.AsyncClient(
            headers=dict(headers), timeout=timeout, follow_redirects=False
        )

    def url(self, path: str) -> str:
        """`path` under the base URL ("" is the base URL itself: a GraphQL endpoint);
        anything that could leave it is refused."""
        if path == "":
            return self.base_url
        if not path.startswith("/") or path.startswith("//") or "://" in path:
            raise ValueError(f"not a path under {self.service}'s base URL: {path!r}")
        return self.base_url + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        retry_unsure: bool = True,
    ) -> httpx.Response:
        """The response (2xx). `retry_unsure` False (creating something): a 5xx or a lost
        connection may have created it, so TrackerUnavailable goes to the caller, who
        looks before trying again; rate limits (nothing was done) are retried anyway."""
        url = self.url(path)
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = await self._http.request(method, url, json=json, params=params)
            except httpx.TransportError as exc:
                message = f"{self.service} did not answer ({type(exc).__name__})"
                if last or not retry_unsure:
                    raise TrackerUnavailable(message) from exc
                await self._backoff(attempt, None, message)
                continue
            if response.is_success:
                return response
            wait = self.rate_limit_wait(response)
            if wait is not None:
                message = f"{self.service} rate limit (asked to wait {wait:.0f} s)"
                if last or wait > self.max_wait:
                    raise RateLimited(message, retry_after=wait)
                await self._backoff(attempt, wait, message)
                continue
            if response.status_code >= 500:
                message = f"{self.service} answered {response.status_code}"
                if last or not retry_unsure:
                    raise TrackerUnavailable(message, retry_after=_retry_after(response))
                await self._backoff(attempt, _retry_after(response), message)
                continue
            raise TrackerRejected(
                f"{self.service} refused it ({response.status_code}: {error_text(response)})"
            )
        raise AssertionError("unreachable")

    def rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait when `response` says the rate limit was hit, else None."""
        status = response.status_code
        headers = response.headers
        limited = status == 429 or (
            status == 403
            and (
                headers.get("x-ratelimit-remaining") == "0"
                or "rate limit" in error_text(response).lower()
            )
        )
        if not limited and status == 400 and "RATELIMITED" in response.text:
            limited = True  # Linear's GraphQL error code
        if not limited:
            return None
        if (after := _retry_after(response)) is not None:
            return after
        for name in ("x-ratelimit-reset", "x-ratelimit-requests-reset"):
            if (reset := _reset_at(headers.get(name))) is not None:
                return max(0.0, reset - time.time())
        return 60.0  # GitHub's advice when a secondary limit gives no header

    async def _backoff(self, attempt: int, asked: float | None, why: str) -> None:
        delay = asked if asked is not None else min(self.max_wait, 0.5 * 2 ** (attempt - 1))
        delay = min(self.max_wait, delay) + random.uniform(0, 0.1)
        log.warning("%s; retrying in %.1f s", why, delay)
        await self.sleep(delay)

    async def aclose(self) -> None:
        await self._http.aclose()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _reset_at(value: str | None) -> float | None:
    """A reset time as epoch seconds: GitHub sends seconds, Linear milliseconds, Jira an
    ISO 8601 time."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return number / 1000 if number > 1e11 else number


def error_text(response: httpx.Response) -> str:
    """The service's own words about an error, short: GitHub's `message`, Jira's
    `errorMessages` / `errors`, GraphQL's `errors[].message`."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    parts: list[str] = []
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            parts.append(body["message"])
        for message in body.get("errorMessages") or []:
            parts.append(str(message))
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts.extend(f"{key}: {value}" for key, value in errors.items())
        elif isinstance(errors, list):
            parts.extend(str(e.get("message", e)) for e in errors if isinstance(e, dict))
    return "; ".join(parts)[:300] or response.reason_phrase


__all__ = ["ApiClient", "check_base_url", "error_text"]
