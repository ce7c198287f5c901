"""Offline speaker diarization (summarizer/speakers) on real espeak-ng voices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from summarizer.audio import load_audio
from summarizer.speakers import (
    VoiceEncoder,
    WeightsError,
    der,
    diarize,
    label_speakers,
)
from summarizer.speakers import encoder as encoder_module
from summarizer.speakers import label as label_module
from summarizer.speakers.features import MelStream, mel_filterbank, mel_spectrogram
from summarizer.types import Segment, Transcript, Word
from tests.speech import synthesize_dialogue

# Three voices of tests.speech.VOICES taking turns: 0, 1, 2, 0, 1, 2 (about 25 s).
TURNS = [
    (0, "We should ship the new release on Friday after the review."),
    (1, "I agree, but the tests on the payment page still fail sometimes."),
    (2, "Then let us fix the flaky tests first and decide tomorrow."),
    (0, "I can look at the payment tests this afternoon."),
    (1, "Who writes the release notes for the customers this time?"),
    (2, "I will write them and send a draft to everyone by Thursday."),
]
# Measured 0.6% on a 53 s dialogue of these voices and 6.2% on the pyannote sample
# (docs/quality.md). One label for everyone scores about 67% here, and any boundary
# misplaced by a second on every turn about 20%: 10% fails those and tolerates a
# word-sized slip at each of the five changes.
MAX_DER = 0.10


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list, np.ndarray]:
    path, reference = synthesize_dialogue(TURNS, tmp_path_factory.mktemp("speakers") / "d.wav")
    return path, reference, load_audio(path)


@pytest.fixture(scope="module")
def encoder() -> VoiceEncoder:
    return VoiceEncoder.load()


def _reference_lstm(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """torch.nn.LSTM + Linear + ReLU + L2 norm, written out plainly (gates i, f, g, o)."""

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    h = np.zeros((x.shape[0], 256), np.float32)
    for layer in range(3):
        w_ih, w_hh = weights[f"lstm_weight_ih_l{layer}"], weights[f"lstm_weight_hh_l{layer}"]
        bias = weights[f"lstm_bias_ih_l{layer}"] + weights[f"lstm_bias_hh_l{layer}"]
        h = np.zeros((x.shape[0], 256), np.float32)
        c = np.zeros_like(h)
        outputs = []
        for t in range(x.shape[1]):
            i, f, g, o = np.split(x[:, t] @ w_ih.T + h @ w_hh.T + bias, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            outputs.append(h)
        x = np.stack(outputs, axis=1)
    raw = np.maximum(h @ weights["linear_weight"].T + weights["linear_bias"], 0)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def test_mel_features_have_resemblyzers_shape_and_filters(dialogue) -> None:
    _, _, audio = dialogue
    mels = mel_spectrogram(audio[:16000])
    assert mels.shape == (101, 40) and mels.dtype == np.float32  # 10 ms hop, centred frames
    assert (mels >= 0).all() and mels.sum() > 0  # mel power, not log
    bank = mel_filterbank()
    assert bank.shape == (40, 201)  # 25 ms window: 400-point FFT
    # Slaney normalisation: every filter has unit area in Hz (2 / width, height x width / 2).
    hz = np.linspace(0, 8000, 201)
    areas = np.trapezoid(bank, hz, axis=1)
    assert np.allclose(areas[1:-1], 1.0, atol=0.05)
    # Louder input is normalised down to the same features only when it is quieter than
    # -30 dBFS: Resemblyzer raises quiet audio, never lowers loud audio.
    quiet = mel_spectrogram(audio[:16000] * 0.01)
    assert np.allclose(quiet, mel_spectrogram(audio[:16000] * 0.02), rtol=1e-3)
    # Streamed in uneven blocks (as a long file is decoded), the frames are the same.
    stream = MelStream()
    for start in range(0, audio.size, 12_345):
        stream.feed(audio[start : start + 12_345])
    whole = mel_spectrogram(audio)
    assert np.allclose(stream.finish(), whole, rtol=1e-4, atol=1e-6 * whole.max())


def test_numpy_encoder_equals_the_plain_lstm(encoder) -> None:
    with np.load(encoder_module.WEIGHTS_PATH) as data:
        weights = {k: data[k].astype(np.float32) for k in data.files}
    x = np.random.default_rng(0).gamma(0.5, 0.02, size=(5, 60, 40)).astype(np.float32)
    assert np.abs(encoder.embed(x) - _reference_lstm(weights, x)).max() < 1e-5


def test_embeddings_are_unit_length_and_tell_voices_apart(dialogue, encoder) -> None:
    _, reference, audio = dialogue
    mels = mel_spectrogram(audio)
    windows, voices = [], []
    for start, _, voice in reference:
        first = int(start * 100)
        windows.append(mels[first : first + 160])
        voices.append(voice)
    embeddings = encoder.embed(np.array(windows))
    assert embeddings.shape == (6, 256)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    similarity = embeddings @ embeddings.T
    for i in range(3):  # turn i and turn i + 3 are the same voice
        same = similarity[i, i + 3]
        others = [similarity[i, j] for j in range(6) if voices[j] != voices[i]]
        assert same > max(others)


def test_known_count_diarization_is_accurate(dialogue, encoder) -> None:
    _, reference, audio = dialogue
    result = diarize(audio, encoder, num_speakers=3)
    assert result.speakers == 3 and result.centroids.shape == (3, 256)
    hypothesis = [(t.start, t.end, t.speaker) for t in result.turns]
    assert der(reference, hypothesis) < MAX_DER
    assert [t.speaker for t in result.turns][:3] == [0, 1, 2]  # numbered by first appearance


def test_the_speaker_count_is_estimated(dialogue, encoder) -> None:
    _, reference, audio = dialogue
    result = diarize(audio, encoder)
    assert result.speakers == 3
    assert der(reference, [(t.start, t.end, t.speaker) for t in result.turns]) < MAX_DER
    one_voice = audio[: int(reference[0][1] * 16000)]  # the first turn alone
    assert diarize(one_voice, encoder).speakers == 1


def test_der_counts_misses_false_alarms_and_confusion() -> None:
    reference = [(0.0, 10.0, "a"), (10.0, 20.0, "b")]
    assert der(reference, [(0.0, 10.0, 7), (10.0, 20.0, 9)]) == 0.0  # names do not matter
    assert der(reference, [(0.0, 20.0, 1)]) == pytest.approx(9.75 / 19.5, abs=0.01)
    assert der(reference, [(0.0, 10.0, 1)]) == pytest.approx(9.75 / 19.5, abs=0.01)
    assert der(reference, [(0.0, 30.0, 1), (10.0, 20.0, 2)]) > 0.4  # false alarm, overlap


def _transcript_from(reference: list, split_every: int = 2) -> Transcript:
    """A transcript whose segments each span `split_every` turns, as whisper's can."""
    segments = []
    for i in range(0, len(reference), split_every):
        turns = reference[i : i + split_every]
        words = []
        for start, end, voice in turns:
            for k, at in enumerate(np.linspace(start, end, 5)[:-1]):
                words.append(Word(start=at + 0.05, end=at + 0.6, word=f" v{voice}w{k}"))
        text = "".join(w.word for w in words).strip()
        segments.append(Segment(start=turns[0][0], end=turns[-1][1], text=text, words=words))
    return Transcript(segments=segments, duration=reference[-1][1], source="d.wav")


