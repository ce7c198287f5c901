"""An in-memory chat platform for driving the core without Slack or Teams (errbot's
test backend idea): channels hold messages, posts and updates are recorded."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from bot.inbound import Inbound
from bot.jobs import Worker
from bot.main import build_services
from bot.ports import ChatMessage, FileRef, HistoryUnavailableError, Place, Reply, ReplyTarget
from summarizer.errors import MediaTooLargeError
from summarizer.pipeline import Summarizer


@dataclass
class Posted:
    target: ReplyTarget
    reply: Reply
    updates: list[Reply] = field(default_factory=list)

    @property
    def last(self) -> Reply:
        return self.updates[-1] if self.updates else self.reply


class MemoryPlatform:
    name = "memory"

    def __init__(self) -> None:
        self.channels: dict[str, list[ChatMessage]] = {}
        self.members: dict[str, set[str]] = {}
        self.managers: dict[str, set[str]] = {}  # channel -> who may `forget` / `retention`
        self.files: dict[str, Path] = {}
        self.posts: dict[str, Posted] = {}
        self.history_calls = 0
        self.forgotten: list[Place] = []  # places `forget` was asked to delete
        self.history_available = True  # False: like a Teams bot without Graph
        self.direct: set[str] = set()  # one-person conversations (DirectConversations)
        self._ids = itertools.count(1)

    def add(self, channel: str, message: ChatMessage) -> ChatMessage:
        self.channels.setdefault(channel, []).append(message)
        return message

    async def post(self, target: ReplyTarget, reply: Reply) -> str:
        message_id = f"bot-{next(self._ids)}"
        self.posts[message_id] = Posted(target=target, reply=reply)
        return message_id

    async def update(self, target: ReplyTarget, message_id: str, reply: Reply) -> None:
        self.posts[message_id].updates.append(reply)

    async def fetch_messages(
        self, place: Place, *, oldest: datetime | None = None, latest: datetime | None = None
    ) -> list[ChatMessage]:
        self.history_calls += 1
        if not self.history_available:
            raise HistoryUnavailableError("I can't read this conversation's history.")
        found = []
        for message in self.channels.get(place.channel, []):
            if place.thread and place.thread not in (message.id, message.thread):
                continue
            if (oldest and message.at < oldest) or (latest and message.at > latest):
                continue
            found.append(message)
        return found

    async def download(self, place: Place, file: FileRef, dest: Path, *, max_bytes: int) -> Path:
        source = self.files[file.id]
        if source.stat().st_size > max_bytes:
            raise MediaTooLargeError("The file is over the size limit.")
        shutil.copyfile(source, dest)
        return dest

    async def permalink(self, place: Place, message_id: str) -> str | None:
        return f"https://chat.example/{place.channel}/{message_id}"

    async def is_member(self, place: Place, user_id: str) -> bool:
        return user_id in self.members.get(place.channel, set())

    async def can_manage(self, place: Place, user_id: str) -> bool:
        return user_id in self.managers.get(place.channel, set())

    async def is_direct(self, place: Place) -> bool:
        return place.channel in self.direct

    async def forget(self, place: Place) -> None:
        self.forgotten.append(place)


def memory_bot(
    engine, *, clock, platform: MemoryPlatform | None = None, transcriber_factory=None
) -> tuple[Inbound, Worker, MemoryPlatform]:
    """The core on `engine` with a memory platform, digests, and a worker to drain."""
    platform = platform or MemoryPlatform()
    services = build_services(
        engine=engine,
        clock=clock,
        summarizer=Summarizer(),
        transcriber_factory=transcriber_factory or (lambda: pytest.fail("no transcription")),
        max_media_bytes=10_000,
    )
    services.register(platform)
    return Inbound(services), services.worker(worker_id="test"), platform
