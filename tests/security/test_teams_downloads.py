"""Issue #11, items 1, 2 and 7: Teams file links are attacker-written. The real app, signed
activities, the fake Microsoft cloud on 127.0.0.1 (its connector is the conversation's
service URL) and a loopback listener standing in for an internal service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.teams.activities import channel_key
from adapters.teams.downloads import (
    MICROSOFT_FILE_HOSTS,
    DownloadPolicy,
    DownloadRefusedError,
    is_public,
)
from adapters.teams.platform import CONNECTOR_HOSTS
from tests.security.teams_support import SECRET, Internal, teams_app
from tests.teams.conftest import (  # noqa: F401  (fixtures)
    APP_ID,
    GRAPH_ID,
    PERSONAL,
    TENANT,
    Harness,
    fake,
    signing_key,
    tls,
)
from tests.teams.crypto import SigningKey, Tls
from tests.teams.fake_microsoft import FakeMicrosoft

pytestmark = pytest.mark.anyio

FILE_INFO = "application/vnd.microsoft.teams.file.download.info"
RECORDING = "users/u-1/onlineMeetings/m-1/recordings/r-1/content"


@pytest.fixture
async def internal() -> AsyncIterator[Internal]:
    server = await Internal().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def teams(
    fake: FakeMicrosoft,  # noqa: F811
    tls: Tls,  # noqa: F811
    signing_key: SigningKey,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    async with teams_app(fake, tls, signing_key, tmp_path) as harness:
        yield harness


def media(url: str, kind: str = "audio/mpeg", name: str = "clip.mp3") -> dict:
    return {"contentType": kind, "contentUrl": url, "name": name}


def upload(url: str, name: str = "standup.m4a") -> dict:
    return {
        "contentType": FILE_INFO,
        "contentUrl": f"https://contoso.sharepoint.com/personal/ann/Documents/{name}",
        "name": name,
        "content": {"downloadUrl": url, "uniqueId": f"u-{name}", "fileType": "m4a"},
    }


async def transcribe(teams: Harness, attachment: dict, **kwargs) -> str:
    """Ask for a transcript of `attachment` in the 1:1 chat; the file's final status line."""
    await teams.say(teams.personal_message("transcribe", attachments=[attachment], **kwargs))
    await teams.settle()
    progress = [s for s in teams.replies(PERSONAL) if s.updates]
    assert progress, [s.text for s in teams.replies(PERSONAL)]
    return progress[-1].text


def graph_token_calls(microsoft: FakeMicrosoft) -> list:
    return [
        c
        for c in microsoft.calls
        if c.headers.get("Authorization", "").startswith("Bearer graph-token-")
    ]


# --- item 1: the Graph token is for what the bot looks up itself -------------------------


