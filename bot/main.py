"""Composition root: the only module of `bot/` that imports `adapters/`.

It builds settings, storage, the pipeline, the core and the enabled adapters, and mounts
them on the ASGI app.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from adapters.playground.settings import PlaygroundSettings
from adapters.playground.spec import ADAPTER as PLAYGROUND
from adapters.slack.settings import SlackSettings
from adapters.slack.spec import ADAPTER as SLACK
from adapters.teams.settings import TeamsSettings
from adapters.teams.spec import ADAPTER as TEAMS
from bot.access import new_token
from bot.adapter_spec import AdapterSpec, MountContext, metrics_prefixes
from bot.api import HttpApi
from bot.app import Ingress, Mountable, create_app, database_check, model_check
from bot.config import CoreSettings
from bot.features import recap, speakers, transcription
from bot.features.digests.service import DigestService
from bot.features.items import trackers as item_trackers
from bot.features.items.reminder_times import QuietHours, ReminderPolicy
from bot.features.items.reminders import ReminderService
from bot.features.media import MediaRunner
from bot.inbound import Inbound
from bot.jobs import QUEUES, JobQueue, Worker
from bot.scheduler import DigestScheduler
from bot.services import Limits, Services
from bot.storage.db import create_db_engine, upgrade
from bot.storage.repo import Repository
from bot.trackers.registry import Trackers
from bot.trackers.webhooks import WEBHOOK_PATHS as TRACKER_WEBHOOK_PATHS
from bot.trackers.webhooks import TrackerWebhooks
from summarizer.pipeline import Summarizer

if TYPE_CHECKING:
    from celery import Celery

    from summarizer.transcribe import Transcriber

log = logging.getLogger(__name__)
T = TypeVar("T")
# Event and webhook delivery ids are kept this long to refuse retries and replays
# (platforms retry within minutes, trackers redeliver within days).
EVENTS_KEPT = timedelta(days=30)
# The adapters: adding a platform is one package (with its `spec.ADAPTER`) and one line
# here, plus its settings class among the bases of `Settings` below.
ADAPTERS: tuple[AdapterSpec[Any], ...] = (SLACK, TEAMS, PLAYGROUND)
# Signed server-to-server endpoints (DESIGN's fixed paths): no browser sends them, so the
# cross-site refusal does not apply there; their signatures / JWTs protect them.
WEBHOOK_PATHS = (
    *(path for spec in ADAPTERS for path in spec.webhook_paths),
    *TRACKER_WEBHOOK_PATHS,
)
METRICS_PREFIXES = metrics_prefixes(ADAPTERS)


class Settings(CoreSettings, SlackSettings, TeamsSettings, PlaygroundSettings):
    """Every setting: the core's and each adapter's, read from the environment and `.env`
    (one flat namespace: SLACK_BOT_TOKEN is `slack_bot_token`)."""


@dataclass
class Runtime:
    settings: Settings
    core: Inbound
    worker: Worker
    adapters: list[Mountable]
    app: Starlette
    playground: bool = False  # the local playground is mounted (serve prints its address)
    access_token: str = ""  # opens the playground (`?token=`) and /v1 (Bearer)


def build_services(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    migrate: bool = True,
    clock: Callable[[], datetime] | None = None,
    summarizer: Summarizer | None = None,
    transcriber_factory: Callable[[], Transcriber] | None = None,
    max_media_bytes: int | None = None,
    work_dir: Path | None = None,
    digests: bool = True,
) -> Services:
    """The one place `Services` are built, with every core job kind registered. Tests and
    bench/ override what they fake: `engine` (else DATABASE_URL, migrated), `clock`,
    `summarizer` (else LLM_MODEL's), `transcriber_factory`, `max_media_bytes` (else
    MAX_MEDIA_MB), `work_dir` (else DATA_DIR/tmp; the system's temporary folder when no
    settings are given). Without settings: the defaults, without .env (tests)."""
    if settings is None:
        settings = Settings.model_construct()
    elif work_dir is None:
        work_dir = Path(settings.data_dir) / "tmp"
        work_dir.mkdir(parents=True, exist_ok=True)
    if engine is None:
        engine = create_db_engine(settings.database_url)
        if migrate:
            upgrade(engine)
    transcriber_config = settings.transcriber_config()

    def transcriber() -> Transcriber:
        from summarizer.transcribe import Transcriber

        return Transcriber(config=transcriber_config)

    services = Services(
        repo=Repository(engine),
        queue=JobQueue(engine, lease_seconds=settings.job_lease_seconds),
        summarizer=summarizer or Summarizer(llm=settings.llm_config()),
        media=MediaRunner(
            transcriber_factory or transcriber,
            workers=settings.transcribe_concurrency,
            diarization=settings.diarization,
        ),
        limits=Limits(
            max_media_bytes=max_media_bytes or transcriber_config.max_bytes,
            default_timezone=settings.default_timezone,
            admin_users=frozenset(settings.admin_user_ids()),
            work_dir=work_dir,
            retention_days=settings.retention_days,
            voice_profiles=settings.voice_profiles,
        ),
        clock=clock or (lambda: datetime.now(UTC)),
    )
    services.jobs.add(recap.job_kind(services))
    services.jobs.add(transcription.job_kind(services))
    services.jobs.add(speakers.job_kind(services))
    services.trackers = Trackers(settings.tracker_config())
    services.jobs.add(item_trackers.job_kind(services))
    services.jobs.add(item_trackers.status_job_kind(services))
    services.sweepers.append(speakers.sweeper(services))
    services.sweepers.append(
        lambda now: {"processed events": services.repo.prune_events(now - EVENTS_KEPT)}
    )
    if digests:
        DigestService(
            services,
            post_when_quiet=settings.digest_post_when_quiet,
            retention_days=settings.retention_days,
        )
    policy = ReminderPolicy(
        hours_before=settings.reminder_hours_before, quiet=QuietHours.parse(settings.quiet_hours)
    )
    ReminderService(services, policy=policy)  # the scheduler runs its passes
    return services


def build_core(settings: Settings, *, migrate: bool = True) -> tuple[Inbound, Worker]:
    """The services, the inbound side adapters call, and a worker for every kind."""
    services = build_services(settings, migrate=migrate)
    return Inbound(services), services.worker()


def attach_executor(settings: Settings, core: Inbound) -> Celery | None:
    """With JOB_EXECUTOR=celery, jobs enqueued by this process go to the broker too (the
    database row comes first either way); returns the Celery app, else None."""
    if settings.job_executor != "celery":
        return None
    from bot.celery_jobs import CeleryDispatcher, celery_app

    app = celery_app(settings.celery_broker_url)
    core.services.queue.dispatcher = CeleryDispatcher(app, core.services.jobs.queue_of)
    return app


def build_adapters(
    settings: Settings,
    core: Inbound,
    *,
    slack_socket_mode: bool = False,
    host: str = "127.0.0.1",
    serving: bool = True,
    access_token: str = "",
) -> list[Mountable]:
    """The enabled adapters, registered with the core. `serving` False: for a worker
    process, which posts results but serves no pages. `access_token` opens the playground."""
    context = MountContext(
        core=core,
        data_dir=Path(settings.data_dir),
        encryption_key=(
            settings.encryption_key.get_secret_value() if settings.encryption_key else ""
        ),
        host=host,
        serving=serving,
        access_token=access_token,
        slack_socket_mode=slack_socket_mode,
    )
    mounted = (spec.mount(settings, context) for spec in ADAPTERS)
    return [part for part in mounted if part is not None]


def build_runtime(
    settings: Settings | None = None,
    *,
    slack_socket_mode: bool = False,
    host: str = "127.0.0.1",
) -> Runtime:
    """Everything `balafon serve` runs; `slack_socket_mode` receives Slack events over
    Socket Mode (SLACK_APP_TOKEN) instead of only over HTTP; `host` is the address served
    (the playground is on by default only on a loopback address)."""
    settings = settings or Settings()
    core, worker = build_core(settings)
    # One per start unless ACCESS_TOKEN is set (several web processes must share one).
    access_token = (
        settings.access_token.get_secret_value() if settings.access_token else new_token()
    )
    adapters = build_adapters(
        settings, core, slack_socket_mode=slack_socket_mode, host=host, access_token=access_token
    )
    api = HttpApi(
        core=core.services,
        upload_dir=Path(settings.data_dir) / "api",
        token=settings.api_token.get_secret_value() if settings.api_token else None,
        access_token=access_token,
        result_hours=settings.api_result_hours,
        max_upload_seconds=settings.max_media_minutes * 60.0,
    )
    assert core.services.digests is not None
    scheduler = DigestScheduler(
        core.services.digests, grace_seconds=settings.digest_grace_minutes * 60
    )
    # Acks first: a job starts once the requests in flight are answered (or after 2 s).
    ingress = Ingress()
    worker.wrap = ingress.deferring
    readiness = [database_check(core.services.repo.engine)]
    runs_worker = settings.serve_runs_worker
    if broker := attach_executor(settings, core):
        from bot.celery_jobs import broker_check

        readiness.append(broker_check(broker))
        runs_worker = False  # `balafon worker` processes run the jobs
    if runs_worker:  # this process transcribes: its model must be there
        readiness.append(model_check(settings.transcriber_config()))
    parts: list[Mountable] = [*adapters, api, TrackerWebhooks(core.services)]
    if settings.serve_runs_scheduler:
        parts.append(scheduler)
    app = create_app(
        adapters=parts,
        worker=worker if runs_worker else None,
        readiness=readiness,
        metrics_engine=core.services.repo.engine,
        admin_token=settings.admin_token.get_secret_value() if settings.admin_token else None,
        metrics_token=(
            settings.metrics_token.get_secret_value() if settings.metrics_token else None
        ),
        ingress=ingress,
        webhook_paths=WEBHOOK_PATHS,
        metrics_prefixes=METRICS_PREFIXES,
    )
    return Runtime(
        settings=settings,
        core=core,
        worker=worker,
        adapters=adapters,
        app=app,
        playground="playground" in core.services.platforms,
        access_token=access_token,
    )


def stop_streams(runtime: Runtime) -> None:
    """End long-lived responses (the playground's live updates) so that a server shutting
    down is not held up by them; safe to call from a signal handler."""
    for adapter in runtime.adapters:
        stop = getattr(adapter, "stop_streams", None)
        if stop is not None:
            stop()


def browser_url(host: str, port: int) -> str:
    """Where to point a browser: a wildcard address is reachable on loopback."""
    if host in {"", "0.0.0.0", "::"}:
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def add_adapter_commands(commands: argparse._SubParsersAction) -> None:
    """Adapters' own CLI commands (`balafon teams-package`); each sets `adapter_command`."""
    from adapters.teams.package import add_arguments, run

    teams_package = commands.add_parser(
        "teams-package", help="build the Teams app package (manifest + icons, zipped)"
    )
    add_arguments(teams_package)
    teams_package.set_defaults(adapter_command=run)


def _worker_core(
    settings: Settings, queues: Collection[str], concurrency: int | None
) -> tuple[Inbound, Worker, list[Mountable]]:
    """The core of a `balafon worker` process: the platforms are set up as in `serve` (they
    post the results) and every job kind is known, but only `queues`' kinds are taken."""
    core, worker = build_core(settings)
    adapters = build_adapters(settings, core, serving=False)
    HttpApi(core=core.services, upload_dir=Path(settings.data_dir) / "api")  # its job kind
    worker.kinds = lambda: core.services.jobs.kinds_on(queues)
    worker.concurrency = concurrency or settings.worker_concurrency
    return core, worker, adapters


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    queues: Collection[str] = QUEUES,
    concurrency: int | None = None,
) -> None:
    """`balafon worker` with the in-process executor: run jobs from the database queue,
    without serving HTTP, until `stop`. A job this process was running when it died is
    taken over by another worker once its lease expires."""
    _, worker, adapters = _worker_core(settings, queues, concurrency)
    for adapter in adapters:
        await adapter.startup()
    try:
        log.info("worker %s started (jobs: %s)", worker.worker_id, ", ".join(worker.kinds()))
        await worker.run(stop)
    finally:
        for adapter in adapters:
            await adapter.shutdown()


