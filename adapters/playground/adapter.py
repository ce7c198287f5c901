"""PlaygroundAdapter: what the composition root mounts and registers with the core.

It is the core's `ChatPlatform` for the playground (platform.py, on the playground's own
tables), turns what people do in the page into core calls (inbound.py) and serves the page,
its JSON API and the live stream (web.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from starlette.routing import BaseRoute

from adapters.playground.inbound import Inbound
from adapters.playground.platform import PlaygroundPlatform
from adapters.playground.replies import dump
from adapters.playground.store import BOT_ID, BOT_NAME, PlaygroundStore, StoreError
from adapters.playground.web import Web
from bot.errors import ConfigError
from bot.inbound import InboundPort
from bot.ports import TextReply

PEOPLE = ("Ann", "Bob", "Cy")
CHANNELS = (
    ("general", "Chat as a few people, then ask @balafon recap"),
    ("design", "Another channel: /recap 24h #design works from #general too"),
)
WELCOME = """\
*Welcome to the balafon playground* — a chat on your own machine, with me in it.
• Pick who you are (top left) and post a few messages as different people.
• Mention me: `@balafon recap` recaps this channel's last 24 hours; in a thread, the thread.
• Or use the slash command: `/recap 7d`, `/recap since Monday`, `/recap 24h #design`.
• Attach an audio or video file and I transcribe it, then recap it and list the action items.
• `/recap digest daily 09:00` posts a digest of this channel every morning.
• `@balafon help` shows everything I understand."""


def worker_platform(core: InboundPort, files_dir: Path) -> PlaygroundPlatform:
    """What a `balafon worker` process needs of the playground to run its jobs: posting to
    its tables and reading its uploads. No page, and no seeding of a playground that no web
    process serves."""
    return PlaygroundPlatform(
        store=PlaygroundStore(core.services.repo.engine), files_dir=Path(files_dir)
    )


class PlaygroundAdapter(PlaygroundPlatform):
    """The playground for the core. It answers only browsers that opened the URL with
    `access_token` (then hold its cookie) and programs that send it as a Bearer token;
    uploads are limited to the core's maximum media size."""

    def __init__(self, *, core: InboundPort, files_dir: Path, access_token: str) -> None:
        super().__init__(
            store=PlaygroundStore(core.services.repo.engine), files_dir=Path(files_dir)
        )
        if not access_token:
            raise ConfigError("the playground needs an access token")
        self.core = core
        self.access_token = access_token
        self.closing = False
        self.inbound = Inbound(core=core, platform=self)
        self.web = Web(self)

    # --- Mountable --------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return self.web.routes()

    def body_limits(self) -> dict[str, int]:
        return self.web.body_limits()

    async def startup(self) -> None:
        self.closing = False
        self.files_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.seed)
        await asyncio.to_thread(self.store.prune_events)

    async def shutdown(self) -> None:
        self.stop_streams()

    def stop_streams(self) -> None:
        """End the live streams within a couple of seconds (safe from a signal handler):
        a server shutting down waits for its open responses."""
        self.closing = True

    # --- first start ------------------------------------------------------------------

    def seed(self) -> None:
        """A first start finds people, two channels and a welcome message."""
        if not self.store.is_empty():
            return
        try:
            for name in PEOPLE:
                self.store.add_user(name)
            for channel, topic in CHANNELS:
                self.store.add_channel(channel, topic)
        except StoreError:  # another process is seeding at the same moment
            return
        welcome = TextReply(text=WELCOME)
        self.store.add_message(
            channel_id=CHANNELS[0][0],
            kind="bot",
            author_id=BOT_ID,
            author_name=BOT_NAME,
            text=welcome.text,
            reply=dump(welcome),
        )