async def test_a_graph_link_in_an_attachment_is_not_fetched_with_the_graph_token(
    fake: FakeMicrosoft,  # noqa: F811
    tls: Tls,  # noqa: F811
    signing_key: SigningKey,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Graph on its own host (as in production): the link is refused, nothing is fetched,
    no Graph token is even requested."""
    graph = fake.graph_url.replace("127.0.0.1", "localhost")
    fake.graph[RECORDING] = b"another team's meeting recording"
    async with teams_app(fake, tls, signing_key, tmp_path, graph_url=graph) as teams:
        status = await transcribe(teams, media(f"{graph}/{RECORDING}", "video/mp4", "x.mp4"))
    assert "refused to fetch" in status
    assert fake.called("GET", "/graph/") == []
    assert [t for t in fake.token_requests if t["client_id"] == GRAPH_ID] == []


async def test_a_graph_link_on_the_connector_host_never_carries_the_graph_token(
    teams: Harness,
) -> None:
    """The tests' Graph shares the connector's origin: still no Graph token for it."""
    teams.fake.graph[RECORDING] = b"another team's meeting recording"
    url = f"{teams.fake.graph_url}/{RECORDING}"
    status = await transcribe(teams, media(url, "video/mp4", "x.mp4"))
    assert graph_token_calls(teams.fake) == []
    assert [t for t in teams.fake.token_requests if t["client_id"] == GRAPH_ID] == []
    assert "couldn't transcribe" in status


@pytest.mark.parametrize("case", ["two tenants", "stored tenant"])
async def test_the_tenant_and_channel_come_from_what_the_bot_trusts(
    teams: Harness, case: str
) -> None:
    other = "0badbad0-0000-4000-8000-000000000000"
    if case == "stored tenant":  # the conversation is known under its real tenant
        await teams.say(teams.personal_message("help"))
    before = len(teams.fake.sent)
    activity = teams.personal_message("recap")
    if case == "two tenants":
        activity["channelData"]["tenant"]["id"] = other
    else:
        activity["conversation"]["tenantId"] = other
        activity["channelData"]["tenant"]["id"] = other
    response = await teams.send(activity)
    assert response.status_code == 403
    assert len(teams.fake.sent) == before  # nothing answered
    assert await teams.adapter.references.get(other, channel_key(PERSONAL)) is None
    assert teams.core.services.queue.counts() == {}
    assert graph_token_calls(teams.fake) == []


@pytest.mark.parametrize(
    ("anonymous", "channel", "served"),
    [
        (False, "webchat", False),
        (False, "emulator", False),
        (True, "webchat", False),
        (True, "emulator", True),
        (True, "msteams", True),
    ],
)
async def test_only_the_channels_the_bot_serves_are_answered(
    fake: FakeMicrosoft,  # noqa: F811
    tls: Tls,  # noqa: F811
    signing_key: SigningKey,  # noqa: F811
    tmp_path: Path,
    anonymous: bool,
    channel: str,
    served: bool,
) -> None:
    """A token endorsed for another channel of the same Azure bot (Web Chat) is valid, but
    that channel is not one the bot serves."""
    fake.endorsements = ["msteams", "webchat", "emulator"]
    overrides = {}
    if anonymous:
        fake.require_token = False
        overrides = {"app_id": "", "app_password": "", "allow_anonymous": True}
    async with teams_app(fake, tls, signing_key, tmp_path, **overrides) as teams:
        activity = teams.personal_message("help")
        activity["channelId"] = channel
        token = (
            None if anonymous else teams.key.token(audience=APP_ID, service_url=fake.service_url)
        )
        headers = {} if anonymous else {"Authorization": f"Bearer {token}"}
        response = await teams.send(activity, headers=headers)
        assert response.status_code == (200 if served else 403), response.text
        assert len(fake.sent) == (1 if served else 0)
        stored = await teams.adapter.references.get(TENANT, channel_key(PERSONAL))
        assert (stored is not None) == served


# --- item 2: SSRF -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["loopback", "mapped", "metadata", "private", "redirect", "allowed name, local address"],
)
async def test_links_to_internal_addresses_are_refused_and_nothing_is_fetched(
    fake: FakeMicrosoft,  # noqa: F811
    tls: Tls,  # noqa: F811
    signing_key: SigningKey,  # noqa: F811
    tmp_path: Path,
    internal: Internal,
    where: str,
) -> None:
    overrides = {}
    urls = {
        "loopback": f"{internal.url}/latest/meta-data/iam",
        "mapped": f"http://[::ffff:127.0.0.1]:{internal.port}/x",
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "private": "https://10.0.0.7/files/a.mp3",
        # A Microsoft-looking hop on the service URL's origin that redirects inside.
        "redirect": fake.url + "/sharepoint/r/clip.mp3",
        # Allowed by name (TEAMS_DOWNLOAD_HOSTS), but the name resolves to loopback.
        "allowed name, local address": f"https://localhost:{internal.port}/a.mp3",
    }
    fake.redirects["/sharepoint/r/clip.mp3"] = f"{internal.url}/latest/meta-data/iam"
    if where == "allowed name, local address":
        overrides["download_hosts"] = ("localhost",)
    async with teams_app(fake, tls, signing_key, tmp_path, **overrides) as teams:
        status = await transcribe(teams, upload(urls[where]))
    assert internal.requests == []
    assert "refused to fetch" in status
    assert SECRET.decode() not in status
    assert teams.core.services.queue.counts() == {"done": 1}  # answered, not retried


async def test_redirects_on_allowed_hosts_are_followed_without_the_bot_token(
    teams: Harness,
) -> None:
    """A connector link (bot token) redirecting to a file on another path: the redirect
    is followed, checked, and the token is not sent along."""
    microsoft = teams.fake
    microsoft.add_file("/sharepoint/ann/voice.ogg", b"OggS but not really" * 100, "audio/ogg")
    microsoft.redirects["/connector/v3/attachments/0-voice/views/original"] = (
        "/sharepoint/ann/voice.ogg"
    )
    url = microsoft.url + "/connector/v3/attachments/0-voice/views/original"
    status = await transcribe(teams, media(url, "audio/ogg", "voice.ogg"))
    [first] = microsoft.called("GET", "/connector/v3/attachments/")
    [second] = microsoft.called("GET", "/sharepoint/")
    assert first.headers["Authorization"] == f"Bearer bot-token-for-{APP_ID}"
    assert "Authorization" not in second.headers
    assert "couldn't transcribe “voice.ogg”" in status and "refused" not in status


# --- item 7: the bot token by parsed origin and path, not by string prefix ----------------


async def test_the_bot_token_goes_only_under_the_service_url(
    teams: Harness, internal: Internal
) -> None:
    microsoft = teams.fake
    microsoft.add_file("/sharepoint/secret.mp3", b"ID3 not really" * 100, "audio/mpeg")
    # A string prefix of the service URL, with dot segments that leave its path.
    await transcribe(teams, media(microsoft.service_url + "../sharepoint/secret.mp3"))
    [call] = microsoft.called("GET", "/sharepoint/")
    assert "Authorization" not in call.headers


async def test_a_service_url_without_a_path_is_not_a_prefix_of_another_host(
    teams: Harness, internal: Internal
) -> None:
    """serviceUrl `http://127.0.0.1:P`: `http://127.0.0.1:P@127.0.0.1:Q/…` starts with it."""
    service = teams.fake.url  # no path, no trailing slash
    activity = teams.personal_message(
        "transcribe", attachments=[media(f"{service}@127.0.0.1:{internal.port}/v3/a.mp3")]
    )
    activity["serviceUrl"] = service
    response = await teams.send(activity, token=teams.token(service_url=service))
    assert response.status_code == 200
    await teams.settle()
    assert internal.requests == []  # and so it never saw the bot's token
    [progress] = [s for s in teams.fake.sent if s.updates]
    assert "refused to fetch" in progress.text


# --- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed", "token"),
    [
        ("https://contoso.sharepoint.com/_layouts/15/download.aspx?x=1", True, False),
        ("https://contoso-my.sharepoint.com/personal/a/b.mp4", True, False),
        ("https://contoso.sharepoint.us/a.mp4", True, False),
        ("https://files.1drv.com/a.mp4", True, False),
        ("http://contoso.sharepoint.com/a.mp4", False, False),  # https only
        ("https://sharepoint.com.evil.example/a.mp4", False, False),
        ("https://evilsharepoint.com/a.mp4", False, False),
        ("https://user@contoso.sharepoint.com/a.mp4", False, False),
        ("https://graph.microsoft.com/v1.0/me/drive/items/1/content", False, False),
        ("https://smba.trafficmanager.net/amer/v3/attachments/1/views/original", True, True),
        ("https://smba.trafficmanager.net:8443/amer/v3/attachments/1", True, True),
        ("https://eu.smba.trafficmanager.net/emea/v3/attachments/1", True, True),
        ("http://smba.trafficmanager.net/amer/v3/attachments/1", False, False),
        ("https://svc.example:443/bot/v3/attachments/1", True, True),
        ("https://svc.example/bot/../other/x", True, False),
        ("https://svc.example/botx/v3/attachments/1", True, False),
        ("https://svc.example:4443/bot/v3/attachments/1", False, False),
        ("http://svc.example/bot/v3/attachments/1", False, False),
        ("https://files.private.example/a.mp4", True, False),  # TEAMS_DOWNLOAD_HOSTS
    ],
)
def test_the_download_policy(url: str, allowed: bool, token: bool) -> None:
    policy = DownloadPolicy(
        service_url="https://svc.example/bot/",
        connector_hosts=CONNECTOR_HOSTS,
        file_hosts=(*MICROSOFT_FILE_HOSTS, "private.example"),
    )
    if not allowed:
        with pytest.raises(DownloadRefusedError):
            policy.check(url)
        return
    assert policy.check(url).token is token


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("20.190.128.1", True),
        ("2603:1030::1", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.251", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fd00:ec2::254", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("2002:a9fe:a9fe::1", False),
    ],
)
def test_what_counts_as_a_public_address(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_behind_a_proxy_the_host_list_still_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    policy = DownloadPolicy(service_url="", connector_hosts=(), file_hosts=MICROSOFT_FILE_HOSTS)
    hop = policy.check("https://contoso.sharepoint.com/a.mp4")
    assert policy.proxied(hop.url)
    assert not DownloadPolicy(
        service_url="", connector_hosts=(), file_hosts=(), trust_env=False
    ).proxied(hop.url)
    with pytest.raises(DownloadRefusedError):
        policy.check("https://169.254.169.254/latest/meta-data/")
