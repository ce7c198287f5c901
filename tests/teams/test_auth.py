"""Bot Framework authentication over real HTTP: botbuilder's own validation code, pointed
at a local OpenID configuration and JWKS whose key the test generated. Every failure is a
401 with nothing processed; the key fetch runs on the event loop without blocking it."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from sqlmodel import Session, select

from adapters.teams import TeamsAdapter, TeamsConfigError
from adapters.teams.settings import TeamsSettings
from bot.storage.models import ProcessedEvent, StoredMessage
from tests.teams.conftest import APP_ID, BOB, PERSONAL, Harness
from tests.teams.crypto import SigningKey

pytestmark = pytest.mark.anyio


def _nothing_processed(teams: Harness) -> None:
    assert teams.fake.sent == []
    with Session(teams.core.services.repo.engine) as session:
        assert session.exec(select(ProcessedEvent)).all() == []
        assert session.exec(select(StoredMessage)).all() == []
    assert teams.core.services.queue.counts() == {}


async def test_a_valid_token_is_answered_and_the_reply_reaches_the_connector(
    teams: Harness,
) -> None:
    response = await teams.send(teams.personal_message("help"))
    assert response.status_code == 200, response.text
    [reply] = teams.replies(PERSONAL)
    assert "Here's what I can do" in reply.text
    # The reply carried a token MSAL fetched from the (HTTPS) token endpoint for our app.
    [token_request] = [t for t in teams.fake.token_requests if t["client_id"] == APP_ID]
    assert token_request["scope"] == "https://api.botframework.com/.default"
    # The keys were fetched once, at start-up, not per request.
    assert len(teams.fake.called("GET", "/openid/keys")) == 1


@pytest.mark.parametrize(
    "case",
    [
        "wrong signature",
        "expired",
        "not yet valid",
        "wrong audience",
        "wrong issuer",
        "another service URL",
        "unknown key",
        "no key id",
        "unendorsed channel",
    ],
)
async def test_bad_tokens_are_refused_with_401_and_nothing_happens(
    teams: Harness, signing_key: SigningKey, other_key: SigningKey, case: str
) -> None:
    service = teams.fake.service_url
    tokens = {
        # Signed with a key the channel never published, under the published key's id.
        "wrong signature": lambda: other_key.token(
            audience=APP_ID, service_url=service, kid=signing_key.kid
        ),
        "expired": lambda: teams.token(issued_ago=7200, lifetime=3600),
        "not yet valid": lambda: teams.token(issued_ago=-3600),
        "wrong audience": lambda: teams.token(audience="another-bot-app-id"),
        "wrong issuer": lambda: teams.token(issuer="https://evil.example"),
        # A token for another bot endpoint cannot steer our token to its service URL.
        "another service URL": lambda: teams.token(service_url="https://evil.example/"),
        "unknown key": lambda: other_key.token(audience=APP_ID, service_url=service),
        "no key id": lambda: teams.token(with_kid=False),
        "unendorsed channel": lambda: teams.token(),
    }
    activity = teams.personal_message("help")
    if case == "unendorsed channel":
        activity["channelId"] = "slack"  # the key is endorsed for msteams only
    response = await teams.send(activity, token=tokens[case]())
    assert response.status_code == 401, response.text
    _nothing_processed(teams)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer abc",
        "Bearer a.b.c",
        "Basic dXNlcjpwYXNz",
        "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIn0.",
    ],
)
async def test_missing_or_malformed_headers_are_401(teams: Harness, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await teams.send(teams.personal_message("help"), headers=headers)
    assert response.status_code == 401
    _nothing_processed(teams)


async def test_unreadable_bodies_are_401_without_a_token_and_400_with_one(teams: Harness) -> None:
    for body in (b"not json", b"[1, 2]", b'{"type": "message"}'):
        refused = await teams.http.post(
            "/api/messages", content=body, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 401
        accepted = await teams.http.post(
            "/api/messages",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {teams.token()}",
            },
        )
        assert accepted.status_code == 400
    _nothing_processed(teams)


async def test_a_rotated_key_is_fetched_when_a_token_names_it(
    teams: Harness, signing_key: SigningKey, other_key: SigningKey
) -> None:
    keys = teams.adapter.auth.keys[0]
    rotated = other_key.token(audience=APP_ID, service_url=teams.fake.service_url)
    # Just after a fetch, unknown key ids do not trigger fetches (a flood costs nothing).
    teams.fake.keys = [signing_key, other_key]
    for _ in range(3):
        assert (await teams.send(teams.personal_message("help"), token=rotated)).status_code == 401
    assert keys.fetches == 1
    # Once the cool-down has passed, an unknown key id refreshes the keys at once,
    # instead of waiting for the daily refresh.
    keys.unknown_key_cooldown = 0.0
    response = await teams.send(teams.personal_message("help"), token=rotated)
    assert response.status_code == 200, response.text
    assert keys.fetches == 2


async def test_the_key_fetch_does_not_block_the_event_loop(
    teams: Harness, other_key: SigningKey
) -> None:
    """The fake JWKS runs on this very loop and answers slowly: a blocking fetch would
    deadlock (or at least stop the ticker) until it returned."""
    keys = teams.adapter.auth.keys[0]
    keys.unknown_key_cooldown = 0.0
    teams.fake.keys.append(other_key)
    teams.fake.jwks_delay = 0.5
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    token = other_key.token(audience=APP_ID, service_url=teams.fake.service_url)
    response = await teams.send(teams.personal_message("help"), token=token)
    task.cancel()
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.5
    assert ticks >= 10


@pytest.mark.teams_options(openid_metadata_url="http://127.0.0.1:9/.well-known/openid")
async def test_unreachable_signing_keys_are_401_not_500(teams: Harness) -> None:
    response = await teams.send(teams.personal_message("help"))
    assert response.status_code == 401
    _nothing_processed(teams)


@pytest.mark.teams_options(
    app_id="", app_password="", allow_anonymous=True, graph_client_id="", graph_client_secret=""
)
async def test_anonymous_mode_accepts_requests_without_a_token_only(teams: Harness) -> None:
    teams.fake.require_token = False  # and it insists that none is sent
    response = await teams.send(teams.personal_message("help", user=BOB), headers={})
    assert response.status_code == 200
    [reply] = teams.fake.sent
    assert reply.conversation == PERSONAL and "Here's what I can do" in reply.text
    # No token was fetched or sent, and a request that does carry one is still checked.
    assert teams.fake.token_requests == []
    forged = await teams.send(teams.personal_message("help"), token=teams.token())
    assert forged.status_code == 401


async def test_the_same_checks_over_a_real_socket(teams: Harness) -> None:
    """The app served by uvicorn on 127.0.0.1, as the Bot Framework would reach it."""
    config = uvicorn.Config(
        teams.app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            good = await http.post(
                "/api/messages",
                json=teams.personal_message("help"),
                headers={"Authorization": f"Bearer {teams.token()}"},
            )
            bad = await http.post(
                "/api/messages",
                json=teams.personal_message("help"),
                headers={"Authorization": f"Bearer {teams.token(audience='someone-else')}"},
            )
    finally:
        server.should_exit = True
        await task
    assert (good.status_code, bad.status_code) == (200, 401)
    [reply] = teams.replies(PERSONAL)
    assert "Here's what I can do" in reply.text


def test_anonymous_mode_must_be_asked_for() -> None:
    """No app id is a configuration error unless anonymous mode is explicitly allowed."""
    core = SimpleNamespace()  # never reached
    with pytest.raises(TeamsConfigError, match="TEAMS_ANONYMOUS"):
        TeamsAdapter(core=core, settings=TeamsSettings(_env_file=None, microsoft_app_id=None))
    with pytest.raises(TeamsConfigError, match="MICROSOFT_APP_PASSWORD"):
        TeamsAdapter(core=core, settings=TeamsSettings(_env_file=None, microsoft_app_id="x"))
