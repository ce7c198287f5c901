"""The trackers this deployment can talk to, built from the settings (bot/config.py): a
tracker is there when its token (and, for Jira, its site and email) are set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.trackers.base import TRACKERS, Tracker
from bot.trackers.client import Sleep
from bot.trackers.github import DEFAULT_API_URL as GITHUB_API_URL
from bot.trackers.github import GitHubTracker
from bot.trackers.github import check_target as github_target
from bot.trackers.jira import JiraTracker
from bot.trackers.jira import check_target as jira_target
from bot.trackers.linear import DEFAULT_API_URL as LINEAR_API_URL
from bot.trackers.linear import LinearTracker
from bot.trackers.linear import check_target as linear_target


@dataclass(frozen=True, kw_only=True)
class TrackerConfig:
    """The tracker settings, as plain strings ("" = unset)."""

    github_token: str = ""
    github_api_url: str = GITHUB_API_URL
    github_webhook_secret: str = ""
    jira_url: str = ""
    jira_email: str = ""
    jira_api_token: str = ""
    jira_webhook_secret: str = ""
    jira_issue_type: str = "Task"
    linear_api_key: str = ""
    linear_api_url: str = LINEAR_API_URL
    linear_webhook_secret: str = ""
    auto_export: bool = False

    def missing(self, tracker: str) -> list[str]:
        """The settings `tracker` needs that are not set (to export to it)."""
        needed = {
            "github": {"GITHUB_TOKEN": self.github_token},
            "jira": {
                "JIRA_URL": self.jira_url,
                "JIRA_EMAIL": self.jira_email,
                "JIRA_API_TOKEN": self.jira_api_token,
            },
            "linear": {"LINEAR_API_KEY": self.linear_api_key},
        }[tracker]
        return [name for name, value in needed.items() if not value]


class Trackers:
    """name -> client, for the trackers whose settings are complete."""

    def __init__(self, config: TrackerConfig | None = None, *, sleep: Sleep | None = None) -> None:
        self.config = config or TrackerConfig()
        self.clients: dict[str, Tracker] = {}
        config = self.config
        if not config.missing("github"):
            self.clients["github"] = GitHubTracker(
                token=config.github_token,
                api_url=config.github_api_url,
                webhook_secret=config.github_webhook_secret,
                sleep=sleep,
            )
        if not config.missing("jira"):
            self.clients["jira"] = JiraTracker(
                url=config.jira_url,
                email=config.jira_email,
                api_token=config.jira_api_token,
                webhook_secret=config.jira_webhook_secret,
                issue_type=config.jira_issue_type,
                sleep=sleep,
            )
        if not config.missing("linear"):
            self.clients["linear"] = LinearTracker(
                api_key=config.linear_api_key,
                api_url=config.linear_api_url,
                webhook_secret=config.linear_webhook_secret,
                sleep=sleep,
            )

    @property
    def auto_export(self) -> bool:
        return self.config.auto_export

    def get(self, name: str) -> Tracker | None:
        return self.clients.get(name)

    def webhook_secrets(self) -> Mapping[str, str]:
        return {
            "github": self.config.github_webhook_secret,
            "jira": self.config.jira_webhook_secret,
            "linear": self.config.linear_webhook_secret,
        }

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def check_target(tracker: str, target: str) -> str:
    """`target` in its normal form for `tracker` (ValueError: what is expected)."""
    checks = {"github": github_target, "jira": jira_target, "linear": linear_target}
    return checks[tracker](target)


__all__ = ["TRACKERS", "TrackerConfig", "Trackers", "check_target"]
