"""Transcription: media checks, windowing, readable segments, and real speech end to end.

Tests marked `slow` run espeak-ng speech through the bundled tiny.en model (no mocks); the
model is loaded once for this module. The others are fast and need neither.
"""

from __future__ import annotations

import itertools
import re
import threading
from pathlib import Path

import jiwer
import numpy as np
import pytest

from summarizer.audio import SAMPLE_RATE, AudioBlock, damage_note, iter_audio, load_audio, probe
from summarizer.config import TranscriberConfig
from summarizer.errors import (
    CorruptMediaError,
    EmptyMediaError,
    InputError,
    MediaError,
    MediaTooLargeError,
    SummarizerError,
    UnsupportedMediaError,
    explain,
)
from summarizer.segments import split_words
from summarizer.transcribe import Transcriber, resolve_device, resolve_model
from summarizer.types import Segment, Transcript, Word
from summarizer.windows import quiet_point, quiet_windows
from tests.speech import encode, require_espeak, synthesize, write_video_without_audio, write_wav

SHORT = (
    "Good morning everyone. Let's review the budget for the new project. "
    "Maria will send the report on Friday."
)
LONG = """Thanks for joining the weekly planning meeting.
First, the mobile release is ready for testing.
Second, we need two more people on the support rotation.
Peter agreed to update the onboarding guide by Wednesday.
The design review moves to next Tuesday afternoon.
Please add your questions to the shared document."""


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalize(reference), normalize(hypothesis))


def normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower().replace("-", " "))
    return " ".join(text.split())


def tone(path: Path, seconds: float = 2.0, *, amplitude: float = 0.3, rate: int = 22050) -> Path:
    """A beeping wav (no espeak needed) for tests about files rather than speech."""
    t = np.arange(round(seconds * rate)) / rate
    beep = amplitude * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    return write_wav(path, (beep * 32767).astype(np.int16), rate)


def assert_friendly(error: BaseException, name: str) -> None:
    """A message a user can read, in the one style of summarizer/errors.py: a short clause
    about the file it names in `source` (CLI "name: clause", chat "I couldn't transcribe
    “name”: clause"), no FFmpeg internals."""
    message = str(error)
    assert isinstance(error, SummarizerError)
    assert error.source == name and explain(error) == f"{name}: {message}"
    assert name not in message  # said once, in front
    assert message[0].islower() and message.endswith(".")
    assert "\n" not in message and len(message) < 160
    for internal in ("Errno", "av.error", "FFmpeg", "Invalid data", "Traceback"):
        assert internal not in message


# -- files that cannot be transcribed (fast: no model) ------------------------------------


def test_garbage_with_an_mp3_name_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "voice note.mp3"
    path.write_bytes(np.random.default_rng(7).bytes(40_000))
    with pytest.raises(CorruptMediaError) as caught:
        Transcriber().transcribe(path)
    assert_friendly(caught.value, "voice note.mp3")
    assert "damaged" in str(caught.value)


def test_truncated_m4a_is_corrupt(tmp_path: Path) -> None:
    whole = encode(tone(tmp_path / "beep.wav", 5), tmp_path / "beep.m4a", "m4a")
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])  # the index is at the end
    with pytest.raises(CorruptMediaError) as caught:
        probe(cut)
    assert_friendly(caught.value, "cut.m4a")


def test_header_only_mp3_is_corrupt(tmp_path: Path) -> None:
    whole = encode(tone(tmp_path / "beep.wav", 3), tmp_path / "beep.mp3", "mp3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(CorruptMediaError):
        probe(cut)


def test_text_file_named_wav_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("Agenda\n- budget\n- hiring\nSee https://example.com/x.m3u8\n")
    with pytest.raises(UnsupportedMediaError) as caught:
        Transcriber().transcribe(path)
    assert_friendly(caught.value, "notes.wav")
    assert str(caught.value).startswith("this isn't audio or video we can read")


def test_playlist_is_refused_before_ffmpeg_follows_it(tmp_path: Path) -> None:
    """An HLS playlist would make FFmpeg open other files: text is refused up front."""
    tone(tmp_path / "secret.wav")
    path = tmp_path / "list.m3u8"
    path.write_text("#EXTM3U\n#EXTINF:2,\nsecret.wav\n#EXT-X-ENDLIST\n")
    with pytest.raises(UnsupportedMediaError):
        probe(path)


def test_pdf_and_images_are_unsupported(tmp_path: Path) -> None:
    pdf = tmp_path / "minutes.mp4"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 8)
    with pytest.raises(UnsupportedMediaError, match="PDF"):
        probe(pdf)
    png = tmp_path / "slide.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(UnsupportedMediaError):
        probe(png)