def run_celery_worker(
    settings: Settings, *, queues: Collection[str] = QUEUES, concurrency: int | None = None
) -> None:
    """`balafon worker` with JOB_EXECUTOR=celery: a Celery worker on `queues` whose task runs
    the job on this process's event loop; returns when Celery shuts down (SIGTERM/SIGINT)."""
    from bot.celery_jobs import register_task, resend_loop, worker_argv

    core, worker, adapters = _worker_core(settings, queues, concurrency)
    app = attach_executor(settings, core)
    assert app is not None
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="jobs-loop", daemon=True)
    thread.start()

    def on_loop(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    stop = asyncio.Event()
    background: set[asyncio.Task[None]] = set()

    async def start() -> None:
        for adapter in adapters:
            await adapter.startup()
        resend = timedelta(seconds=settings.celery_resend_seconds)
        # Every kind the Celery workers run, whichever queue this process takes.
        kinds = core.services.jobs.kinds_on(QUEUES)
        background.add(loop.create_task(resend_loop(core.services.queue, kinds, resend, stop)))

    on_loop(start())
    register_task(app, worker, loop)
    try:
        log.info("worker %s started (jobs: %s)", worker.worker_id, ", ".join(worker.kinds()))
        app.worker_main(worker_argv(queues, worker.concurrency, settings.log_level))
    finally:

        async def finish() -> None:
            stop.set()
            await asyncio.wait(background, timeout=10)
            for adapter in adapters:
                await adapter.shutdown()

        on_loop(finish())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


async def run_scheduler(settings: Settings, stop: asyncio.Event) -> None:
    """`balafon scheduler`: fire digests and retention sweeps into the job queue, and send
    reminders of action items, until `stop` (for deployments whose web processes run with
    SERVE_RUNS_SCHEDULER=false; one process at a time leads, so running several is safe).
    The platforms are set up as in a worker: reminders are posted from here."""
    core, _ = build_core(settings)
    attach_executor(settings, core)
    adapters = build_adapters(settings, core, serving=False)
    for adapter in adapters:
        await adapter.startup()
    # Its results expire with the sweeps this process runs.
    HttpApi(
        core=core.services,
        upload_dir=Path(settings.data_dir) / "api",
        result_hours=settings.api_result_hours,
    )
    assert core.services.digests is not None
    scheduler = DigestScheduler(
        core.services.digests, grace_seconds=settings.digest_grace_minutes * 60
    )
    await scheduler.startup()
    try:
        log.info("scheduler %s started", scheduler.lease.holder)
        await stop.wait()
    finally:
        await scheduler.shutdown()
        for adapter in adapters:
            await adapter.shutdown()