def test_transcript_words_and_segments_get_speakers(dialogue, encoder) -> None:
    path, reference, _ = dialogue
    transcript = _transcript_from(reference)
    labelled = label_speakers(transcript, path, 3, encoder=encoder)
    # Each two-turn segment is split where the voice changes.
    assert len(labelled.segments) == 6
    assert [s.speaker for s in labelled.segments] == ["Speaker 1", "Speaker 2", "Speaker 3"] * 2
    for segment in labelled.segments:
        voice = {w.word.strip()[1] for w in segment.words}
        assert len(voice) == 1 and segment.text.startswith(f"v{voice.pop()}")
    assert set(labelled.voices) == {"Speaker 1", "Speaker 2", "Speaker 3"}
    assert len(labelled.voices["Speaker 1"]) == 256
    assert "voices" not in labelled.model_dump()  # never serialised
    assert transcript.segments[0].speaker is None  # the input is left as it was


def test_missing_weights_leave_the_transcript_intact_with_a_note(
    dialogue, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, reference, _ = dialogue
    monkeypatch.setattr(encoder_module, "WEIGHTS_PATH", tmp_path / "missing.npz")
    monkeypatch.setattr(label_module, "_encoder", None)
    with pytest.raises(WeightsError):
        VoiceEncoder.load()
    transcript = _transcript_from(reference)
    labelled = label_speakers(transcript, path)
    assert labelled.segments == transcript.segments
    assert labelled.notes[-1].startswith(
        "Speakers are not labelled: the voice encoder weights could not be read"
    )
    assert str(tmp_path) not in labelled.notes[-1]  # users see no server path
    (tmp_path / "broken.npz").write_bytes(b"PK\3\4 not a zip")
    monkeypatch.setattr(encoder_module, "WEIGHTS_PATH", tmp_path / "broken.npz")
    assert label_speakers(transcript, path).notes[-1] == labelled.notes[-1]


def test_a_participant_count_bounds_the_estimate(dialogue, encoder) -> None:
    """A meeting's participant list is an upper bound (some may not speak), never a count
    forced on the voices."""
    _, _, audio = dialogue
    assert diarize(audio, encoder, max_speakers=8).speakers == 3
    assert diarize(audio, encoder, max_speakers=2).speakers == 2
    assert diarize(audio, encoder, max_speakers=1).speakers == 1
