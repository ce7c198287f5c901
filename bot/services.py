"""What every part of the bot works with, built in one place (`bot.main.build_services`):
storage, the job queue and its registry, the summarizer, the platforms, the clock, the
limits, the media runner, delivery and conversations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.conversations import Conversations
from bot.delivery import Delivery
from bot.features.media import MediaRunner
from bot.job_kinds import JobRegistry
from bot.jobs import JobQueue, Worker
from bot.metrics import observe_recap
from bot.ports import ChatPlatform
from bot.storage.repo import Repository
from bot.trackers.registry import Trackers
from summarizer.pipeline import Summarizer
from summarizer.types import Conversation, Recap

if TYPE_CHECKING:
    from bot.features.digests.service import DigestService
    from bot.features.items.reminders import ReminderService


@dataclass(frozen=True)
class Limits:
    max_media_bytes: int
    default_timezone: str = "UTC"
    # ADMIN_USERS: `user id` or `platform:user id`; they manage every channel.
    admin_users: frozenset[str] = field(default_factory=frozenset)
    work_dir: Path | None = None  # where downloads are unpacked (a temp dir when None)
    retention_days: int | None = None  # RETENTION_DAYS: channels without their own
    voice_profiles: bool = False  # VOICE_PROFILES: named voices are remembered


class Services:
    def __init__(
        self,
        *,
        repo: Repository,
        queue: JobQueue,
        summarizer: Summarizer,
        media: MediaRunner,
        limits: Limits,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo = repo
        self.queue = queue
        self.summarizer = summarizer
        self.media = media
        self.limits = limits
        self.clock = clock
        self.platforms: dict[str, ChatPlatform] = {}
        self.jobs = JobRegistry()
        self.delivery = Delivery(repo, self.platforms)
        self.jobs.tell_failure = self.delivery.tell_failure
        self.conversations = Conversations(repo)
        self.digests: DigestService | None = None  # set by the digests feature
        # Issue trackers items are exported to (bot/trackers); none until configured.
        self.trackers = Trackers()
        self.reminders: ReminderService | None = None  # set by the reminders feature
        # Run by the hourly retention sweep after the core's own (the API's expiry):
        # each deletes what has expired at the given time and returns counts by kind.
        self.sweepers: list[Callable[[datetime], dict[str, int]]] = []

    @property
    def max_media_bytes(self) -> int:
        return self.limits.max_media_bytes

    def register(self, platform: ChatPlatform) -> None:
        self.platforms[platform.name] = platform

    def is_admin(self, platform: str, user_id: str) -> bool:
        admins = self.limits.admin_users
        return user_id in admins or f"{platform}:{user_id}" in admins

    async def summarize(self, conversation: Conversation) -> Recap:
        """Recap off the event loop, counting LLM tokens and fallbacks (InputError, from the
        summarizer, when there is nothing to recap)."""
        recap = await asyncio.to_thread(self.summarizer.recap, conversation)
        observe_recap(recap)
        return recap

    def worker(self, *, queues: Collection[str] | None = None, **options: Any) -> Worker:
        """A worker running the registered kinds (only `queues`' kinds when given)."""
        worker = Worker(self.queue, self.jobs, on_failure=self.jobs.on_failure, **options)
        if queues is not None:
            worker.kinds = lambda: self.jobs.kinds_on(queues)
        return worker


__all__ = ["Limits", "Services"]
