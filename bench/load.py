"""Benchmark: sustained Slack events into `balafon serve` with web and worker processes:
ack latency, jobs per minute, queue depth and memory, at increasing rates or as a soak.

Run by hand (never in tests):

    python bench/load.py --web 1 --workers 1 --rates 2,5,10,20 --step-seconds 60
    python bench/load.py --web 2 --workers 2 --rates 2,5,10,20 --output load-2web.json
    python bench/load.py --web 2 --workers 2 --soak-minutes 10 --soak-rate 5 \
        --samples soak.csv --output soak.json
    python bench/load.py --executor inprocess --database-url sqlite --rates 2,5

It starts the fake Slack Web API of the tests on its own thread (as bench/slack_ack.py
does), `--web` processes `balafon serve` (SERVE_RUNS_WORKER=false, one port each) and
`--workers` processes `balafon worker`, on one fresh database (default: the PostgreSQL
database `balafon_load`, dropped and created; `--database-url sqlite`: a new SQLite file)
and, with `--executor celery`, a flushed Redis broker database. The generator is the load
balancer: it sends signed events round-robin to the web ports, open loop (each at its
scheduled time, whatever the earlier ones are doing), and times each from that time to
its response. `--mention-share` of the events are `@balafon recap` mentions in seeded
threads (one recap job each), the rest plain channel messages.

Per step: ack p50/p99/max and failures, jobs finished per minute (from the `jobs` table,
and from the recaps the fake Slack received: they should agree), queue depth (queued +
running jobs, every `--sample-seconds`), RSS and CPU of the web and worker processes.
Then it waits for the queue to drain and checks that every mention got exactly one recap.
A soak (`--soak-minutes`) reports, per process, first- and last-minute RSS and its
least-squares slope (MB/min), and the same for the queue depth (jobs/min). Process output
goes to log files in a temporary folder, kept (and reported) when they show errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import psutil
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.slack_ack import (  # noqa: E402
    USERS,
    SlackThread,
    app_env,
    balafon_command,
    envelope,
    sign,
    summary,
    wait_ready,
)
from tests.slack.fake_slack import BOT_USER, FakeSlack  # noqa: E402

T = TypeVar("T")
CHANNELS = [f"C0LOAD{i}" for i in range(8)]
STATUSES = ("queued", "running", "done", "failed")
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/balafon_load"
CONVERSATION = [
    "The billing deploy failed at 14:05 with a migration timeout.",
    "The logs show the nightly export held a lock on the invoices table.",
    "Can we move the nightly export to 02:00 so it never overlaps deploys?",
    "Agreed: we decided to move the export to 02:00 starting tonight.",
    "I will update the cron schedule by Friday.",
    "Who owns the migration timeout? It is still 30 seconds.",
    "Priya will raise the migration timeout to 120 seconds and add an alert.",
    "Yes, Tom will email support today with the list of affected customers.",
    "Open question: should deploys be blocked while the export runs?",
    "Rollback finished, billing is healthy again.",
]


@dataclass
class Proc:
    name: str  # web1, worker1, ...
    role: str  # web | worker
    popen: subprocess.Popen
    log: Path


@dataclass
class Step:
    name: str
    rate: float
    bodies: list[bytes] = field(default_factory=list)
    mentions: list[tuple[str, str]] = field(default_factory=list)  # (channel, thread ts)


async def on_fake(slack: SlackThread, function: Callable[..., T], *args: Any) -> T:
    """Run `function` on the fake's loop without blocking this one (the generator's)."""

    async def call() -> T:
        return function(*args)

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(), slack.loop))


def seed(fake: FakeSlack, step: Step, count: int, share: float, replies: int) -> Step:
    """`count` events: mentions in threads seeded in the fake, or plain messages."""
    for i in range(count):
        channel, user = CHANNELS[i % len(CHANNELS)], USERS[i % len(USERS)]
        line = CONVERSATION[i % len(CONVERSATION)]
        if int((i + 1) * share) > int(i * share):
            root = fake.add_message(channel, user, line)["ts"]
            for r in range(1, replies + 1):
                reply = CONVERSATION[(i + r) % len(CONVERSATION)]
                fake.add_message(channel, USERS[(i + r) % len(USERS)], reply, thread_ts=root)
            message = fake.add_message(channel, user, f"<@{BOT_USER}> recap", thread_ts=root)
            event = {**message, "type": "app_mention", "channel": channel}
            step.mentions.append((channel, root))
        else:
            message = fake.add_message(channel, user, line)
            event = {**message, "channel": channel, "channel_type": "channel"}
        step.bodies.append(envelope(event, f"Ev{step.name}x{i:06d}"))
    return step


def recap_posts(fake: FakeSlack) -> list[tuple[float, str, str]]:
    """(time.monotonic(), channel, thread) of every thread recap the app posted."""
    return [
        (c.at, c.args.get("channel", ""), c.args.get("thread_ts", ""))
        for c in fake.called("chat.postMessage")
        if str(c.args.get("text", "")).startswith("Thread recap")
    ]


async def send(session: aiohttp.ClientSession, urls: list[str], step: Step) -> dict[str, Any]:
    """Open loop: event i leaves at start + i/rate; its latency counts from that time."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()

    async def one(i: int, body: bytes, due: float) -> None:
        try:
            url = f"{urls[i % len(urls)]}/slack/events"
            async with session.post(url, data=body, headers=sign(body)) as response:
                await response.read()
            if 200 <= response.status < 300:
                latencies.append(time.perf_counter() - due)
            else:
                failures[f"HTTP {response.status}"] += 1
        except (aiohttp.ClientError, TimeoutError) as error:
            failures[type(error).__name__] += 1

    start, lag, tasks = time.perf_counter() + 0.05, 0.0, []
    for i, body in enumerate(step.bodies):
        due = start + i / step.rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        lag = max(lag, time.perf_counter() - due)
        tasks.append(asyncio.create_task(one(i, body, due)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    result = summary(latencies, wall, len(step.bodies)) if latencies else {}
    sent = {"sent": len(step.bodies), "failures": dict(failures), "generator_lag_ms": lag * 1e3}
    return result | sent


def usage(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of a process and its children."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    rss = cpu = 0.0
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            rss += process.memory_info().rss
            cpu += sum(process.cpu_times()[:2])
    return rss / 2**20, cpu


class Sampler:
    """Queue depth (the `jobs` table; the broker's lists) and per-process RSS and CPU."""

    def __init__(self, database_url: str, procs: list[Proc], broker: Any | None) -> None:
        self.engine = create_engine(database_url, pool_size=1, max_overflow=0)
        self.procs, self.broker = procs, broker
        self.step = "start"
        self.samples: list[dict[str, Any]] = []

    def snapshot(self) -> dict[str, Any]:
        with self.engine.connect() as connection:
            query = text("SELECT status, count(*) FROM jobs GROUP BY status")
            counts = dict(connection.execute(query).all())
        snap: dict[str, Any] = {"t": time.monotonic(), "step": self.step}
        snap |= {status: counts.get(status, 0) for status in STATUSES}
        snap["depth"] = snap["queued"] + snap["running"]
        if self.broker is not None:  # Celery's queues are Redis lists
            lists = [k for k in self.broker.scan_iter() if self.broker.type(k) == b"list"]
            snap["broker"] = sum(self.broker.llen(k) for k in lists)
        for proc in self.procs:
            rss, cpu = usage(proc.popen.pid)
            snap[f"{proc.name}_rss_mb"], snap[f"{proc.name}_cpu_s"] = round(rss, 1), round(cpu, 2)
        return snap

    async def take(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.snapshot)

    async def run(self, every: float) -> None:
        while True:
            self.samples.append(await self.take())
            await asyncio.sleep(every)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    mean_t, mean_v = (statistics.fmean(p[k] for p in points) for k in (0, 1))
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else 0.0


def step_report(
    step: Step, sent: dict[str, Any], window: tuple[dict[str, Any], dict[str, Any]], run: Run
) -> dict[str, Any]:
    before, after = window
    seconds = after["t"] - before["t"]
    inside = [s for s in run.sampler.samples if s["step"] == step.name] or [after]
    depth = [s["depth"] for s in inside]
    posted = sum(before["t"] <= t < after["t"] for t, _, _ in run.posts)
    report = {"step": step.name, "rate": step.rate, "mentions": len(step.mentions), **sent}
    report |= {
        "offered_jobs_per_min": 60 * len(step.mentions) / seconds,
        "jobs_per_min_db": 60 * (after["done"] - before["done"]) / seconds,
        "recaps_per_min_slack": 60 * posted / seconds,
        "queue_avg": statistics.fmean(depth),
        "queue_max": max(depth),
        "queue_end": after["depth"],
        "broker_max": max(s.get("broker", 0) for s in inside),
    }
    for role in ("web", "worker"):
        names = [p.name for p in run.procs if p.role == role]
        report[f"{role}_rss_mb"] = sum(after[f"{n}_rss_mb"] for n in names)
        cpu = sum(after[f"{n}_cpu_s"] - before[f"{n}_cpu_s"] for n in names)
        report[f"{role}_cpu_percent"] = 100 * cpu / seconds
    return report


def soak_report(run: Run) -> dict[str, dict[str, float]]:
    inside = [s for s in run.sampler.samples if s["step"] == "soak"]
    t0, t1 = inside[0]["t"], inside[-1]["t"]
    series = {f"{p.name}_rss_mb": f"{p.name} RSS (MB)" for p in run.procs}
    series["depth"] = "queue depth (jobs)"
    return {
        label: {
            "first_minute": statistics.fmean(s[key] for s in inside if s["t"] - t0 <= 60),
            "last_minute": statistics.fmean(s[key] for s in inside if t1 - s["t"] <= 60),
            "slope_per_min": slope([(s["t"] - t0, s[key]) for s in inside]),
        }
        for key, label in series.items()
    }


def fresh_database(url: str, workdir: Path) -> str:
    """`sqlite`: a new file in `workdir`; PostgreSQL: drop and create the database."""
    if url == "sqlite":
        return f"sqlite:///{workdir / 'load.db'}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
        admin.dispose()
    return url


@dataclass
class Run:
    """The processes under test and what was measured."""

    workdir: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    sampler: Sampler = field(init=False)
    posts: list[tuple[float, str, str]] = field(default_factory=list)

    def spawn(self, name: str, role: str, *args: str) -> Proc:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            command = balafon_command(*args)
            popen = subprocess.Popen(
                command, env=self.env, cwd=self.workdir, stdout=out, stderr=out
            )
        self.procs.append(Proc(name, role, popen, log))
        return self.procs[-1]

    def stop(self) -> dict[str, Any]:
        died = [p.name for p in self.procs if p.popen.poll() is not None]
        for proc in self.procs:
            proc.popen.terminate()
        for proc in self.procs:
            try:
                proc.popen.wait(30)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
        words = ("Traceback", "ERROR", "CRITICAL", "Exception", "WARNING")
        problems = {}
        for proc in self.procs:
            lines = proc.log.read_text(errors="replace").splitlines()
            if bad := [line for line in lines if any(w in line for w in words)]:
                problems[proc.name] = bad
        # uvicorn re-raises SIGTERM after a graceful shutdown: -15 is a clean exit for serve.
        exits = {p.name: p.popen.returncode for p in self.procs}
        return {"died_early": died, "exit_codes": exits, "log_problems": problems}


async def drain(slack: SlackThread, sampler: Sampler, recaps: int, limit: float) -> float:
    """Wait (at most `limit` s) until no job is queued or running and `recaps` were posted."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        posts = await on_fake(slack, recap_posts, slack.fake)
        if (await sampler.take())["depth"] == 0 and len(posts) >= recaps:
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def measure(args: argparse.Namespace, slack: SlackThread, run: Run) -> dict[str, Any]:
    fake = slack.fake
    urls = [f"http://127.0.0.1:{args.port + i}" for i in range(args.web)]
    connector = aiohttp.TCPConnector(limit=1024, keepalive_timeout=2.0)  # < uvicorn's 5 s
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for i, url in enumerate(urls):  # one at a time: the first one migrates the database
            serve = ("serve", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1])
            await wait_ready(session, url, run.spawn(f"web{i + 1}", "web", *serve).popen)
        for i in range(args.workers):
            run.spawn(f"worker{i + 1}", "worker", "worker", *shlex.split(args.worker_args))
        broker = None
        if args.executor == "celery":
            import redis

            broker = redis.Redis.from_url(args.broker)
        run.sampler = sampler = Sampler(run.env["DATABASE_URL"], run.procs, broker)
        sampling = asyncio.create_task(sampler.run(args.sample_seconds))
        if args.soak_minutes:
            plan = [("soak", args.soak_rate, args.soak_minutes * 60)]
        else:
            plan = [(f"{rate:g}/s", rate, args.step_seconds) for rate in args.rates]
        plan.insert(0, ("warmup", plan[0][1], args.warmup_seconds))
        done: list[tuple[Step, dict[str, Any], tuple[dict[str, Any], dict[str, Any]]]] = []
        for name, rate, seconds in plan:
            count = max(1, round(rate * seconds))
            share, replies = args.mention_share, args.thread_replies
            step = await on_fake(slack, seed, fake, Step(name, rate), count, share, replies)
            sampler.step = name
            before = await sampler.take()
            sent = await send(session, urls, step)
            done.append((step, sent, (before, await sampler.take())))
            print(f"{name}: {count} events, p99 {sent.get('p99_ms', 0):.0f} ms", flush=True)
            if name == "warmup":  # every worker is up and has run jobs before measuring
                await drain(slack, sampler, len(step.mentions), args.drain_seconds)
    sampler.step = "drain"
    expected = {m for step, _, _ in done for m in step.mentions}
    drained = await drain(slack, sampler, len(expected), args.drain_seconds)
    await asyncio.sleep(2.0)  # time for a duplicate to show up
    sampling.cancel()
    final = await sampler.take()
    run.posts = await on_fake(slack, recap_posts, fake)
    sampler.engine.dispose()
    per_thread = Counter((channel, thread) for _, channel, thread in run.posts)
    results: dict[str, Any] = {
        "steps": [step_report(*d, run) for d in done if d[0].name != "warmup"],
        "drain_seconds": drained,
        "check": {
            "mentions": len(expected),
            "recap_posts": len(run.posts),
            "missing": len(expected - per_thread.keys()),
            "duplicated": sum(1 for m in expected if per_thread[m] > 1),
            "unexpected": len(per_thread.keys() - expected),
            "jobs": {status: final[status] for status in STATUSES},
        },
    }
    if args.soak_minutes:
        results["soak"] = soak_report(run)
    t0 = sampler.samples[0]["t"]
    results["samples"] = [s | {"t": round(s["t"] - t0, 2)} for s in sampler.samples]
    return results


def start(args: argparse.Namespace) -> dict[str, Any]:
    slack = SlackThread()
    slack.start()
    for channel in CHANNELS:
        slack.call(slack.fake.add_channel, channel, *USERS)
    workdir = Path(tempfile.mkdtemp(prefix="balafon-load-"))
    database_url = fresh_database(args.database_url, workdir)
    if args.executor == "celery":
        import redis

        redis.Redis.from_url(args.broker).flushdb()
    env = app_env(slack.fake, workdir, database_url) | {
        "SERVE_RUNS_WORKER": "false",
        "JOB_EXECUTOR": args.executor,
        "CELERY_BROKER_URL": args.broker,
    }
    run = Run(workdir, env | dict(item.split("=", 1) for item in args.env))
    try:
        results = asyncio.run(measure(args, slack, run))
    finally:
        ended = run.stop()
        slack.stop()
    results |= ended
    if args.keep or ended["log_problems"] or ended["died_early"]:
        results["logs"] = str(workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def machine(args: argparse.Namespace) -> dict[str, Any]:
    git = ["git", "describe", "--always", "--dirty"]
    database = args.database_url
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "revision": subprocess.run(git, cwd=ROOT, capture_output=True, text=True).stdout.strip(),
        "executor": args.executor,
        "web": args.web,
        "workers": args.workers,
        "worker_args": args.worker_args,
        "database": database if database == "sqlite" else make_url(database).get_backend_name(),
    }


def report(results: dict[str, Any]) -> str:
    m, c = results["machine"], results["check"]
    lines = [
        f"Load: {m['web']} web + {m['workers']} worker {m['worker_args']}".rstrip()
        + f" ({m['executor']}, "
        f"{m['database']}); {m['cpus']} CPUs, Python {m['python']}, {m['revision']}, "
        f"{m['date']}, load average before {m['load_average'][0]:.2f}",
        "",
        "| step | events | failed | p50 ms | p99 ms | max ms | offered jobs/min | jobs/min "
        "(db) | recaps/min (slack) | queue avg/max/end | web RSS MB | worker RSS MB | web CPU "
        "| worker CPU |",
        "|---" * 14 + "|",
    ]
    for s in results["steps"]:
        lines.append(
            f"| {s['step']} | {s['sent']} | {sum(s['failures'].values())} "
            + "".join(f"| {s.get(k, 0):.0f} " for k in ("p50_ms", "p99_ms", "max_ms"))
            + f"| {s['offered_jobs_per_min']:.0f} | {s['jobs_per_min_db']:.0f} "
            f"| {s['recaps_per_min_slack']:.0f} "
            f"| {s['queue_avg']:.1f}/{s['queue_max']}/{s['queue_end']} "
            f"| {s['web_rss_mb']:.0f} | {s['worker_rss_mb']:.0f} "
            f"| {s['web_cpu_percent']:.0f}% | {s['worker_cpu_percent']:.0f}% |"
        )
    if "soak" in results:
        lines += ["", "| soak | first minute | last minute | slope /min |", "|---|---|---|---|"]
        for label, v in results["soak"].items():
            lines.append(
                f"| {label} | {v['first_minute']:.1f} | {v['last_minute']:.1f} "
                f"| {v['slope_per_min']:+.2f} |"
            )
    ok = c["missing"] == c["duplicated"] == c["unexpected"] == 0
    lines += [
        "",
        f"drained in {results['drain_seconds']:.1f} s; jobs at the end: {c['jobs']}",
        f"recaps: {c['recap_posts']} posts for {c['mentions']} mentions: {c['missing']} missing, "
        f"{c['duplicated']} duplicated, {c['unexpected']} unexpected"
        + ("" if ok else "  <-- DELIVERY MISMATCH"),
        f"exit codes: {results['exit_codes']}",
    ]
    if results["died_early"]:
        lines.append(f"PROCESSES THAT DIED DURING THE RUN: {results['died_early']}")
    for name, bad in results["log_problems"].items():
        lines.append(f"LOG PROBLEMS in {name}: {len(bad)} lines, first: {bad[0][:200]}")
    if "logs" in results:
        lines.append(f"logs kept in {results['logs']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--web", type=int, default=1, help="balafon serve processes")
    add("--workers", type=int, default=1, help="balafon worker processes")
    add("--worker-args", default="", help='for each worker, e.g. "--concurrency 4"')
    add("--executor", choices=["inprocess", "celery"], default="celery")
    add("--broker", default="redis://127.0.0.1:6379/14", help="Redis URL (flushed)")
    add("--database-url", default=DEFAULT_DATABASE, help="dropped and created; or: sqlite")
    add("--env", action="append", default=[], help="KEY=VALUE for every process")
    add("--rates", default="2,5,10,20", help="events/s, one step each")
    add("--step-seconds", type=float, default=60.0)
    add("--soak-minutes", type=float, default=0.0, help="instead of the steps")
    add("--soak-rate", type=float, default=5.0, help="events/s")
    add("--warmup-seconds", type=float, default=5.0, help="not reported")
    add("--mention-share", type=float, default=0.5, help="events that ask for a recap")
    add("--thread-replies", type=int, default=10, help="messages in each recapped thread")
    add("--sample-seconds", type=float, help="default: 1, or 5 in a soak")
    add("--drain-seconds", type=float, default=300.0, help="at most, after the last step")
    add("--port", type=int, default=8741, help="first web port")
    add("--output", type=Path, help="everything, as JSON")
    add("--samples", type=Path, help="the samples, as CSV")
    add("--keep", action="store_true", help="keep the logs and data folder")
    args = parser.parse_args(argv)
    args.rates = [float(rate) for rate in args.rates.split(",")]
    args.sample_seconds = args.sample_seconds or (5.0 if args.soak_minutes else 1.0)
    info = machine(args)
    results = {"machine": info, **start(args)}
    print(report(results))
    if args.output:
        args.output.write_text(json.dumps({"args": vars(args), **results}, indent=1, default=str))
    if args.samples:
        with args.samples.open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(results["samples"][-1]))
            writer.writeheader()
            writer.writerows(results["samples"])
    c = results["check"]
    return 1 if c["missing"] or c["duplicated"] or c["unexpected"] else 0


if __name__ == "__main__":
    sys.exit(main())
