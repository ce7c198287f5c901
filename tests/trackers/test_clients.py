"""The real tracker clients against loopback fakes of GitHub, Jira and Linear: the wire
format they send, retries (a 502, rate limits with their reset headers), a lost answer
that must not create a second issue, refusals, and where tokens may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.trackers.base import Idempotency, TrackerRejected, TrackerUnavailable, item_marker
from bot.trackers.client import ApiClient, check_base_url
from bot.trackers.github import GitHubTracker
from bot.trackers.jira import JiraTracker
from bot.trackers.linear import LinearTracker, issue_id_for
from tests.trackers.fakes import FakeGitHub, FakeJira, FakeLinear, Fault
from tests.trackers.support import Sleeps

SINCE = datetime.now(UTC) - timedelta(minutes=1)


def once(item_id: int = 7, *, look: bool = False) -> Idempotency:
    return Idempotency(marker=item_marker(item_id), since=SINCE, maybe_created=look)


@pytest.mark.anyio
async def test_github_creates_an_issue_with_the_items_marker() -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as fake:
        client = GitHubTracker(token="gh-t", api_url=fake.base_url)
        issue = await client.create_issue("acme/web", "Ship it", "Owner: Kofi", idempotency=once())
        await client.aclose()
    assert issue.ref == "acme/web#1"
    assert issue.url == "https://github.example/acme/web/issues/1"
    assert issue.id == str(fake.issues["acme/web"][0]["id"])
    (sent,) = fake.seen("POST /repos/acme/web/issues")
    assert sent.headers["authorization"] == "Bearer gh-t"
    assert sent.headers["x-github-api-version"] == "2022-11-28"
    assert sent.body["title"] == "Ship it"
    assert "<!-- balafon-item-7 -->" in sent.body["body"]


@pytest.mark.anyio
async def test_github_502_then_success_creates_one_issue() -> None:
    sleeps = Sleeps()
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as fake:
        fake.fail_next(Fault(status=502, on="POST"))
        client = GitHubTracker(token="gh-t", api_url=fake.base_url, sleep=sleeps)
        issue = await client.create_issue("acme/web", "Ship it", "", idempotency=once())
        await client.aclose()
    assert issue.ref == "acme/web#1"
    assert len(fake.issues["acme/web"]) == 1
    # After the 502 (maybe created), it looked for the marker before posting again.
    assert [f"{r.method}" for r in fake.requests] == ["POST", "GET", "POST"]


@pytest.mark.anyio
async def test_github_lost_answer_finds_the_issue_instead_of_a_second() -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as fake:
        fake.fail_next(Fault(on="POST", after=True, hang_up=True))
        client = GitHubTracker(token="gh-t", api_url=fake.base_url, sleep=Sleeps())
        issue = await client.create_issue("acme/web", "Ship it", "", idempotency=once())
        await client.aclose()
    assert len(fake.issues["acme/web"]) == 1
    assert issue.ref == "acme/web#1"


@pytest.mark.anyio
async def test_github_rate_limit_waits_until_its_reset() -> None:
    sleeps = Sleeps()
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as fake:
        fake.fail_next(FakeGitHub.rate_limited(on="POST", reset_in=2))
        client = GitHubTracker(token="gh-t", api_url=fake.base_url, sleep=sleeps)
        await client.create_issue("acme/web", "Ship it", "", idempotency=once())
        await client.aclose()
    assert len(fake.issues["acme/web"]) == 1
    assert len(sleeps.waits) == 1 and 0 < sleeps.waits[0] <= 3.2  # x-ratelimit-reset


@pytest.mark.anyio
async def test_a_rate_limit_longer_than_we_wait_is_left_to_the_job() -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as fake:
        fake.fail_next(FakeGitHub.rate_limited(on="POST", reset_in=900))
        client = GitHubTracker(token="gh-t", api_url=fake.base_url, sleep=Sleeps())
        with pytest.raises(TrackerUnavailable) as caught:
            await client.create_issue("acme/web", "Ship it", "", idempotency=once())
        await client.aclose()
    assert caught.value.retry_after is not None and caught.value.retry_after > 800
    assert fake.issues["acme/web"] == []


@pytest.mark.anyio
async def test_github_refusals_are_permanent_and_say_why() -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as fake:
        client = GitHubTracker(token="gh-t", api_url=fake.base_url, sleep=Sleeps())
        with pytest.raises(TrackerRejected, match="404: Not Found"):
            await client.create_issue("acme/nope", "x", "", idempotency=once())
        wrong = GitHubTracker(token="stolen", api_url=fake.base_url, sleep=Sleeps())
        with pytest.raises(TrackerRejected, match="Bad credentials"):
            await wrong.create_issue("acme/web", "x", "", idempotency=once())
        await client.aclose()
        await wrong.aclose()
    assert len(fake.seen("POST")) == 2  # each refused at once, not retried


@pytest.mark.anyio
async def test_jira_creates_with_adf_and_label_and_retries_after() -> None:
    sleeps = Sleeps()
    with FakeJira(email="bot@acme.example", token="jt", projects={"ENG"}) as fake:
        fake.fail_next(Fault(status=429, headers={"retry-after": "1"}, on="POST"))
        client = JiraTracker(
            url=fake.base_url, email="bot@acme.example", api_token="jt", sleep=sleeps
        )
        issue = await client.create_issue(
            "eng", "Ship it", "Owner: Kofi\n\nDue: 2026-12-11", idempotency=once()
        )
        closed = await client.set_state(issue, "closed", reason="completed")
        await client.aclose()
    assert issue.ref == "ENG-1" and issue.url == f"{fake.base_url}/browse/ENG-1"
    assert issue.id == "10001"
    assert sleeps.waits and 1 <= sleeps.waits[0] < 1.2  # Retry-After
    (created,) = fake.issues
    description = created["fields"]["description"]
    assert description["type"] == "doc" and description["version"] == 1
    assert [p["content"][0]["text"] for p in description["content"]] == [
        "Owner: Kofi",
        "Due: 2026-12-11",
    ]
    assert created["labels"] == ["balafon-item-7"]
    assert created["fields"]["issuetype"] == {"name": "Task"}
    assert closed and created["status"] == "done"  # the transition to the done category


@pytest.mark.anyio
async def test_jira_lost_answer_is_found_by_its_label() -> None:
    sleeps = Sleeps()
    with FakeJira(email="e", token="t", projects={"ENG"}) as fake:
        fake.fail_next(Fault(on="POST /rest/api/3/issue", after=True, hang_up=True))
        client = JiraTracker(url=fake.base_url, email="e", api_token="t", sleep=sleeps)
        issue = await client.create_issue("ENG", "Ship it", "", idempotency=once())
        await client.aclose()
    assert len(fake.issues) == 1 and issue.ref == "ENG-1"
    assert sleeps.waits == [5.0]  # the search index's lag, before looking


@pytest.mark.anyio
async def test_jira_refusal_quotes_its_errors() -> None:
    with FakeJira(email="e", token="t", projects={"ENG"}) as fake:
        client = JiraTracker(url=fake.base_url, email="e", api_token="t", sleep=Sleeps())
        with pytest.raises(TrackerRejected, match="valid project is required"):
            await client.create_issue("OPS", "Ship it", "", idempotency=once())
        await client.aclose()


@pytest.mark.anyio
async def test_linear_creates_in_the_team_with_the_items_own_id() -> None:
    sleeps = Sleeps()
    with FakeLinear(api_key="lin_api_k", teams={"ENG": "team-eng"}) as fake:
        fake.fail_next(FakeLinear.rate_limited(on="POST", reset_in=1))
        client = LinearTracker(api_key="lin_api_k", api_url=fake.api_url, sleep=sleeps)
        issue = await client.create_issue("eng", "Ship it", "Owner: Kofi", idempotency=once())
        await client.aclose()
    assert issue.ref == "ENG-1" and issue.url == "https://linear.example/issue/ENG-1"
    assert issue.id == issue_id_for("balafon-item-7")
    assert len(sleeps.waits) == 1 and sleeps.waits[0] <= 2.2  # X-RateLimit-Requests-Reset (ms)
    create = next(r for r in fake.requests if "issueCreate" in r.body["query"])
    assert create.headers["authorization"] == "lin_api_k"  # a personal key: no "Bearer"
    assert create.body["variables"]["input"]["teamId"] == "team-eng"


@pytest.mark.anyio
async def test_linear_lost_answer_and_unknown_team() -> None:
    with FakeLinear(api_key="k", teams={"ENG": "team-eng"}) as fake:
        fake.fail_next(Fault(on="POST", body_has="issueCreate", after=True, hang_up=True))
        client = LinearTracker(api_key="k", api_url=fake.api_url, sleep=Sleeps())
        first = await client.create_issue("ENG", "Ship it", "", idempotency=once(look=True))
        again = await client.create_issue("ENG", "Ship it", "", idempotency=once(look=True))
        with pytest.raises(TrackerRejected, match="no team with the key OPS"):
            await client.create_issue("OPS", "x", "", idempotency=once(8))
        await client.aclose()
    assert first == again and len(fake.issues) == 1


@pytest.mark.anyio
async def test_tokens_go_only_to_the_configured_host() -> None:
    """A redirect is not followed (the token would go with it), and nothing but a path
    under the base URL can be asked for."""
    with (
        FakeGitHub(token="gh-t", repos={"acme/web"}) as elsewhere,
        FakeGitHub(token="gh-t", repos={"acme/web"}) as fake,
    ):
        location = f"{elsewhere.base_url}/repos/acme/web/issues"
        fake.fail_next(Fault(status=307, headers={"location": location}, on="POST"))
        client = GitHubTracker(token="gh-t", api_url=fake.base_url, sleep=Sleeps())
        with pytest.raises(TrackerRejected):
            await client.create_issue("acme/web", "x", "", idempotency=once())
        for path in (location, "//evil.example/x", "https://evil.example/x"):
            with pytest.raises(ValueError):
                client.api.url(path)
        await client.aclose()
    assert elsewhere.requests == []
    with pytest.raises(ValueError, match="https"):
        check_base_url("http://jira.acme.example")
    with pytest.raises(ValueError):
        ApiClient("x", "https://user:pw@jira.acme.example", {})
    assert check_base_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


@pytest.mark.anyio
async def test_jira_rate_limit_reset_as_an_iso_time() -> None:
    """Jira's X-RateLimit-Reset is a time (yyyy-MM-ddTHH:mmZ), not a number of seconds."""
    sleeps = Sleeps()
    reset = (datetime.now(UTC) + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%MZ")
    with FakeJira(email="e", token="t", projects={"ENG"}) as fake:
        fake.fail_next(Fault(status=429, headers={"x-ratelimit-reset": reset}, on="POST"))
        client = JiraTracker(url=fake.base_url, email="e", api_token="t", sleep=sleeps)
        await client.create_issue("ENG", "Ship it", "", idempotency=once())
        await client.aclose()
    assert len(fake.issues) == 1
    assert len(sleeps.waits) == 1 and sleeps.waits[0] <= 30.2  # at most a minute away, capped
