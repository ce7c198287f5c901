"""The gate in front of FFmpeg: which files may be opened, and how.

Uploaded files come from users. FFmpeg has demuxers that open other files or URLs (an HLS
playlist's segments, a concat list, an image sequence, an SDP session): FFmpeg is allowed
only the `file` protocol and only the demuxers of real recordings (`ALLOWED_FORMATS`),
checked on FFmpeg's own probe, before any demuxer reads its header. Text files, documents
and playlists are refused even earlier, by their first bytes, for a clearer message.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import av.error
from av.container import InputContainer

from summarizer.errors import (
    CorruptMediaError,
    EmptyMediaError,
    InputError,
    MediaTooLargeError,
    UnsupportedMediaError,
)

MEDIA_EXTENSIONS = frozenset(
    {
        ".3gp", ".aac", ".aif", ".aiff", ".amr", ".caf", ".flac", ".m4a", ".m4b", ".m4v",
        ".mka", ".mkv", ".mov", ".mp2", ".mp3", ".mp4", ".mpeg", ".mpg", ".mpga", ".oga",
        ".ogg", ".ogv", ".opus", ".wav", ".weba", ".webm", ".wma", ".wmv",
    }
)  # fmt: skip

# The demuxers (FFmpeg's names) that read recordings and nothing but the file they are given.
# Everything else is refused on FFmpeg's probe, before the demuxer runs: playlists and lists
# (hls, dash, concat), image sequences (image2), sessions (sdp, rtsp), subtitles and text (tty,
# srt, ...), lavfi graphs, and the many exotic demuxers nobody records meetings with.
ALLOWED_FORMATS = frozenset(
    {
        "aac", "ac3", "aiff", "amr", "amrnb", "amrwb", "asf", "avi", "caf", "eac3", "flac",
        "matroska", "mov", "mp3", "mpeg", "mpegts", "ogg", "w64", "wav", "wv",
    }
)  # fmt: skip

# Image demuxers: FFmpeg opens a picture as a one-frame "video"; that is not a recording.
IMAGE_FORMATS = ("image2", "_pipe", "gif", "apng", "webp")

# What FFmpeg may do while opening a file: read that one file, and only with a demuxer of
# ALLOWED_FORMATS (FFmpeg checks the probed name against format_whitelist before the demuxer
# reads a byte of its header). The mov demuxer's external data references stay off.
_OPEN_OPTIONS = {
    "protocol_whitelist": "file",
    "format_whitelist": ",".join(sorted(ALLOWED_FORMATS)),
    "enable_drefs": "0",
}

# Playlists users share by mistake (or not): named in the message, refused like the rest.
_PLAYLIST_SUFFIXES = frozenset({".m3u", ".m3u8", ".pls", ".ffconcat", ".mpd", ".xspf", ".sdp"})
_PLAYLIST_HEADS = (b"#EXTM3U", b"ffconcat", b"[playlist]", b"v=0")

# Messages (summarizer/errors.py: a clause that follows the file's name).
NOT_MEDIA = "this isn't audio or video we can read."
_PLAYLIST = "this is a playlist, not a recording we can read."


def check_file(path: str | os.PathLike[str], *, max_bytes: int | None) -> tuple[str, int]:
    """Stat and sniff the file: the cheap checks that need no FFmpeg. Returns its name and
    size; raises the error of summarizer.errors that says what is wrong with it."""
    name = Path(path).name
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise InputError("no such file.", source=name) from None
    except OSError as exc:
        raise InputError(f"the file can't be read ({exc.strerror}).", source=name) from None
    if not os.path.isfile(path):
        raise InputError("not a file.", source=name)
    if size == 0:
        raise EmptyMediaError("the file is empty.", source=name)
    if max_bytes is not None and size > max_bytes:
        raise MediaTooLargeError(
            f"the file is {human_bytes(size)}; the limit is {human_bytes(max_bytes)}.",
            source=name,
        )
    with open(path, "rb") as file:
        head = file.read(4096)
    kind = _sniff(head)
    if kind in ("text", None) and _looks_like_playlist(path, head):
        raise UnsupportedMediaError(_PLAYLIST, source=name)
    if kind == "text":
        raise UnsupportedMediaError(f"{NOT_MEDIA[:-1]} (it looks like a text file).", source=name)
    if kind is not None and kind != "media":
        raise UnsupportedMediaError(f"{NOT_MEDIA[:-1]} (it looks like {kind}).", source=name)
    return name, size


def _sniff(head: bytes) -> str | None:
    """Classify a file by its first bytes: "media", "text", a document kind, or None."""
    if head.startswith((b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3", b"#!AMR", b"caff")):
        return "media"
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "):
        return "media"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "media"
    if head[4:8] == b"ftyp" or head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "media"  # MP4/MOV/M4A/3GP, ASF (wma/wmv)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] != 0xFF:
        return "media"  # MPEG audio / ADTS AAC frame sync
    for magic, kind in (
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a zip archive or office document"),
        (b"\x89PNG", "an image"),
        (b"\xff\xd8\xff", "an image"),
        (b"GIF8", "an image"),
        (b"\x7fELF", "a program"),
    ):
        if head.startswith(magic):
            return kind
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the 4 KiB read is still text.
            if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
                return "text"
    return None


def _looks_like_media(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as file:
        head = file.read(4096)
    return _sniff(head) == "media" or Path(path).suffix.lower() in MEDIA_EXTENSIONS


def _looks_like_playlist(path: str | os.PathLike[str], head: bytes) -> bool:
    return Path(path).suffix.lower() in _PLAYLIST_SUFFIXES or head.lstrip(
        b"\xef\xbb\xbf \t\r\n"
    ).startswith(_PLAYLIST_HEADS)


def open_container(path: str | os.PathLike[str]) -> InputContainer:
    """Open with FFmpeg as a plain local file with an allowed demuxer, turning its errors
    into ours."""
    name = Path(path).name
    try:
        # An absolute path, so FFmpeg never reads "name:..." as a protocol prefix.
        container = av.open(
            os.path.abspath(path),
            mode="r",
            container_options=_OPEN_OPTIONS,
            metadata_errors="ignore",
        )
    except av.error.ArgumentError as exc:
        # EINVAL at open: the probed demuxer is not on the format whitelist.
        raise _refused(path, name) from exc
    except av.error.PermissionError as exc:
        # EPERM: a demuxer wanted something the whitelists forbid (belt and braces).
        raise _refused(path, name) from exc
    except av.error.FFmpegError as exc:
        if _looks_like_media(path):
            raise CorruptMediaError(
                "the file looks damaged or incomplete, so we can't read it.", source=name
            ) from exc
        raise UnsupportedMediaError(NOT_MEDIA, source=name) from exc
    # Checked again here, should an FFmpeg build ever ignore format_whitelist.
    if not set(container.format.name.split(",")) & ALLOWED_FORMATS:
        container.close()
        raise _refused(path, name)
    return container


def _refused(path: str | os.PathLike[str], name: str) -> UnsupportedMediaError:
    with open(path, "rb") as file:
        head = file.read(4096)
    if _looks_like_playlist(path, head):
        return UnsupportedMediaError(_PLAYLIST, source=name)
    return UnsupportedMediaError("this is not a recording we can read.", source=name)


def human_bytes(size: float) -> str:
    """A file size as people write it: "12.3 MB"."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
