"""Composition root: the only module of `bot/` that imports `adapters/`.

It builds settings, storage, the pipeline, the core and the enabled adapters, and mounts
them on the ASGI app.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from bot.app import Ingress, Mountable, create_app, database_check
from bot.config import Settings
from bot.core import BotCore
from bot.digests import DigestService
from bot.jobs import JobQueue, Worker
from bot.scheduler import DigestScheduler
from bot.storage.db import create_db_engine, upgrade
from bot.storage.repo import Repository
from summarizer.pipeline import Summarizer

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    core: BotCore
    worker: Worker
    adapters: list[Mountable]
    app: Starlette


def build_core(settings: Settings, *, migrate: bool = True) -> tuple[BotCore, Worker]:
    engine = create_db_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    repo = Repository(engine)
    queue = JobQueue(engine)
    transcriber_config = settings.transcriber_config()

    def transcriber():
        from summarizer.transcribe import Transcriber

        return Transcriber(config=transcriber_config)

    work_dir = Path(settings.data_dir) / "tmp"
    work_dir.mkdir(parents=True, exist_ok=True)
    core = BotCore(
        repo=repo,
        queue=queue,
        summarizer=Summarizer(llm=settings.llm_config()),
        transcriber_factory=transcriber,
        max_media_bytes=transcriber_config.max_bytes,
        default_timezone=settings.default_timezone,
        work_dir=work_dir,
    )
    DigestService(
        core,
        post_when_quiet=settings.digest_post_when_quiet,
        retention_days=settings.retention_days,
    )
    worker = Worker(queue, core.handlers, on_failure=core.on_job_failed)
    return core, worker


def build_adapters(
    settings: Settings, core: BotCore, *, slack_socket_mode: bool = False
) -> list[Mountable]:
    adapters: list[Mountable] = []
    if settings.slack_signing_secret or slack_socket_mode:
        from adapters.slack import SlackAdapter

        slack = SlackAdapter(settings=settings, core=core, socket_mode=slack_socket_mode)
        core.register(slack)
        adapters.append(slack)
    if settings.microsoft_app_id or settings.teams_anonymous:
        from adapters.teams import TeamsAdapter

        teams = TeamsAdapter(settings=settings, core=core)
        core.register(teams)
        adapters.append(teams)
    return adapters


def build_runtime(settings: Settings | None = None, *, slack_socket_mode: bool = False) -> Runtime:
    """Everything `balafon serve` runs; `slack_socket_mode` receives Slack events over
    Socket Mode (SLACK_APP_TOKEN) instead of only over HTTP."""
    settings = settings or Settings()
    core, worker = build_core(settings)
    adapters = build_adapters(settings, core, slack_socket_mode=slack_socket_mode)
    assert core.digests is not None
    scheduler = DigestScheduler(core.digests, grace_seconds=settings.digest_grace_minutes * 60)
    # Acks first: a job starts once the requests in flight are answered (or after 2 s).
    ingress = Ingress()
    worker.wrap = ingress.deferring
    app = create_app(
        adapters=[*adapters, scheduler],
        worker=worker,
        readiness=[database_check(core.repo.engine)],
        metrics_engine=core.repo.engine,
        ingress=ingress,
    )
    return Runtime(settings=settings, core=core, worker=worker, adapters=adapters, app=app)


def add_adapter_commands(commands: argparse._SubParsersAction) -> None:
    """Adapters' own CLI commands (`balafon teams-package`); each sets `adapter_command`."""
    from adapters.teams.package import add_arguments, run

    teams_package = commands.add_parser(
        "teams-package", help="build the Teams app package (manifest + icons, zipped)"
    )
    add_arguments(teams_package)
    teams_package.set_defaults(adapter_command=run)
