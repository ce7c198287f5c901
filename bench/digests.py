"""Digests for many channels due at the same minute, on SQLite and PostgreSQL.

Run by hand (never in tests):

    python bench/digests.py --chat /work/shared/data/chat/ubuntu_irc_dev.jsonl \
        --channels 100 300 1000 --messages 60 [--postgres postgresql+psycopg://postgres@127.0.0.1/test]

Each channel gets a real slice of Ubuntu IRC traffic (consecutive lines of one log, as a
day's worth of messages stored by live ingest), a daily digest due at the same minute,
and the offline summariser. Timed: firing every subscription (enqueue) and running the
worker until every digest is posted. Setup (inserting messages) is not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from bot.features.digests.schedule import parse_schedule
from bot.inbound import Inbound
from bot.jobs import JobQueue, Worker
from bot.main import build_services
from bot.ports import HistoryUnavailableError
from bot.storage.db import create_db_engine, upgrade
from bot.storage.models import Channel, DigestSubscription, StoredMessage, Workspace
from summarizer.pipeline import Summarizer

SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class StorePlatform:
    """Posts are counted; history comes from the store (channels synced by live ingest)."""

    name = "bench"

    def __init__(self) -> None:
        self.posts = 0

    async def post(self, target, reply) -> str:
        self.posts += 1
        return f"p{self.posts}"

    async def update(self, target, message_id, reply) -> None:
        return None

    async def fetch_messages(self, place, *, oldest=None, latest=None):
        raise HistoryUnavailableError("bench: the store is complete")

    async def download(self, place, file, dest, *, max_bytes):
        raise NotImplementedError

    async def permalink(self, place, message_id) -> str:
        return f"https://chat.example/{place.channel}/{message_id}"

    async def is_member(self, place, user_id) -> bool:
        return True


def load_chat(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def setup(url: str, chat: list[dict], channels: int, per_channel: int) -> None:
    engine = create_db_engine(url)
    upgrade(engine)
    schedule = parse_schedule(["daily", "09:00"], "UTC")
    with Session(engine) as session:
        workspace = Workspace(platform="bench", external_id="T1")
        session.add(workspace)
        session.flush()
        for n in range(channels):
            channel = Channel(workspace_id=workspace.id, external_id=f"C{n}")
            session.add(channel)
            session.flush()
            start = (n * per_channel) % max(1, len(chat) - per_channel)
            for i, row in enumerate(chat[start : start + per_channel]):
                session.add(
                    StoredMessage(
                        workspace_id=workspace.id,
                        channel_id=channel.id,
                        external_id=f"{n}-{i}",
                        author_id=row["user"],
                        author_name=row["user"],
                        text=row["text"],
                        sent_at=SLOT - timedelta(hours=20) + timedelta(minutes=i * 15),
                    )
                )
            session.add(
                DigestSubscription(
                    workspace_id=workspace.id,
                    channel_id=channel.id,
                    platform="bench",
                    workspace_external_id="T1",
                    channel_external_id=f"C{n}",
                    cadence=schedule.cadence,
                    hour=schedule.hour,
                    minute=schedule.minute,
                    timezone=schedule.timezone,
                )
            )
        session.commit()
    engine.dispose()


def run(url: str, concurrency: int) -> dict:
    engine = create_db_engine(url)
    platform = StorePlatform()
    queue = JobQueue(engine)
    core = Inbound(
        build_services(
            engine=engine,
            summarizer=Summarizer(),
            transcriber_factory=lambda: None,
            max_media_bytes=1,
            clock=lambda: SLOT + timedelta(seconds=30),
        )
    )
    core.services.register(platform)
    service = core.services.digests
    assert service is not None
    worker = Worker(queue, core.services.jobs, worker_id="bench", concurrency=concurrency)
    subscriptions = service.active_subscriptions()
    started = time.perf_counter()
    for subscription in subscriptions:
        service.fire(subscription.id)
    fired = time.perf_counter()

    async def drain() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        while platform.posts < len(subscriptions):
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(drain())
    total = time.perf_counter() - started
    engine.dispose()
    return {
        "channels": len(subscriptions),
        "enqueue_s": fired - started,
        "total_s": total,
        "per_channel_ms": 1000 * total / len(subscriptions),
        "posts": platform.posts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chat", type=Path, required=True)
    parser.add_argument("--channels", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--messages", type=int, default=60, help="messages per channel")
    parser.add_argument("--concurrency", type=int, default=4, help="worker concurrency")
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (a scratch schema)")
    args = parser.parse_args()
    chat = load_chat(args.chat)
    print(f"{len(chat)} chat lines; {args.messages} messages per channel; offline engine")
    print("| database | channels | enqueue (s) | total (s) | per channel (ms) |")
    print("|---|---:|---:|---:|---:|")
    results = []
    for count in args.channels:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            setup(url, chat, count, args.messages)
            results.append(("SQLite", run(url, args.concurrency)))
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_db_engine(args.postgres)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{args.postgres}?options=-csearch_path%3D{schema}"
            try:
                setup(url, chat, count, args.messages)
                results.append(("PostgreSQL", run(url, args.concurrency)))
            finally:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        for name, result in results[-2 if args.postgres else -1 :]:
            print(
                f"| {name} | {result['channels']} | {result['enqueue_s']:.2f} | "
                f"{result['total_s']:.1f} | {result['per_channel_ms']:.1f} |",
                flush=True,
            )
    for name in {name for name, _ in results}:
        per = [r["per_channel_ms"] for n, r in results if n == name]
        print(
            f"{name}: per-channel time from smallest to largest run: {per[0]:.1f} -> "
            f"{per[-1]:.1f} ms (x{per[-1] / per[0]:.2f}); median {statistics.median(per):.1f}"
        )


if __name__ == "__main__":
    main()
