"""The Bot Framework's signing keys, fetched without blocking the event loop.

botbuilder's `JwtTokenExtractor` keeps one key source per OpenID metadata URL in a
class-level cache, and its stock source fetches with `requests` on the event loop (a slow
login.botframework.com stalls every request) and raises IndexError on a key id it has not
seen, refreshing only once a day. `SigningKeys` replaces it for our URLs: httpx on the loop,
one refresh at a time, a refresh when an unknown key id shows up (key rotation), at most
once per `unknown_key_cooldown`, and the daily refresh. The validation itself (signature,
issuer, audience, endorsements, expiry) stays botbuilder's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

REFRESH_SECONDS = 24 * 3600.0
UNKNOWN_KEY_COOLDOWN = 300.0
FAILURE_COOLDOWN = 10.0


class SigningKeyError(PermissionError):
    """No key can verify this token (unknown key id, or the keys cannot be fetched)."""


@dataclass(frozen=True)
class SigningKey:
    """What botbuilder's extractor reads: the public key and its channel endorsements."""

    public_key: Any
    endorsements: list[str]


class SigningKeys:
    def __init__(
        self,
        metadata_url: str,
        *,
        timeout: float = 10.0,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
        unknown_key_cooldown: float = UNKNOWN_KEY_COOLDOWN,
    ) -> None:
        self.url = metadata_url
        self.timeout = timeout
        self.verify = verify
        self.trust_env = trust_env
        self.unknown_key_cooldown = unknown_key_cooldown
        self.keys: dict[str, SigningKey] = {}
        self.fetched_at = float("-inf")  # monotonic time of the last successful fetch
        self.fetches = 0
        self._failed_at = float("-inf")
        self._lock = asyncio.Lock()

    def install(self) -> None:
        """Make botbuilder's token validation use this source for `self.url`."""
        JwtTokenExtractor.metadataCache[self.url] = self

    def uninstall(self) -> None:
        if JwtTokenExtractor.metadataCache.get(self.url) is self:
            del JwtTokenExtractor.metadataCache[self.url]

    async def get(self, key_id: str | None) -> SigningKey:
        """botbuilder's interface: the key for `key_id`, refreshing when it is stale or
        unknown."""
        if not key_id:
            raise SigningKeyError("The token names no signing key.")
        now = time.monotonic()
        if now - self.fetched_at > REFRESH_SECONDS:
            await self.refresh(reason="stale")
        elif key_id not in self.keys and now - self.fetched_at > self.unknown_key_cooldown:
            await self.refresh(reason=f"unknown key id {key_id!r}")
        key = self.keys.get(key_id)
        if key is None:
            raise SigningKeyError(f"Unknown signing key {key_id!r}.")
        return key

    async def refresh(self, *, reason: str = "start-up") -> None:
        """Fetch the metadata and the key set; concurrent callers share one fetch."""
        started = time.monotonic()
        async with self._lock:
            if self.fetched_at >= started:  # someone fetched while we waited
                return
            if time.monotonic() - self._failed_at < FAILURE_COOLDOWN:
                if self.keys:
                    return  # keep using the keys we have
                raise SigningKeyError("The signing keys are unavailable; try again shortly.")
            try:
                keys = await self._fetch()
            except Exception as exc:
                self._failed_at = time.monotonic()
                log.warning("could not fetch signing keys from %s (%s): %s", self.url, reason, exc)
                if not self.keys:
                    raise SigningKeyError("The signing keys are unavailable.") from exc
                return  # keep the keys we have
            self.keys = keys
            self.fetched_at = time.monotonic()
            self.fetches += 1
            log.info("signing keys from %s (%s): %d keys", self.url, reason, len(keys))

    async def _fetch(self) -> dict[str, SigningKey]:
        async with httpx.AsyncClient(
            timeout=self.timeout, verify=self.verify, trust_env=self.trust_env
        ) as http:
            metadata = await http.get(self.url)
            metadata.raise_for_status()
            jwks = await http.get(metadata.json()["jwks_uri"])
            jwks.raise_for_status()
        keys: dict[str, SigningKey] = {}
        for jwk in jwks.json().get("keys", []):
            if jwk.get("kty") != "RSA" or not jwk.get("kid"):
                continue
            try:
                public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
            except Exception:
                log.warning("skipping an unreadable key %s", jwk.get("kid"))
                continue
            keys[jwk["kid"]] = SigningKey(public_key, list(jwk.get("endorsements") or []))
        return keys
