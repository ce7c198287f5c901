"""What Whisper invents is removed (summarizer/robust.py): loops cut on text and on timed
words, chunks it heard no speech in dropped, long stretches of silence, music or noise
skipped and noted; end to end on real espeak-ng speech mixed with generated noise."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from summarizer.robust import (
    Skipped,
    clean_window,
    cut_repetitions,
    is_invented,
    repeated_spans,
)
from tests.speech import read_wav, synthesize, write_wav


def test_a_looped_phrase_is_kept_once() -> None:
    text = "I'm going to the next one. I'm going to the next one. I'm going to the next one."
    cut, removed = cut_repetitions(text)
    assert cut == "I'm going to the next one." and removed == 12
    looped = "We are ready, ready, ready, ready, ready to ship."
    assert cut_repetitions(looped) == ("We are ready, to ship.", 4)


def test_ordinary_repetition_is_speech() -> None:
    for text in (
        "No, no, no, that is not what I meant.",  # three short words: emphasis
        "Can you hear me? Can you hear me? Yes.",  # said twice
        "We will ship on Friday. Please update the screenshots by Wednesday.",
    ):
        assert cut_repetitions(text) == (text, 0)


def test_repeated_spans_compare_words_without_case_or_punctuation() -> None:
    tokens = "thank you . Thank you! thank, you thanks".replace(" .", ".").split()
    # "thank you." "Thank you!" "thank, you" -> one phrase three times; two copies cut
    assert repeated_spans(tokens) == [(2, 6)]


def test_no_speech_and_unsure_chunks_are_invented() -> None:
    # what tiny.en and base made of a hum, babble and reversed speech (measured)
    assert is_invented(-1.06, 0.91, " Thank you.")
    assert is_invented(-0.78, 0.78, " Thank you very much.")
    assert is_invented(-0.14, 0.85, " One, one, one, one, one, one, one, one,", 17.1)
    assert is_invented(-1.45, 0.7, " I'm going to take a look at what I'm going to do.")
    assert is_invented(-0.2, 0.1, " ♪ ♪ ")  # music notes only
    # speech: confident, or Whisper sure there is speech (espeak under noise, 5 dB SNR)
    assert not is_invented(-0.3, 0.7, "We will ship on Friday.")
    assert not is_invented(-0.58, 0.55, "We will ship a new release on Friday.")
    assert not is_invented(-0.14, 0.44, "We will ship the new release on Friday.", 2.3)
    # espeak French under the multilingual model: Whisper doubts it, but it is speech
    assert not is_invented(-0.89, 0.64, " Nous avons publié la version. Peux-tu m'envoyer…")


def _word(start: float, end: float, text: str) -> SimpleNamespace:
    return SimpleNamespace(start=start, end=end, word=text, probability=0.9)


def _raw(start: float, words: list[str], *, logprob: float = -0.2, no_speech: float = 0.1):
    timed = [_word(start + i * 0.4, start + i * 0.4 + 0.3, f" {w}") for i, w in enumerate(words)]
    return SimpleNamespace(
        start=start,
        end=timed[-1].end,
        text="".join(w.word for w in timed),
        words=timed,
        avg_logprob=logprob,
        no_speech_prob=no_speech,
        compression_ratio=1.2,
    )


def test_clean_window_cuts_loops_drops_invented_chunks_and_notes_the_gaps() -> None:
    rate = 16000
    audio = np.zeros(rate * 90, dtype=np.float32)
    audio[rate * 20 : rate * 60] = 0.05  # 40 s of steady noise between the speech
    raw = [
        _raw(0.0, "we will ship on Friday.".split()),
        _raw(30.0, "Thanks for watching!".split(), logprob=-1.4, no_speech=0.8),
        _raw(62.0, "I think so. I think so. I think so. I think so.".split()),
    ]
    skipped = Skipped()
    segments = clean_window(raw, 600.0, audio, rate, skipped)
    assert [s.text.strip() for s in segments] == ["we will ship on Friday.", "I think so."]
    assert segments[0].start == 600.0  # on the recording's time line
    assert skipped.invented == 1
    assert skipped.loops_at == [pytest.approx(600 + 62.0 + 3 * 0.4)]
    # 1.9 s to 62 s holds no kept word, and noise (RMS 0.05 over 40 of its 60 s); from
    # 63.1 s to the end is digital silence
    assert skipped.noise_seconds == pytest.approx(60.1)
    assert skipped.silence_seconds == pytest.approx(26.9)
    assert skipped.notes() == [
        "Skipped 1:00 of music or noise; skipped 0:27 of silence; cut a repeated phrase at 11:03."
    ]


def test_quiet_gaps_are_silence_and_short_pauses_are_not_noted() -> None:
    rate = 16000
    skipped = Skipped()
    skipped.add_gaps(np.zeros(rate * 40, dtype=np.float32), rate, 0.0, [(0.0, 5.0), (9.0, 12.0)])
    assert skipped.silence_seconds == pytest.approx(28.0) and skipped.noise_seconds == 0
    assert skipped.notes() == ["Skipped 0:28 of silence."]
    assert Skipped().notes() == []


# -- end to end: real speech between silence, noise, a tone and music ------------------------

SR = 16000
FIRST = "We will ship the new release on Friday."
SECOND = "Please update the store screenshots by Wednesday."
SPOKEN = set(re.findall(r"[a-z']+", f"{FIRST} {SECOND} screen shots the".lower()))
CROWD = (
    "The quarterly review covered hiring, the budget, the new office and the roadmap for the "
    "mobile application. Everyone agreed that the launch should wait until the payment "
    "provider is ready."
)


def _noise_bed(rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(SR * 20) / SR
    white = rng.standard_normal(t.size) * 0.05
    spectrum = np.fft.rfft(rng.standard_normal(t.size))
    spectrum[1:] /= np.sqrt(np.fft.rfftfreq(t.size, 1 / SR)[1:])
    spectrum[0] = 0
    pink = np.fft.irfft(spectrum, t.size)
    pink *= 0.15 / np.abs(pink).max()
    tone = 0.2 * np.sin(2 * np.pi * 440 * t)
    notes = np.array([261.6, 329.6, 392.0, 523.3])[(t // 0.5).astype(int) % 4]
    envelope = np.exp(-3 * (t % 0.5))
    music = 0.2 * envelope * (np.sin(2 * np.pi * notes * t) + 0.5 * np.sin(4 * np.pi * notes * t))
    # a hum: a voice-like harmonic tone gliding and pulsing (the VAD lets part of it through)
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    hum = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(6 * np.pi * t))
    hum *= 0.3 / np.abs(hum).max()
    return {
        "silence": np.zeros(t.size),
        "white": white,
        "pink": pink,
        "tone": tone,
        "music": music,
        "hum": hum,
    }


@pytest.fixture(scope="module")
def noisy_recording(tmp_path_factory) -> tuple[Path, list[tuple[float, float]]]:
    """Silence, speech, babble, white noise, pink noise, a tone, a hum, speech, music,
    silence (20 s each besides the speech and babble); returns the file and where the
    speech is."""
    folder = tmp_path_factory.mktemp("noisy")
    first = synthesize(FIRST, folder / "a.wav")
    second = synthesize(SECOND, folder / "b.wav")
    speech = []
    for path in (first, second):
        samples, rate = read_wav(path)
        # espeak speaks at 22.05 kHz: to 16 kHz by interpolation
        x = np.interp(np.arange(0, samples.size, rate / SR), np.arange(samples.size), samples)
        speech.append(x / 32768.0)
    bed = _noise_bed(np.random.default_rng(7))
    # babble: five copies of other speech on top of each other, a crowd (tiny.en heard
    # "One, one, one, …" and "Thank you very much." in it before the guards)
    crowd, rate = read_wav(synthesize(CROWD, folder / "c.wav"))
    crowd16 = np.interp(np.arange(0, crowd.size, rate / SR), np.arange(crowd.size), crowd) / 32768
    crowd16 = np.tile(crowd16, 3)
    babble = sum(np.roll(crowd16, k * 7919) for k in range(5)) / 5
    parts = [bed["silence"], speech[0], babble, bed["white"], bed["pink"], bed["tone"]]
    parts += [bed["hum"], speech[1], bed["music"], bed["silence"]]
    spans, at = [], 0.0
    for part in parts:
        if any(part is s for s in speech):
            spans.append((at, at + part.size / SR))
        at += part.size / SR
    audio = np.concatenate(parts)
    path = write_wav(folder / "noisy.wav", (audio * 32767).astype(np.int16), SR)
    return path, spans


@pytest.mark.slow
def test_speech_between_silence_noise_and_music_is_transcribed_and_nothing_else(
    noisy_recording: tuple[Path, list[tuple[float, float]]],
) -> None:
    from summarizer.transcribe import Transcriber

    path, spans = noisy_recording
    transcript = Transcriber().transcribe(path)
    words = re.findall(r"[a-z']+", transcript.text.lower())
    assert "release on friday" in " ".join(words) and "update" in words
    # tiny.en heard "Thank you very much." and "One, one, one, …" in the babble before
    # the guards; what remains is the spoken words, misheard at most ("I win today" for
    # "by Wednesday", "source" for "store" once packed into a chunk with noise)
    assert not {"thank", "one", "much"} & set(words), words
    misheard = [w for w in words if w not in SPOKEN]
    assert len(misheard) <= 4 and len(words) <= 18, words
    assert transcript.segments[0].start >= spans[0][0] - 0.5
    assert any("of music or noise" in note for note in transcript.notes)
    assert any("of silence" in note for note in transcript.notes)