def test_video_without_audio_is_empty(tmp_path: Path) -> None:
    path = write_video_without_audio(tmp_path / "screen.mp4")
    with pytest.raises(EmptyMediaError) as caught:
        Transcriber().transcribe(path)
    assert_friendly(caught.value, "screen.mp4")
    assert "no sound track" in str(caught.value)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.ogg").touch()
    with pytest.raises(EmptyMediaError, match="empty"):
        probe(tmp_path / "empty.ogg")
    with pytest.raises(InputError) as caught:
        probe(tmp_path / "gone.wav")
    assert_friendly(caught.value, "gone.wav")


def test_oversized_file(tmp_path: Path) -> None:
    path = tone(tmp_path / "long.wav", 3)
    small = Transcriber(config=TranscriberConfig(max_bytes=10_000))
    with pytest.raises(MediaTooLargeError) as caught:
        small.transcribe(path)
    assert_friendly(caught.value, "long.wav")
    assert "the limit is 9.8 KB" in str(caught.value)
    assert not small.loaded  # refused before the model was even loaded


def test_overlong_recording(tmp_path: Path) -> None:
    path = tone(tmp_path / "long.wav", 3)
    with pytest.raises(MediaTooLargeError, match="3 s long; the limit is 2 s"):
        probe(path, max_seconds=2)
    # When the container does not say, decoding stops at the limit.
    with pytest.raises(MediaTooLargeError):
        list(iter_audio(path, max_seconds=2))


def test_every_media_error_is_a_media_error() -> None:
    for error in (CorruptMediaError, EmptyMediaError, MediaTooLargeError, UnsupportedMediaError):
        assert issubclass(error, MediaError)


# -- decoding (fast) ------------------------------------------------------------------------


def test_probe_describes_the_file(tmp_path: Path) -> None:
    info = probe(tone(tmp_path / "beep.wav", 2.5))
    assert info.format_name == "wav"
    assert info.duration == pytest.approx(2.5, abs=0.01)
    assert info.has_audio and not info.has_video
    assert info.size == (tmp_path / "beep.wav").stat().st_size
    assert (info.sample_rate, info.channels) == (22050, 1)


def test_decoding_streams_16khz_blocks(tmp_path: Path) -> None:
    path = encode(tone(tmp_path / "beep.wav", 5), tmp_path / "beep.ogg", "ogg")
    blocks = list(iter_audio(path, block_seconds=2))
    assert [b.samples.size for b in blocks[:-1]] == [2 * SAMPLE_RATE] * (len(blocks) - 1)
    assert all(b.samples.dtype == np.float32 and b.samples.ndim == 1 for b in blocks)
    assert [b.start for b in blocks] == [2.0 * i for i in range(len(blocks))]
    total = sum(b.samples.size for b in blocks) / SAMPLE_RATE
    assert total == pytest.approx(5.0, abs=0.05)
    fractions = [b.read_fraction for b in blocks]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert 0.25 < float(np.max(np.abs(load_audio(path)))) < 0.35  # level kept


