"""A real `balafon serve` on 127.0.0.1 for the request-edge tests, and a raw HTTP/1.1
client that streams a huge chunked body lazily and stops as soon as the server answers."""

from __future__ import annotations

import os
import select
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
MB = 2**20


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def table_rows(database: Path) -> dict[str, int]:
    """Rows in every table of a SQLite file (what a request could have stored)."""
    with closing(sqlite3.connect(database)) as db:
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    port: int
    database: Path
    data_dir: Path

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss

    def rows(self) -> dict[str, int]:
        return table_rows(self.database)

    def files(self) -> list[Path]:
        """Files under DATA_DIR other than the database (uploads, spooled bodies)."""
        return sorted(
            p
            for p in self.data_dir.rglob("*")
            if p.is_file() and not p.name.startswith(self.database.name)
        )


@contextmanager
def serve(tmp_path: Path, **env: str) -> Iterator[Server]:
    """`balafon serve` as a user starts it, its settings in the environment only."""
    port = free_port()
    data = tmp_path / "data"
    database = tmp_path / "serve.db"
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_", "TEAMS_", "API_", "ADMIN_", "METRICS_"))
    }
    environ.update(
        DATABASE_URL=f"sqlite:///{database}",
        DATA_DIR=str(data),
        LLM_MODEL="",
        LOG_LEVEL="WARNING",
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,  # no stray .env
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited: {process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not start")
            time.sleep(0.2)
        yield Server(process, url, port, database, data)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Answer:
    status: int
    head: str
    body: bytes
    sent: int  # body bytes the client had sent when the answer came


def stream_chunked(
    port: int,
    path: str,
    *,
    total: int,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    prefix: bytes = b"",
    chunk: int = MB,
    timeout: float = 60.0,
) -> Answer:
    """Send `prefix` then filler as a chunked body of `total` bytes, generated as it goes
    (no Content-Length), reading the answer as soon as one comes."""
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Transfer-Encoding: chunked"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    filler = b"x" * chunk
    received = b""
    sent = 0
    deadline = time.monotonic() + timeout
    with closing(socket.create_connection(("127.0.0.1", port), timeout=timeout)) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        pending = prefix
        finished = False
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            if not finished:
                piece = pending or filler[: max(0, min(chunk, total - sent))]
                pending = b""
                try:
                    if piece:
                        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                        sent += len(piece)
                    if sent >= total:
                        sock.sendall(b"0\r\n\r\n")
                        finished = True
                except (BrokenPipeError, ConnectionResetError):
                    break
            else:
                select.select([sock], [], [], deadline - time.monotonic())
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
        head_bytes, _, body = received.partition(b"\r\n\r\n")
        text = head_bytes.decode("latin-1")
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in text.split("\r\n")
                if line.lower().startswith("content-length:")
            ),
            None,
        )
        while length is not None and len(body) < length:
            data = sock.recv(65536)
            if not data:
                break
            body += data
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/") else 0
    return Answer(status=status, head=text, body=body, sent=sent)
