"""The playground harness: the real ASGI app (playground + HTTP API + the in-process worker)
served by uvicorn on 127.0.0.1 in a thread, over a SQLite file; headless Chromium (Debian's,
never a downloaded one) drives it through Playwright."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import Engine

from adapters.playground import PlaygroundAdapter
from bot.access import COOKIE, cookie_value
from bot.api import HttpApi
from bot.app import create_app
from bot.features.digests.service import DigestService
from bot.inbound import Inbound
from bot.jobs import Worker
from bot.main import build_services
from bot.storage.db import create_db_engine
from summarizer.config import TranscriberConfig
from summarizer.pipeline import Summarizer
from tests.db import migrated_sqlite

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WRITE = {"X-Playground": "1"}
ACCESS_TOKEN = "test-access-token"
# What a browser holds once it opened `/?token=ACCESS_TOKEN`.
ACCESS_COOKIE = {COOKIE: cookie_value(ACCESS_TOKEN)}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(migrated_sqlite(tmp_path / "playground.db"))
    yield engine
    engine.dispose()


def make_core(engine: Engine, work_dir: Path, *, max_media_bytes: int = 5 * 2**20) -> Inbound:
    def transcriber():
        from summarizer.transcribe import Transcriber

        return Transcriber(config=TranscriberConfig(beam_size=1, cpu_threads=1))

    return Inbound(
        build_services(
            engine=engine,
            summarizer=Summarizer(),
            transcriber_factory=transcriber,
            max_media_bytes=max_media_bytes,
            work_dir=work_dir,
        )
    )


@dataclass
class Stack:
    core: Inbound
    playground: PlaygroundAdapter
    api: HttpApi
    worker: Worker
    app: Any
    digests: DigestService


def make_stack(
    engine: Engine, tmp_path: Path, *, max_media_bytes: int = 5 * 2**20, **playground: Any
) -> Stack:
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    core = make_core(engine, work, max_media_bytes=max_media_bytes)
    digests = core.services.digests  # as build_core does: `digest daily 09:00` works
    assert digests is not None
    playground.setdefault("access_token", ACCESS_TOKEN)
    adapter = PlaygroundAdapter(core=core, files_dir=tmp_path / "files", **playground)
    core.services.register(adapter)
    api = HttpApi(core=core.services, upload_dir=tmp_path / "api", access_token=ACCESS_TOKEN)
    worker = core.services.worker(worker_id="test", poll_seconds=0.2)
    app = create_app(adapters=[adapter, api], worker=worker)
    return Stack(core=core, playground=adapter, api=api, worker=worker, app=app, digests=digests)


@pytest.fixture
def stack(sqlite_engine: Engine, tmp_path: Path) -> Stack:
    return make_stack(sqlite_engine, tmp_path)


def local_client(app: Any, **kwargs: Any) -> httpx.AsyncClient:
    """An in-process client that looks like a browser on this machine that opened the
    access token's URL (it holds the cookie)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1:8000", cookies=ACCESS_COOKIE, **kwargs
    )


class Server:
    """uvicorn serving an app on 127.0.0.1 (port 0), lifespan included, in a thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def server(stack: Stack) -> Iterator[Server]:
    with Server(stack.app) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module. Playwright's sync API keeps an event loop running in
    this thread while it lives, so it must be gone before other modules' async tests."""
    missing = None
    if not Path(CHROMIUM).exists():
        missing = "Debian's chromium is not installed (apt-get install -y chromium)"
    elif importlib.util.find_spec("playwright") is None:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI must run the browser tests, not skip them
        pytest.skip(missing)
    from playwright import sync_api as playwright_api

    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: Server, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1360, "height": 860}, locale="en-GB", timezone_id="Europe/Paris"
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/?token={ACCESS_TOKEN}")  # as `balafon serve` prints it
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()
    assert not errors, f"the page reported errors: {errors}"
