"""Issue #11, items 14, 15 and 16: anonymous mode off loopback, malformed but
authenticated activities, and the CA bundle the environment must not replace."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.teams import TeamsConfigError, TeamsOptions
from adapters.teams.adapter import check_listen_host
from tests.security.teams_support import teams_app
from tests.teams.conftest import (  # noqa: F401  (fixtures)
    APP_ID,
    PERSONAL,
    Harness,
    fake,
    signing_key,
    tls,
)
from tests.teams.crypto import SigningKey, Tls
from tests.teams.fake_microsoft import FakeMicrosoft

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def teams(
    fake: FakeMicrosoft,  # noqa: F811
    tls: Tls,  # noqa: F811
    signing_key: SigningKey,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    async with teams_app(fake, tls, signing_key, tmp_path) as harness:
        yield harness


# --- item 15: what cannot be read is ignored, and the answer is 200 -----------------------


async def test_a_mention_whose_mentioned_is_a_string_is_ignored(teams: Harness) -> None:
    activity = teams.personal_message("help")
    activity["entities"].append({"type": "mention", "text": "<at>x</at>", "mentioned": "x"})
    response = await teams.send(activity)
    assert response.status_code == 200, response.text
    [reply] = teams.replies(PERSONAL)
    assert "Here's what I can do" in reply.text


@pytest.mark.parametrize(
    "members",
    [[{}], [{"id": None}], ["29:x"], [{"id": 7}]],
)
async def test_unreadable_members_added_are_ignored(teams: Harness, members: list) -> None:
    activity = teams.personal_message("")
    activity.update(type="conversationUpdate", membersAdded=members, membersRemoved=members)
    activity.pop("text", None)
    response = await teams.send(activity)
    assert response.status_code == 200, response.text
    assert teams.fake.sent == []


async def test_unreadable_channel_data_and_attachments_are_ignored(teams: Harness) -> None:
    activity = teams.personal_message("help")
    activity["channelData"] = {"tenant": activity["channelData"]["tenant"], "team": "x"}
    activity["attachments"] = ["not an attachment", {"contentType": "audio/ogg", "contentUrl": 5}]
    response = await teams.send(activity)
    assert response.status_code == 200, response.text
    [reply] = teams.replies(PERSONAL)
    assert "Here's what I can do" in reply.text


# --- item 14: anonymous mode only on a loopback address -----------------------------------


def test_anonymous_mode_refuses_to_serve_on_a_public_address(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_", "SLACK_"))},
        "TEAMS_ANONYMOUS": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--host", "0.0.0.0", "--port", "0"],
            cwd=tmp_path,  # no .env of the checkout
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("balafon serve started in anonymous mode on 0.0.0.0") from exc
    assert done.returncode != 0
    assert "TEAMS_ANONYMOUS" in done.stderr and "0.0.0.0" in done.stderr
    assert "balafon is running" not in done.stderr


# --- item 16: TEAMS_CA_BUNDLE wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE ---------------


@pytest.mark.parametrize("variable", [None, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
async def test_the_configured_ca_bundle_is_not_replaced_by_the_environment(
    fake: FakeMicrosoft,  # noqa: F811
    tls: Tls,  # noqa: F811
    signing_key: SigningKey,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    """The token endpoint is https, signed by the test CA in TEAMS_CA_BUNDLE; the
    environment names another CA (a bogus bundle). Proxies from the environment are on,
    as in production."""
    bogus = Tls.create(tmp_path / "bogus")
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    if variable:
        monkeypatch.setenv(variable, str(bogus.ca_file))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # The connector over https too (the fake serves it on its TLS port as well).
    service = fake.login_url.rsplit("/login", 1)[0] + "/connector/"
    async with teams_app(fake, tls, signing_key, tmp_path, trust_env=True) as teams:
        activity = teams.personal_message("help")
        activity["serviceUrl"] = service
        response = await teams.send(activity, token=teams.token(service_url=service))
        assert response.status_code == 200, response.text
        [reply] = teams.replies(PERSONAL)
    assert "Here's what I can do" in reply.text
    assert [t for t in fake.token_requests if t["client_id"] == APP_ID]
    [post] = fake.called("POST", "/connector/v3/conversations/")
    assert post.headers["Authorization"] == f"Bearer bot-token-for-{APP_ID}"


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.5", True),
        ("bot.example", True),
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
        (None, False),
    ],
)
def test_the_anonymous_listen_host_check(host: str | None, refused: bool) -> None:
    anonymous = TeamsOptions(allow_anonymous=True)
    if refused:
        with pytest.raises(TeamsConfigError, match="TEAMS_ANONYMOUS"):
            check_listen_host(anonymous, host)
    else:
        check_listen_host(anonymous, host)
    check_listen_host(TeamsOptions(app_id="x", app_password="y"), host)  # not anonymous
