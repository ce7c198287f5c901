"""Outbound tokens for the Bot Framework connector and Microsoft Graph.

MSAL is synchronous and botbuilder asks for a token inside the connector's request
pipeline, on the event loop. So tokens are fetched in a thread before a connector client is
handed out (`CredentialFactory.create_credentials` is async) and cached until shortly
before they expire; the pipeline then only reads the cache. One MSAL application per
authority is kept (the stock factory builds a new one, with an empty cache, every turn).
MSAL runs without instance discovery, so private clouds and test endpoints work.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import certifi
import requests
from botframework.connector import ConnectorClient
from botframework.connector.auth import (
    ConnectorFactory,
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)
from msal import ConfidentialClientApplication
from msrest.authentication import Authentication

log = logging.getLogger(__name__)

EXPIRY_MARGIN = 300.0  # refresh a token this many seconds before it expires


class TokenError(PermissionError):
    """The identity platform refused to issue a token (wrong secret, unknown app...)."""


def default_scope(resource: str) -> str:
    return resource if resource.endswith("/.default") else resource.rstrip("/") + "/.default"


@functools.cache
def with_public_roots(ca_bundle: str) -> str:
    """A CA file for `requests` holding the public roots (certifi) and `ca_bundle`.

    requests trusts only the file it is given, where httpx adds our CAs to the system's
    (`TeamsOptions.tls_verify`); this makes TEAMS_CA_BUNDLE add CAs on every Microsoft call
    alike. A file of its own (mkstemp: not a predictable name in a shared directory)."""
    data = Path(certifi.where()).read_bytes() + b"\n" + Path(ca_bundle).read_bytes()
    handle, name = tempfile.mkstemp(prefix="balafon-teams-ca-", suffix=".pem")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return name


class BundleSession(requests.Session):
    """A session whose `verify` the environment cannot replace: with trust_env, requests
    lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's CA bundle, so
    TEAMS_CA_BUNDLE would silently stop applying."""

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify not in (True, None):
            settings["verify"] = self.verify
        return settings


class TokenSource:
    """App-only tokens (client credentials) for one app registration, any authority."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        ca_bundle: str | None = None,
        trust_env: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._ca_bundle = ca_bundle
        self._trust_env = trust_env
        self._timeout = timeout
        self._apps: dict[str, ConfidentialClientApplication] = {}
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.fetches = 0

    def cached(self, authority: str, scope: str) -> str | None:
        found = self._tokens.get((authority, default_scope(scope)))
        if found and found[1] - EXPIRY_MARGIN > time.monotonic():
            return found[0]
        return None

    async def token(self, authority: str, scope: str) -> str:
        """A valid token; MSAL runs in a thread, one fetch per authority and scope."""
        key = (authority, default_scope(scope))
        if token := self.cached(*key):
            return token
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if token := self.cached(*key):
                return token
            return await asyncio.to_thread(self.fetch, *key)

    def fetch(self, authority: str, scope: str) -> str:
        """Fetch a token now (blocking: call it in a thread)."""
        scope = default_scope(scope)
        result = self._app(authority).acquire_token_for_client(scopes=[scope])
        if "access_token" not in result:
            raise TokenError(
                f"No token for {scope}: {result.get('error', 'unknown error')}: "
                f"{result.get('error_description', '')}".strip()
            )
        expires_in = float(result.get("expires_in") or 3600)
        self._tokens[(authority, scope)] = (result["access_token"], time.monotonic() + expires_in)
        self.fetches += 1
        return result["access_token"]

    def _app(self, authority: str) -> ConfidentialClientApplication:
        with self._guard:
            app = self._apps.get(authority)
            if app is None:
                session = BundleSession()
                session.trust_env = self._trust_env
                session.verify = with_public_roots(self._ca_bundle) if self._ca_bundle else True
                app = ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._secret,
                    authority=authority,
                    http_client=session,
                    instance_discovery=False,
                    timeout=self._timeout,
                )
                self._apps[authority] = app
            return app


class ConnectorCredentials(MicrosoftAppCredentials):
    """botbuilder credentials that read a token fetched beforehand by `prepare()`."""

    def __init__(self, source: TokenSource, *, authority: str, scope: str) -> None:
        super().__init__(source.client_id, "", oauth_scope=scope)
        self.oauth_endpoint = authority
        self._source = source

    async def prepare(self) -> None:
        await self._source.token(self.oauth_endpoint, self.oauth_scope)

    def get_access_token(self, force_refresh: bool = False) -> str:
        token = (
            None if force_refresh else self._source.cached(self.oauth_endpoint, self.oauth_scope)
        )
        if token is None:  # only if a turn outlived its token: rare, and logged
            log.warning("fetching a connector token on the event loop")
            token = self._source.fetch(self.oauth_endpoint, self.oauth_scope)
        return token


class CredentialFactory(PasswordServiceClientCredentialFactory):
    """Credentials for botbuilder's connector clients, cached, with the token ready."""

    def __init__(
        self, *, app_id: str, source: TokenSource | None, authority: str, tenant_id: str = ""
    ) -> None:
        super().__init__(app_id or None, None, tenant_id or None)
        self.source = source
        self.authority = authority
        self._credentials: dict[tuple[str, str], ConnectorCredentials] = {}

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        if await self.is_authentication_disabled() or self.source is None:
            return MicrosoftAppCredentials.empty()
        if not await self.is_valid_app_id(app_id):
            raise PermissionError("Credentials were asked for another app id.")
        authority = (login_endpoint or self.authority).rstrip("/")
        key = (authority, oauth_scope)
        credentials = self._credentials.get(key)
        if credentials is None:
            credentials = ConnectorCredentials(self.source, authority=authority, scope=oauth_scope)
            self._credentials[key] = credentials
        await credentials.prepare()
        return credentials


class VerifyingConnectorFactory(ConnectorFactory):
    """botbuilder's connector clients (msrest over requests) with our CA file as their
    `verify`: without it they ignore TEAMS_CA_BUNDLE, and REQUESTS_CA_BUNDLE would decide."""

    def __init__(self, inner: ConnectorFactory, verify: str) -> None:
        self.inner = inner
        self.verify = verify

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        client = await self.inner.create(service_url, audience)
        client.config.connection.verify = self.verify
        return client
