"""Mel features exactly as Resemblyzer computes them, without librosa.

Resemblyzer's `wav_to_mel_spectrogram` is librosa's `melspectrogram` at 16 kHz: a centred,
zero-padded STFT with a 400-sample (25 ms) periodic Hann window and a 160-sample (10 ms) hop,
power 2, projected on 40 Slaney-style mel filters (0-8 kHz, Slaney area normalisation), and
not log-compressed. The waveform is first brought up to -30 dBFS (never down).
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
TARGET_DBFS = -30.0
_INT16_MAX = 2**15 - 1
_CHUNK_FRAMES = 3000  # 30 s of frames per STFT: bounds its buffers on long audio


def hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's htk=False): linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    mels = hz / f_sp
    above = hz >= min_log_hz
    return np.where(
        above, min_log_hz / f_sp + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mels
    )


def mel_to_hz(mels: float | np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(
        mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels
    )


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels) (Slaney norm), (n_mels, bins)."""
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


_FILTERS = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def volume_gain(audio: np.ndarray) -> float:
    """The gain that brings `audio` up to -30 dBFS (1.0 when it is already louder)."""
    rms = float(np.sqrt(np.mean(np.square(audio * _INT16_MAX, dtype=np.float64))))
    if rms <= 0:
        return 1.0
    change = TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
    return float(10 ** (change / 20)) if change > 0 else 1.0


def mel_spectrogram(audio: np.ndarray, gain: float | None = None) -> np.ndarray:
    """(frames, 40) float32 mel power of 16 kHz mono audio, frame t centred on sample 160 t.

    `gain` defaults to Resemblyzer's volume normalisation of the whole `audio`; mel power
    is quadratic in the waveform, so the gain is applied to the result, squared.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if gain is None:
        gain = volume_gain(audio)
    out = mel_frames(np.pad(audio, (N_FFT // 2, N_FFT // 2)), 1 + audio.size // HOP)
    if gain != 1.0:
        out *= np.float32(gain * gain)
    return out


def mel_frames(data: np.ndarray, frames: int) -> np.ndarray:
    """Mel power of `frames` frames, frame i being data[160 i : 160 i + 400]."""
    out = np.empty((frames, N_MELS), dtype=np.float32)
    for start in range(0, frames, _CHUNK_FRAMES):
        stop = min(frames, start + _CHUNK_FRAMES)
        index = (np.arange(start, stop) * HOP)[:, None] + np.arange(N_FFT)[None, :]
        spectrum = np.fft.rfft(data[index] * _WINDOW, axis=1)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
        out[start:stop] = power @ _FILTERS.T
    return out


class MelStream:
    """`mel_spectrogram` of audio that arrives in blocks, without keeping the audio: feed
    blocks in order, then `finish()` gives the same frames as one call on the whole."""

    def __init__(self) -> None:
        self._tail = np.zeros(N_FFT // 2, dtype=np.float32)  # the centred STFT's zero pad
        self._parts: list[np.ndarray] = []
        self._samples = 0
        self._square_sum = 0.0

    def feed(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        self._samples += block.size
        self._square_sum += float(np.sum(np.square(block * _INT16_MAX, dtype=np.float64)))
        data = np.concatenate([self._tail, block])
        if data.size < N_FFT:
            self._tail = data
            return
        frames = (data.size - N_FFT) // HOP + 1
        self._parts.append(mel_frames(data, frames))
        self._tail = data[frames * HOP :]

    def finish(self) -> np.ndarray:
        total = 1 + self._samples // HOP
        done = sum(part.shape[0] for part in self._parts)
        data = np.concatenate([self._tail, np.zeros(N_FFT, dtype=np.float32)])
        parts = [*self._parts, mel_frames(data, total - done)]
        mels = np.concatenate(parts)
        rms = np.sqrt(self._square_sum / max(1, self._samples))
        if rms > 0:
            change = TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
            if change > 0:
                mels *= np.float32(10 ** (change / 10))  # the gain, squared
        return mels
