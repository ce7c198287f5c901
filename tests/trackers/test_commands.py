"""`@balafon link github|jira|linear …` and `unlink`, through the in-memory platform."""

from __future__ import annotations

import pytest

from bot import sentences
from bot.features import help_text
from bot.ports import ErrorReply, TextReply
from bot.storage.models import TrackerLink
from bot.storage.trackers import TrackerStore
from bot.trackers.registry import TrackerConfig
from tests.trackers.fakes import FakeGitHub
from tests.trackers.support import say, tracker_bot, tracker_config


def links(core) -> list[TrackerLink]:
    from sqlmodel import Session, select

    with Session(core.services.repo.engine) as session:
        return list(session.exec(select(TrackerLink)).all())


@pytest.mark.anyio
async def test_a_manager_links_and_unlinks_a_channel(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, _ = tracker_bot(engine, tracker_config(github=github))
        linked = (await say(core, "link github acme/web", "Ev1")).reply
        assert isinstance(linked, TextReply) and "GitHub acme/web" in linked.text
        assert "exported by themselves" not in linked.text  # AUTO_EXPORT is off
        (link,) = links(core)
        assert (link.tracker, link.target, link.created_by) == ("github", "acme/web", "U-Boss")
        assert (await say(core, "link github acme/web", "Ev1")).duplicate  # a retried event
        relinked = (await say(core, "@balafon link github acme/api", "Ev2")).reply
        assert isinstance(relinked, TextReply)
        assert [(x.tracker, x.target) for x in links(core)] == [("github", "acme/api")]
        gone = (await say(core, "unlink", "Ev3")).reply
        assert isinstance(gone, TextReply) and "no longer linked to GitHub acme/api" in gone.text
        assert links(core) == []
        again = (await say(core, "unlink", "Ev4")).reply
        assert isinstance(again, TextReply) and again.text == sentences.NOT_LINKED
    assert github.requests == []  # linking calls nothing


@pytest.mark.anyio
async def test_only_managers_may_link(engine) -> None:
    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, _ = tracker_bot(engine, tracker_config(github=github))
        refused = (await say(core, "link github acme/web", "Ev1", user="U-Ann")).reply
        assert isinstance(refused, ErrorReply) and refused.text.startswith("Only ")
        unlink = (await say(core, "unlink", "Ev2", user="U-Ann")).reply
        assert isinstance(unlink, ErrorReply)
    assert links(core) == []


@pytest.mark.anyio
async def test_a_direct_message_is_linked_by_admin_users_only(engine) -> None:
    """Everyone manages their own direct message with the bot, but a link points the
    deployment's token at a repository: there only ADMIN_USERS may link."""
    from dataclasses import replace

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, platform = tracker_bot(engine, tracker_config(github=github))
        platform.direct.add("C1")  # the channel of `say` is a one-person conversation
        refused = (await say(core, "link github acme/web", "Ev1")).reply
        assert isinstance(refused, ErrorReply) and refused.text.startswith("Only ")
        assert links(core) == []
        limits = core.services.limits
        core.services.limits = replace(limits, admin_users=frozenset({"U-Boss"}))
        assert isinstance((await say(core, "link github acme/web", "Ev2")).reply, TextReply)
    assert len(links(core)) == 1


@pytest.mark.anyio
async def test_admin_users_may_link_anywhere(engine) -> None:
    from dataclasses import replace

    with FakeGitHub(token="gh-t", repos={"acme/web"}) as github:
        core, _, _ = tracker_bot(engine, tracker_config(github=github))
        limits = core.services.limits
        core.services.limits = replace(limits, admin_users=frozenset({"memory:U-Ops"}))
        ok = (await say(core, "link github acme/web", "Ev1", user="U-Ops")).reply
        assert isinstance(ok, TextReply)
    assert len(links(core)) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("link github acme", "OWNER/REPO"),
        ("link github acme/web/extra", "OWNER/REPO"),
        ("link github -acme/web", "OWNER/REPO"),
        ("link jira 1ENG", "project key"),
        ("link jira E", "project key"),
        ("link linear eng-team", "team key"),
        ("link gitlab acme/web", "`@balafon link github acme/website`"),
        ("link", "`@balafon link jira ENG`"),
    ],
)
async def test_targets_are_checked_before_anything_is_stored(engine, text, says) -> None:
    core, _, _ = tracker_bot(engine, TrackerConfig())
    answer = (await say(core, text, "Ev1")).reply
    assert isinstance(answer, ErrorReply) and says in answer.text
    assert links(core) == []


@pytest.mark.anyio
async def test_an_unconfigured_tracker_names_its_missing_settings(engine) -> None:
    core, _, _ = tracker_bot(engine, TrackerConfig(jira_url="https://acme.atlassian.net"))
    answer = (await say(core, "link jira eng", "Ev1")).reply
    assert isinstance(answer, ErrorReply)
    assert "JIRA_EMAIL and JIRA_API_TOKEN" in answer.text and "JIRA_URL" not in answer.text
    linear = (await say(core, "link linear ENG", "Ev2")).reply
    assert isinstance(linear, ErrorReply) and "LINEAR_API_KEY" in linear.text
    assert links(core) == []


@pytest.mark.anyio
async def test_jira_and_linear_keys_are_stored_upper_case(engine) -> None:
    config = TrackerConfig(
        jira_url="https://acme.atlassian.net",
        jira_email="e",
        jira_api_token="t",
        linear_api_key="k",
        auto_export=True,
    )
    core, _, _ = tracker_bot(engine, config)
    answer = (await say(core, "link jira eng", "Ev1")).reply
    assert isinstance(answer, TextReply) and sentences.LINKED_AUTO in answer.text
    channel_id = links(core)[0].channel_id
    assert TrackerStore(core.services.repo.engine).link_of(channel_id).target == "ENG"
    await say(core, "link linear core", "Ev2")
    assert [(x.tracker, x.target) for x in links(core)] == [("linear", "CORE")]


def test_the_help_offers_link() -> None:
    assert "`@balafon link github acme/website`" in help_text()
