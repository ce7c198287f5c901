"""The job registry: every kind of durable job, with its queue, its typed payload, what
runs it and what tells its user when it fails for good.

A kind is registered before any web, worker or Celery process starts (by the feature
that owns it, from `bot.main.build_services`, or by an adapter as the composition root
builds it), and a worker takes exactly the kinds of the queues it serves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.errors import PermanentJobError
from bot.jobs import DEFAULT_QUEUE, Handler, JobContext
from bot.ports import ReplyTarget
from bot.storage.models import Job

log = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)


class JobPayload(BaseModel):
    """A job's stored payload. Unknown keys are kept: rows written by another version of
    the bot still parse (and keep what they carried)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def stored(self) -> dict[str, Any]:
        """As written to the jobs table."""
        return self.model_dump(mode="json")


class Replying(JobPayload):
    """A payload whose job answers someone: on `platform`, at `reply`. (The stored shape
    is the one jobs always had: {"platform": …, "reply": {"place": …, …}}.)"""

    platform: str
    reply: ReplyTarget


FailureTeller = Callable[[Job, Replying, str, bool], Awaitable[None]]


@dataclass(frozen=True)
class JobKind(Generic[P]):
    """One kind of job. `run(job, payload, context)` may return a JSON-able result;
    `on_failure(job, payload, reason, user_facing)` replaces the generic "tell the
    requester" of `Replying` payloads."""

    name: str
    payload: type[P]
    run: Callable[[Job, P, JobContext], Awaitable[dict[str, Any] | None]]
    queue: str = DEFAULT_QUEUE
    on_failure: Callable[[Job, P, str, bool], Awaitable[None]] | None = None

    def parse(self, job: Job) -> P:
        try:
            return self.payload.model_validate(job.payload)
        except ValidationError as exc:
            raise PermanentJobError(f"this {self.name} job's stored data is unreadable") from exc

    def handler(self) -> Handler:
        async def run(job: Job, context: JobContext) -> dict[str, Any] | None:
            return await self.run(job, self.parse(job), context)

        return run


class JobRegistry(Mapping[str, Handler]):
    """Kind name -> handler (what `Worker` reads), plus queues and failure hooks."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind[Any]] = {}
        self._handlers: dict[str, Handler] = {}
        self.tell_failure: FailureTeller | None = None  # set by Services: the generic hook

    def add(self, kind: JobKind[Any]) -> None:
        self._kinds[kind.name] = kind
        self._handlers[kind.name] = kind.handler()

    def kind(self, name: str) -> JobKind[Any]:
        return self._kinds[name]

    def __getitem__(self, name: str) -> Handler:
        return self._handlers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)

    def queue_of(self, name: str) -> str:
        kind = self._kinds.get(name)
        return kind.queue if kind is not None else DEFAULT_QUEUE

    def kinds_on(self, queues: Collection[str]) -> list[str]:
        """The job kinds a worker serving `queues` takes."""
        return [name for name, kind in self._kinds.items() if kind.queue in queues]

    async def on_failure(self, job: Job, reason: str, *, user_facing: bool) -> None:
        """The `Worker`'s failure hook: the kind's own, else tell whoever asked."""
        kind = self._kinds.get(job.kind)
        if kind is None:
            return
        try:
            payload = kind.payload.model_validate(job.payload)
        except ValidationError:
            log.warning("job %s failed and its payload is unreadable: nobody told", job.id)
            return
        if kind.on_failure is not None:
            await kind.on_failure(job, payload, reason, user_facing)
        elif isinstance(payload, Replying) and self.tell_failure is not None:
            await self.tell_failure(job, payload, reason, user_facing)


__all__ = ["JobKind", "JobPayload", "JobRegistry", "Replying"]
