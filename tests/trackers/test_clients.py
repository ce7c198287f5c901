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
from tests.trackers.fakes import FakeGitHub, FakeJira, FakeLinear, Fault, jira_status_of
from tests.trackers.support import Sleeps

SINCE = datetime.now(UTC) - timedelta(minutes=1)
TOKEN = "5e0c4f1a9b2d7e36"  # the export token `claim_export` gives an item
MARKER = f"balafon-item-7-{TOKEN}"


def once(item_id: int = 7, *, look: bool = False) -> Idempotency:
    return Idempotency(marker=item_marker(item_id, TOKEN), since=SINCE, maybe_created=look)


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
    assert f"<!-- {MARKER} -->" in sent.body["body"]


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
    assert created["labels"] == [MARKER]
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
    assert issue.id == issue_id_for(MARKER)
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


def test_the_marker_carries_the_export_token() -> None:
    assert item_marker(57, "ab12") == "balafon-item-57-ab12"
    assert item_marker(57, "ab12") != item_marker(57, "cd34")
    for bad in ("", "a b", "x-->"):
        with pytest.raises(ValueError):
            item_marker(57, bad)


@pytest.mark.anyio
async def test_jira_looks_only_at_issues_created_since_the_export_began() -> None:
    """An issue labelled with the marker but made long before the export (not ours) is
    not taken for the one a lost answer may have created."""
    import time

    with FakeJira(email="e", token="t", projects={"ENG"}) as fake:
        fake.issues.append(
            {
                "id": "10001",
                "key": "ENG-1",
                "fields": {},
                "labels": [MARKER],
                "status_id": jira_status_of("new"),
                "status": "new",
                "created": time.time() - 3 * 3600,
            }
        )
        client = JiraTracker(url=fake.base_url, email="e", api_token="t", sleep=Sleeps())
        since = datetime.now(UTC) - timedelta(seconds=61)
        idempotency = Idempotency(marker=MARKER, since=since, maybe_created=True)
        issue = await client.create_issue("ENG", "Ship it", "", idempotency=idempotency)
        await client.aclose()
    (search,) = fake.seen("GET /rest/api/3/search/jql")
    assert "created >= -7m" in search.query["jql"][0]  # 61 s ago: 2 minutes, and 5 of slack
    assert issue.ref == "ENG-2" and len(fake.issues) == 2


@pytest.mark.anyio
async def test_jira_moves_an_issue_only_across_the_done_line() -> None:
    """Asked to open an issue that is open (To Do), Jira's client leaves it there instead
    of taking the first open transition (To Do -> In Progress); likewise for closed."""
    with FakeJira(email="e", token="t", projects={"ENG"}) as fake:
        client = JiraTracker(url=fake.base_url, email="e", api_token="t", sleep=Sleeps())
        issue = await client.create_issue("ENG", "Ship it", "", idempotency=once())
        (created,) = fake.issues
        assert await client.set_state(issue, "open", reason="")
        assert created["status"] == "new"
        assert await client.set_state(issue, "closed", reason="completed")
        assert created["status"] == "done"
        assert await client.set_state(issue, "closed", reason="not_planned")
        FakeJira.move(created, jira_status_of("indeterminate"))
        assert await client.set_state(issue, "open", reason="")
        assert created["status"] == "indeterminate"
        assert await client.set_state(issue, "open", reason="")  # In Progress stays
        assert created["status"] == "indeterminate"
        await client.aclose()
    moves = [r.body["transition"]["id"] for r in fake.seen("POST /rest/api/3/issue/ENG-1/")]
    assert moves == ["31"]  # only the one close that was needed


@pytest.mark.anyio
async def test_jira_and_linear_say_which_statuses_are_closed() -> None:
    with (
        FakeJira(email="e", token="t", projects={"ENG"}) as jira,
        FakeLinear(api_key="k", teams={"ENG": "team-eng"}) as linear,
    ):
        jira_client = JiraTracker(url=jira.base_url, email="e", api_token="t", sleep=Sleeps())
        linear_client = LinearTracker(api_key="k", api_url=linear.api_url, sleep=Sleeps())
        jira_closed = [
            await jira_client.is_closed_status(jira_status_of(c))
            for c in ("new", "indeterminate", "done")
        ]
        linear_closed = [await linear_client.is_closed_status(s["id"]) for s in linear.states]
        with pytest.raises(TrackerRejected):
            await jira_client.is_closed_status("99999")
        with pytest.raises(TrackerRejected):
            await jira_client.is_closed_status("../issue/ENG-1")  # never a path
        with pytest.raises(TrackerRejected):
            await linear_client.is_closed_status("st-nope")
        await jira_client.aclose()
        await linear_client.aclose()
    assert jira_closed == [False, False, True]
    assert linear_closed == [False, False, False, True, True]  # completed, canceled
