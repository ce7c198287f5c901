"""Hostile "recordings" for the media tests: playlists and lists that point FFmpeg at other
files, a spoken secret they point at, and watchers that see whether that secret was opened
(inotify) or a listener was connected to.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import threading
from pathlib import Path

import pytest

from tests.speech import require_espeak, synthesize

SECRET_TEXT = "The secret password is purple elephant."
MARKERS = ("purple", "elephant")  # words the bundled model hears in SECRET_TEXT

# A NUL byte anywhere in the first 4 KiB used to make the text sniff answer "not text".
NUL = "\n#\x00\n"


def secret_recording(folder: Path) -> Path:
    """A server-local mp3 of someone saying SECRET_TEXT: what an attacker wants transcribed."""
    require_espeak()
    folder.mkdir(parents=True, exist_ok=True)
    return synthesize(SECRET_TEXT, folder / "secret.mp3", "mp3")


def hls_playlist(path: Path, segment: str) -> Path:
    """An HLS playlist whose one segment is `segment` (a `file:` path or an http URL)."""
    path.write_bytes(
        (
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n"
            f"#EXTINF:10.0,\n{segment}\n#EXT-X-ENDLIST\n{NUL}"
        ).encode()
    )
    return path


def concat_list(path: Path, relative: str) -> Path:
    """An ffconcat script naming a file next to it (the demuxer's safe mode allows that)."""
    path.write_bytes(f"ffconcat version 1.0\nfile '{relative}'\n{NUL}".encode())
    return path


def mentions_secret(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in MARKERS)


class OpenWatch:
    """Records every open or read of some files, by any process (Linux inotify)."""

    _IN_ACCESS, _IN_OPEN = 0x001, 0x020

    def __init__(self, *paths: Path) -> None:
        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name, use_errno=True) if name else None
        if libc is None or not hasattr(libc, "inotify_init1"):
            pytest.skip("inotify is not available on this system")
        self._libc = libc
        self._fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            pytest.skip(f"inotify_init1 failed: {os.strerror(ctypes.get_errno())}")
        self.events = 0
        for path in paths:
            mask = self._IN_ACCESS | self._IN_OPEN
            if libc.inotify_add_watch(self._fd, os.fsencode(path), mask) < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")

    def opened(self) -> bool:
        """Whether any watched file was opened or read since the watch started."""
        try:
            while data := os.read(self._fd, 65536):
                self.events += len(data) // 16 or 1  # struct inotify_event: 16 bytes + name
        except BlockingIOError:
            pass
        return self.events > 0

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> OpenWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Listener:
    """A loopback TCP listener that counts connections (an internal service's stand-in)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