def test_windows_cut_in_silence_and_lose_nothing() -> None:
    rng = np.random.default_rng(0)
    # 1.3 s "words" separated by 0.4 s silences.
    word = (0.2 * rng.standard_normal(round(1.3 * SAMPLE_RATE))).astype(np.float32)
    gap = np.zeros(round(0.4 * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate([np.concatenate([word, gap]) for _ in range(12)])
    speech = np.concatenate([np.concatenate([np.ones(word.size), np.zeros(gap.size)])] * 12)
    blocks = (
        AudioBlock(samples=audio[i : i + 8000], start=i / SAMPLE_RATE, read_fraction=None)
        for i in range(0, audio.size, 8000)
    )
    windows = list(quiet_windows(blocks, window_samples=5 * SAMPLE_RATE))
    assert len(windows) >= 4
    offsets = [offset for offset, *_ in windows]
    assert offsets[0] == 0 and all(a < b for a, b in itertools.pairwise(offsets))
    assert np.array_equal(np.concatenate([w for _, w, *_ in windows]), audio)
    for offset in offsets[1:]:
        assert speech[offset] == 0  # every cut falls in a silence
        assert audio[offset - 80 : offset + 80].max() == 0


def test_quiet_point_without_silence_keeps_the_window() -> None:
    noise = np.random.default_rng(1).standard_normal(10 * SAMPLE_RATE).astype(np.float32)
    cut = quiet_point(noise, 8 * SAMPLE_RATE)
    assert 4 * SAMPLE_RATE <= cut <= 8 * SAMPLE_RATE


# -- readable segments (fast) ----------------------------------------------------------------


def words(*timed: tuple[float, float, str]) -> list[Word]:
    return [Word(start=s, end=e, word=w, probability=0.9) for s, e, w in timed]


def test_segments_end_at_sentences_and_pauses() -> None:
    segments = split_words(
        words(
            (0.0, 0.4, " Hello"),
            (0.5, 0.9, " Mr."),
            (1.0, 1.5, " Smith."),
            (1.6, 2.0, " Next"),
            (2.1, 2.5, " item"),
            (4.0, 4.5, " after"),  # a 1.5 s pause before this word
            (4.6, 5.0, " that?"),
        )
    )
    assert [s.text for s in segments] == ["Hello Mr. Smith.", "Next item", "after that?"]
    assert [(s.start, s.end) for s in segments] == [(0.0, 1.5), (1.6, 2.5), (4.0, 5.0)]
    assert [len(s.words) for s in segments] == [3, 2, 2]


def test_long_runs_are_split_at_clause_ends() -> None:
    run = []
    t = 0.0
    for i in range(60):  # 30 s of words without a sentence end
        text = f" word{i}," if i == 20 else f" word{i}"
        run.append((t, t + 0.4, text))
        t += 0.5
    segments = split_words(words(*run))
    assert all(s.end - s.start <= 15.0 for s in segments)
    assert segments[0].text.endswith("word20,")
    assert " ".join(s.text for s in segments) == " ".join(w for *_, w in run).replace("  ", " ")[1:]


# -- model settings (fast) -------------------------------------------------------------------


def test_device_resolution() -> None:
    assert resolve_device("cpu", "default") == ("cpu", "int8")
    assert resolve_device("cuda", "default") == ("cuda", "float16")
    assert resolve_device("cpu", "float32") == ("cpu", "float32")
    assert resolve_device("auto", "default")[0] in ("cpu", "cuda")
    with pytest.raises(ValueError):
        resolve_device("tpu", "default")


def test_model_resolution(tmp_path: Path) -> None:
    bundled = resolve_model("")
    assert isinstance(bundled, str) and (Path(bundled) / "model.bin").is_file()
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("small.en") == "small.en"


def test_transcriber_loads_lazily() -> None:
    transcriber = Transcriber()
    assert not transcriber.loaded
    assert transcriber.with_options(language="en")._slot is transcriber._slot
    assert transcriber.with_options(cpu_threads=1)._slot is not transcriber._slot


# -- real speech through the bundled model (slow) ----------------------------------------------


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    transcriber = Transcriber()
    transcriber.load()
    return transcriber


@pytest.fixture(scope="module")
def short_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(SHORT, tmp_path_factory.mktemp("speech") / "short.wav")


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_espeak()
    return synthesize(LONG, tmp_path_factory.mktemp("speech") / "long.wav", gap_seconds=0.8)


@pytest.mark.slow
def test_speech_is_transcribed(transcriber: Transcriber, short_wav: Path) -> None:
    progress: list[float] = []
    transcript = transcriber.transcribe(short_wav, on_progress=progress.append)
    assert isinstance(transcript, Transcript)
    assert wer(SHORT, transcript.text) < 0.15, transcript.text
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(probe(short_wav).duration, abs=0.05)
    assert transcript.source == str(short_wav)
    # Progress: starts at 0, only goes up, ends at exactly 1.0.
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(progress))
    assert all(isinstance(p, float) for p in progress)


@pytest.mark.slow
def test_segments_have_word_timestamps(transcriber: Transcriber, short_wav: Path) -> None:
    transcript = transcriber.transcribe(short_wav)
    assert len(transcript.segments) >= 3  # one per sentence, not one 30 s block
    for segment in transcript.segments:
        assert segment.words and segment.end - segment.start <= 15.0
        assert segment.start == segment.words[0].start
        assert all(segment.start <= w.start <= w.end <= segment.end for w in segment.words)
        assert "".join(w.word for w in segment.words).strip() == segment.text
    assert transcript.segments[-1].end <= transcript.duration + 0.1


@pytest.mark.slow
def test_progress_without_a_stated_duration(transcriber: Transcriber, tmp_path: Path) -> None:
    """Browser recordings (webm from MediaRecorder) do not say how long they are."""
    path = synthesize(SHORT, tmp_path / "recording.webm", "webm", live=True)
    assert probe(path).duration is None
    progress: list[float] = []
    transcript = transcriber.transcribe(path, on_progress=progress.append)
    assert wer(SHORT, transcript.text) < 0.15, transcript.text
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert any(0.0 < p < 1.0 for p in progress)
    assert all(a < b for a, b in itertools.pairwise(progress))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4a", "flac", "webm", "mp4"])
def test_formats(transcriber: Transcriber, tmp_path: Path, fmt: str) -> None:
    path = synthesize(SHORT, tmp_path / f"clip.{fmt}", fmt)
    info = probe(path)
    assert info.has_video == (fmt in ("webm", "mp4"))
    transcript = transcriber.transcribe(path)
    assert wer(SHORT, transcript.text) < 0.15, (fmt, transcript.text)


@pytest.mark.slow
def test_windowed_transcription(transcriber: Transcriber, long_wav: Path) -> None:
    """A 25 s recording cut into ~8 s windows: same words, timestamps on one time line."""
    whole = transcriber.transcribe(long_wav)
    progress: list[float] = []
    windowed = transcriber.with_options(window_seconds=8).transcribe(
        long_wav, on_progress=progress.append
    )
    assert windowed.duration == pytest.approx(24.8, abs=0.5)
    assert wer(LONG, windowed.text) < 0.15, windowed.text
    starts = [s.start for s in windowed.segments]
    assert all(a < b for a, b in itertools.pairwise(starts))
    assert all(s.start < s.end for s in windowed.segments)
    assert starts[-1] > 16.0  # the later windows were offset, not restarted at 0
    assert windowed.segments[-1].end <= windowed.duration + 0.1
    # Each window's words land where the whole-file run put them.
    for word in ("meeting", "Wednesday", "afternoon", "document"):
        assert when(windowed, word) == pytest.approx(when(whole, word), abs=0.5)
    assert len(progress) > 4 and progress[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(progress))


def when(transcript: Transcript, text: str) -> float:
    return next(w.start for s in transcript.segments for w in s.words if text in w.word)


@pytest.mark.slow
def test_silence_is_reported(transcriber: Transcriber, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "muted.wav", np.zeros(3 * 16000, dtype=np.int16), 16000)
    with pytest.raises(EmptyMediaError) as caught:
        transcriber.transcribe(path)
    assert_friendly(caught.value, "muted.wav")


@pytest.mark.slow
def test_no_speech_gives_an_empty_transcript(transcriber: Transcriber, tmp_path: Path) -> None:
    transcript = transcriber.transcribe(tone(tmp_path / "beeps.wav", 4, amplitude=0.05))
    assert transcript.duration == pytest.approx(4.0, abs=0.05)
    assert len(transcript.text.split()) <= 3  # a beep may pass for a word, not for a speech


@pytest.mark.slow
def test_threads_share_one_model(transcriber: Transcriber, short_wav: Path) -> None:
    fresh = Transcriber()
    models: list[object] = []
    loaders = [threading.Thread(target=lambda: models.append(fresh.load())) for _ in range(4)]
    for thread in loaders:
        thread.start()
    for thread in loaders:
        thread.join()
    assert len(models) == 4 and all(m is models[0] for m in models)

    texts: list[str] = []
    workers = [
        threading.Thread(target=lambda: texts.append(transcriber.transcribe(short_wav).text))
        for _ in range(2)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert len(texts) == 2 and all(wer(SHORT, t) < 0.15 for t in texts)


@pytest.mark.parametrize("fmt", ["ogg", "flac", "webm", "wav", "mp3"])
def test_a_cut_off_file_is_noticed(tmp_path: Path, fmt: str) -> None:
    """FFmpeg ends a torn file quietly; `damage_note` compares what was read with the
    duration the container states (or, for Ogg, its missing end-of-stream page)."""
    from tests.speech import synthesize

    whole = synthesize(
        "The budget stays the same for the quarter. " * 4, tmp_path / f"a.{fmt}", fmt
    )
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    def note(path: Path) -> str | None:
        seconds = sum(block.samples.size for block in iter_audio(path)) / 16000
        return damage_note(probe(path), seconds)

    assert note(whole) is None
    found = note(cut)
    assert found is not None and found.startswith("Only the first 0:")
    if fmt == "ogg":  # Ogg states no duration: how long it was is unknown
        assert found.endswith("could be read; the rest of the file is missing or damaged.")
    else:
        assert re.fullmatch(
            r"Only the first 0:\d\d of 0:\d\d could be read; "
            r"the rest of the file is missing or damaged\.",
            found,
        )


def test_notes_of_a_transcript_lead_its_recap() -> None:
    """Chat platforms show a recap's notes: a damaged recording's note comes first."""
    from summarizer.pipeline import Summarizer, transcript_to_conversation

    transcript = Transcript(
        segments=[Segment(start=0, end=3, text="We agreed to move the launch to March.")],
        notes=["Only the first 0:03 could be read; the rest of the file is missing or damaged."],
    )
    recap = Summarizer().recap(transcript_to_conversation(transcript))
    assert recap.notes[0] == transcript.notes[0]
