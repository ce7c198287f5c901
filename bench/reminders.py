"""The reminder pass over many open action items due within a week, on SQLite and PostgreSQL.

Run by hand (never in tests):

    python bench/reminders.py --items 1000 5000 10000 \
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

N open items with owners (500 people in four time zones) in 20 channels, due dates spread
evenly over seven days around "now" (Monday 16:30 UTC: some due tomorrow, some overdue
since the weekend, most later in the week), plus 10% done ones the pass must not read.
Timed: the first pass (it sends every reminder due now: claim, post through Delivery,
record) and a second pass a few minutes later (nothing new to send: what every pass costs
in steady state). Queries are counted with a SQLAlchemy `before_cursor_execute` listener.
Setup (inserting the items) is not timed; the platform is in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text
from sqlmodel import Session

from bot.main import build_services
from bot.ports import Place, ReplyTarget
from bot.storage.db import create_db_engine, upgrade
from bot.storage.models import ActionItemRecord, Channel, Workspace
from summarizer.pipeline import Summarizer

NOW = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # a Monday
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC")
PEOPLE = 500
CHANNELS = 20


class PrivatePlatform:
    """Direct messages in memory: each post is counted."""

    name = "bench"

    def __init__(self) -> None:
        self.posts = 0

    async def private_target(self, workspace, user_id, near=None) -> ReplyTarget:
        return ReplyTarget(
            place=Place(platform=self.name, workspace=workspace, channel=f"D{user_id}")
        )

    async def post_private(self, workspace, user_id, reply) -> str:
        return await self.post(await self.private_target(workspace, user_id), reply)

    async def user_timezone(self, workspace, user_id) -> str:
        return ZONES[int(user_id[1:]) % len(ZONES)]

    async def post(self, target, reply) -> str:
        self.posts += 1
        return f"p{self.posts}"

    async def update(self, target, message_id, reply) -> None:
        return None


def setup(url: str, items: int) -> None:
    engine = create_db_engine(url)
    upgrade(engine)
    first = NOW.date() - timedelta(days=2)
    with Session(engine) as session:
        workspace = Workspace(platform="bench", external_id="T1")
        session.add(workspace)
        session.flush()
        channels = []
        for n in range(CHANNELS):
            channel = Channel(workspace_id=workspace.id, external_id=f"C{n}", name=f"team-{n}")
            session.add(channel)
            channels.append(channel)
        session.flush()
        keys = itertools.count()
        for n in range(items + items // 10):
            session.add(
                ActionItemRecord(
                    workspace_id=workspace.id,
                    channel_id=channels[n % CHANNELS].id,
                    key=f"k{next(keys)}",
                    task=f"Task number {n} for the launch",
                    owner_id=f"U{n % PEOPLE}",
                    owner_name=f"Person {n % PEOPLE}",
                    due=first + timedelta(days=(n * 7) // items % 7),
                    status="open" if n < items else "done",
                )
            )
        session.commit()
    engine.dispose()


def run(url: str) -> dict:
    engine = create_db_engine(url)
    queries = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_: object) -> None:
        queries[0] += 1

    clock = [NOW]
    services = build_services(
        engine=engine,
        summarizer=Summarizer(),
        transcriber_factory=lambda: None,
        max_media_bytes=1,
        clock=lambda: clock[0],
    )
    platform = PrivatePlatform()
    services.register(platform)  # type: ignore[arg-type]
    reminders = services.reminders
    assert reminders is not None
    result: dict = {}
    for label, moment in (("first", NOW), ("again", NOW + timedelta(minutes=5))):
        clock[0] = moment
        queries[0] = 0
        started = time.perf_counter()
        counts = asyncio.run(reminders.run_pass(moment))
        result[f"{label}_s"] = time.perf_counter() - started
        result[f"{label}_queries"] = queries[0]
        result[f"{label}_sent"] = counts.get("sent", 0)
    engine.dispose()
    result["posts"] = platform.posts
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (a scratch schema)")
    args = parser.parse_args()
    print(
        "| database | open items | sent | first pass (s) | queries | per item (ms) "
        "| next pass (s) | queries |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for count in args.items:
        runs = []
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            setup(url, count)
            runs.append(("SQLite", run(url)))
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_db_engine(args.postgres)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{args.postgres}?options=-csearch_path%3D{schema}"
            try:
                setup(url, count)
                runs.append(("PostgreSQL", run(url)))
            finally:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        for name, r in runs:
            assert r["posts"] == r["first_sent"] and r["again_sent"] == 0
            print(
                f"| {name} | {count} | {r['first_sent']} | {r['first_s']:.2f} | "
                f"{r['first_queries']} | {1000 * r['first_s'] / count:.3f} | "
                f"{r['again_s']:.3f} | {r['again_queries']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
