"""Issue #11, item 5: media decoding reads only the file it is given.

An HLS playlist (with a NUL byte, so the text sniff let it through) made FFmpeg open a
server-local file through a `file:` segment, and its transcript came back. FFmpeg now gets
only the `file` protocol and only the demuxers of real recordings, checked on its own probe
before a demuxer reads anything: playlists, concat lists, image sequences and text demuxers
are refused, and the files they name are never opened.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy.engine import Engine

from bot.api import HttpApi
from bot.app import create_app
from bot.cli import run
from bot.inbound import Inbound
from bot.main import Settings, build_services
from bot.storage.db import create_db_engine
from summarizer import audio, media_gate
from summarizer.audio import ALLOWED_FORMATS, probe
from summarizer.config import TranscriberConfig
from summarizer.errors import UnsupportedMediaError
from summarizer.pipeline import Summarizer
from tests.db import migrated_sqlite
from tests.security.media_support import (
    NUL,
    Listener,
    OpenWatch,
    concat_list,
    hls_playlist,
    mentions_secret,
    secret_recording,
)
from tests.speech import FORMATS, encode, write_wav

REFUSED = "not a recording we can read"
TOKEN = "media-test-token"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    return secret_recording(tmp_path / "server")


def _attack(kind: str, folder: Path, secret: Path, listener: Listener) -> Path:
    """A file of `kind` in `folder` that makes FFmpeg read `secret` (or connect)."""
    if kind == "hls-file":
        return hls_playlist(folder / "meeting.m3u8", f"file:{secret}")
    if kind == "hls-http":
        return hls_playlist(folder / "meeting.m3u8", f"http://127.0.0.1:{listener.port}/a.mp3")
    if kind == "concat":
        (folder / "secret.mp3").write_bytes(secret.read_bytes())
        return concat_list(folder / "meeting.ffconcat", "secret.mp3")
    if kind == "image2":
        # A name with a frame number pattern: FFmpeg reads frame001.bmp, frame002.bmp, ...
        (folder / "frame001.bmp").write_bytes(b"BM" + bytes(64))
        path = folder / "frame%03d.bmp"
        path.write_bytes(b"BM\x00\x00")
        return path
    if kind == "subtitles":  # text with a NUL: FFmpeg's subtitle demuxers still read it
        path = folder / "notes.srt"
        path.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nAgenda\n" + NUL.encode())
        return path
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["hls-file", "hls-http", "concat", "image2", "subtitles"])
def test_ffmpeg_refuses_lists_on_its_probe_before_reading_anything(
    kind: str, tmp_path: Path, secret: Path
) -> None:
    """The lowest layer, without the text sniff in front: opening the file with FFmpeg."""
    folder = tmp_path / "upload"
    folder.mkdir()
    with Listener() as listener:
        path = _attack(kind, folder, secret, listener)
        watched = [secret, *folder.glob("secret.mp3"), *folder.glob("frame001.bmp")]
        with OpenWatch(*watched) as watch:
            with pytest.raises(UnsupportedMediaError) as caught:
                media_gate.open_container(path).close()
            assert not watch.opened(), "FFmpeg opened a file the upload pointed at"
        assert listener.connections == 0, "FFmpeg connected where the upload pointed"
    assert REFUSED in str(caught.value) and caught.value.source == path.name


@pytest.mark.parametrize("kind", ["hls-file", "hls-http", "concat"])
def test_probe_refuses_playlists_with_a_nul_byte(kind: str, tmp_path: Path, secret: Path) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    with Listener() as listener:
        path = _attack(kind, folder, secret, listener)
        with OpenWatch(secret, *folder.glob("secret.mp3")) as watch:
            with pytest.raises(UnsupportedMediaError, match=REFUSED):
                probe(path)
            with pytest.raises(UnsupportedMediaError, match=REFUSED):
                list(audio.iter_audio(path))
            assert not watch.opened()
        assert listener.connections == 0


def test_every_recording_format_we_make_is_still_read(tmp_path: Path) -> None:
    """The allow-list keeps what people record with (the formats tests/speech.py writes)."""
    rate = 22050
    t = np.arange(rate) / rate
    wav = write_wav(
        tmp_path / "beep.wav", (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16), rate
    )
    seen = {probe(wav).format_name}
    for fmt in FORMATS:
        info = probe(encode(wav, tmp_path / f"beep.{fmt}", fmt))
        assert info.has_audio, fmt
        seen.add(info.format_name)
    assert all(set(name.split(",")) & ALLOWED_FORMATS for name in seen)
    assert not {"hls", "dash", "concat", "image2", "srt", "tty", "sdp", "lavfi"} & ALLOWED_FORMATS


def test_cli_transcribe_refuses_a_playlist_and_prints_nothing_of_the_secret(
    tmp_path: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playlist = hls_playlist(tmp_path / "meeting.m3u8", f"file:{secret}")
    settings = Settings(_env_file=None, data_dir=str(tmp_path / "data"))
    with OpenWatch(secret) as watch:
        code = run(["transcribe", str(playlist), "--format", "txt"], settings=settings)
        assert not watch.opened()
    out, err = capsys.readouterr()
    assert code == 2
    assert REFUSED in err and "meeting.m3u8" in err
    assert not mentions_secret(out + err)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(migrated_sqlite(tmp_path / "media.db"))
    yield engine
    engine.dispose()


@pytest.mark.anyio
async def test_api_upload_of_a_playlist_fails_without_a_transcript(
    sqlite_engine: Engine, tmp_path: Path, secret: Path
) -> None:
    core = Inbound(
        build_services(
            digests=False,
            engine=sqlite_engine,
            summarizer=Summarizer(),
            transcriber_factory=_transcriber,
            max_media_bytes=2 * 2**20,
            work_dir=tmp_path,
        )
    )
    api = HttpApi(core=core.services, upload_dir=tmp_path / "uploads", token=TOKEN)
    worker = core.services.worker(worker_id="test")
    app = create_app(adapters=[api], worker=None)
    body = hls_playlist(tmp_path / "meeting.m3u8", f"file:{secret}").read_bytes()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with OpenWatch(secret) as watch:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:8000", headers=headers
        ) as client:
            accepted = await client.post(
                "/v1/transcriptions",
                files={"file": ("meeting.m3u8", body, "application/vnd.apple.mpegurl")},
            )
            # Refused at upload (the job's own probe, run at once): no job, nothing kept.
            assert accepted.status_code == 415, accepted.text
            assert await worker.drain() == 0
        assert not watch.opened()
    refusal = accepted.json()
    assert refusal["error"] == "unsupported_media_type" and REFUSED in refusal["message"]
    assert core.services.queue.counts() == {}
    assert not list((tmp_path / "uploads").glob("*/*"))
    assert not mentions_secret(accepted.text)


def _transcriber():
    from summarizer.transcribe import Transcriber

    return Transcriber(config=TranscriberConfig(beam_size=1, cpu_threads=1))
