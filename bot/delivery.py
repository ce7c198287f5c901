"""Posting: each reply exactly once per key, "working on it" withdrawn once answered, and
a failed job told to its requester. Also `LatestUpdate` for progress messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot import sentences
from bot.job_kinds import Replying
from bot.ports import (
    AckWithdrawing,
    ChatPlatform,
    ErrorReply,
    MarkedPosting,
    Reply,
    ReplyTarget,
    TextReply,
)
from bot.storage.base import row_id
from bot.storage.models import Job
from bot.storage.repo import Repository

log = logging.getLogger(__name__)


def ack_key(job_id: int) -> str:
    """The delivery key of a job's "working on it" (see `Delivery.acknowledge`)."""
    return f"job:{job_id}:ack"


def answered_key(job_id: int) -> str:
    return f"job:{job_id}:answered"


class Delivery:
    def __init__(self, repo: Repository, platforms: Mapping[str, ChatPlatform]) -> None:
        self.repo = repo
        self.platforms = platforms

    async def deliver(
        self, key: str, platform: ChatPlatform, target: ReplyTarget, reply: Reply
    ) -> str:
        """Post once per key: a retried job finds the earlier post and does not repeat it.

        A platform that marks its posts with their key (Slack: message metadata) gets a
        pending record first. A retry that finds it still pending (the process died after
        the platform accepted the post, before its id was stored) has the platform look for
        the marked post instead of posting again.
        """
        existing = await asyncio.to_thread(self.repo.delivery, key)
        if existing is not None and existing.message_id:
            return existing.message_id
        if isinstance(platform, MarkedPosting):
            if existing is None:
                await asyncio.to_thread(
                    self.repo.begin_delivery, key, platform.name, target.place.channel
                )
            since = existing.created_at if existing is not None else None
            message_id = await platform.post_marked(target, reply, key=key, since=since)
        else:
            message_id = await platform.post(target, reply)
        await asyncio.to_thread(
            self.repo.record_delivery, key, platform.name, target.place.channel, message_id
        )
        return message_id

    async def acknowledge(
        self, platform: ChatPlatform, target: ReplyTarget, ack: str | None, job_id: int | None
    ) -> None:
        """Post the requester's "working on it" (`ack`) at `target`. A platform that can
        withdraw it has it withdrawn once the job has answered, also when the job was
        quicker than this post: each side writes its mark, then looks for the other's."""
        if not ack:
            return
        reply = TextReply(text=ack)
        if job_id is None or not isinstance(platform, AckWithdrawing):
            await platform.post(target, reply)
            return
        message_id = await self.deliver(ack_key(job_id), platform, target, reply)
        if await asyncio.to_thread(self.repo.delivery, answered_key(job_id)):
            await platform.withdraw(target, message_id)

    async def answered(self, job_id: int, platform: ChatPlatform, target: ReplyTarget) -> None:
        """The job posted its result (or its failure): its "working on it" goes."""
        if not isinstance(platform, AckWithdrawing):
            return
        key = answered_key(job_id)
        await asyncio.to_thread(self.repo.begin_delivery, key, platform.name, target.place.channel)
        ack = await asyncio.to_thread(self.repo.delivery, ack_key(job_id))
        if ack is not None and ack.message_id:
            await platform.withdraw(target, ack.message_id)

    async def tell_failure(
        self, job: Job, payload: Replying, reason: str, user_facing: bool
    ) -> None:
        """Tell the requester; `reason` is shown only when it was written for people."""
        platform = self.platforms.get(payload.platform)
        if platform is None:
            return
        if user_facing:
            text = sentences.JOB_FAILED.format(kind=job.kind, reason=reason)
        else:
            text = sentences.JOB_GAVE_UP.format(kind=job.kind, job_id=job.id)
        try:
            await self.deliver(
                f"job:{job.id}:failed", platform, payload.reply, ErrorReply(text=text)
            )
            await self.answered(row_id(job), platform, payload.reply)
        except Exception:
            log.exception("could not tell the user that job %s failed", job.id)


class LatestUpdate:
    """Progress updates of one message, posted one at a time in the order offered: while
    one is on its way only the newest waits (older ones are skipped). `close` waits for the
    one on its way and drops the rest, so that nothing lands after the final state."""

    def __init__(self, platform: ChatPlatform, target: ReplyTarget, message_id: str) -> None:
        self._platform, self._target, self._message_id = platform, target, message_id
        self._waiting: Reply | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._run())

    def offer(self, reply: Reply) -> None:
        """On the event loop (`loop.call_soon_threadsafe(updates.offer, reply)`)."""
        if not self._closed:
            self._waiting = reply
            self._wake.set()

    async def close(self) -> None:
        self._closed = True
        self._waiting = None
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            reply, self._waiting = self._waiting, None
            if reply is None:
                if self._closed:
                    return
                continue
            try:
                await self._platform.update(self._target, self._message_id, reply)
            except Exception:  # a lost progress update must not cost the transcript
                log.warning("could not update progress message %s", self._message_id, exc_info=True)


__all__ = ["Delivery", "LatestUpdate", "ack_key", "answered_key"]
