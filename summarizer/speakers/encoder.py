"""Resemblyzer's voice encoder in numpy: 3 LSTM layers of 256, a linear layer, ReLU, L2 norm.

The weights (summarizer/models/voice_encoder.npz, Apache-2.0, see LICENSE.md there) come from
the Resemblyzer 0.1.4 wheel via scripts/convert_voice_encoder. Windows are run as a batch:
each layer's input projection is one matrix product over all time steps, and only the
recurrent product runs step by step, so the cost is a few large matmuls per step.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "models" / "voice_encoder.npz"
LAYERS = 3
HIDDEN = 256
# Windows per batch: bounds the per-layer gate buffer (batch x 160 x 1024 floats, 42 MB).
_BATCH = 64


class WeightsError(RuntimeError):
    """The voice encoder's weights are missing or unreadable."""


class VoiceEncoder:
    """Maps (windows, frames, 40) mel spectrograms to unit-norm 256-d voice embeddings."""

    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        try:
            self._layers = [
                _gate_layer(
                    np.asarray(weights[f"lstm_weight_ih_l{i}"], dtype=np.float32),
                    np.asarray(weights[f"lstm_weight_hh_l{i}"], dtype=np.float32),
                    np.asarray(weights[f"lstm_bias_ih_l{i}"], dtype=np.float32)
                    + np.asarray(weights[f"lstm_bias_hh_l{i}"], dtype=np.float32),
                )
                for i in range(LAYERS)
            ]
            self._linear_w = np.ascontiguousarray(weights["linear_weight"].T, dtype=np.float32)
            self._linear_b = np.asarray(weights["linear_bias"], dtype=np.float32)
        except KeyError as exc:
            raise WeightsError(f"the voice encoder weights lack {exc}") from exc

    @classmethod
    def load(cls, path: str | Path | None = None) -> VoiceEncoder:
        """Load the bundled weights; WeightsError when they are missing or broken."""
        path = WEIGHTS_PATH if path is None else path
        try:
            with np.load(path) as data:
                weights = {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            # The reason goes to the log; the note users see names no server path.
            log.warning("voice encoder weights %s: %s", path, exc)
            raise WeightsError(
                "the voice encoder weights could not be read (reinstall the package, or run "
                "scripts/convert_voice_encoder)"
            ) from exc
        return cls(weights)

    def embed(self, mels: np.ndarray) -> np.ndarray:
        """Embeddings (n, 256), each of unit length, for mel windows of shape (n, frames, 40)."""
        mels = np.asarray(mels, dtype=np.float32)
        out = np.empty((mels.shape[0], HIDDEN), dtype=np.float32)
        # The recurrent products are small: BLAS threads cost more in hand-offs than they
        # gain (10x slower with 2 threads on a busy 2-core machine), and the media pool
        # already runs one job per core.
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, mels.shape[0], _BATCH):
                out[start : start + _BATCH] = self._embed_batch(mels[start : start + _BATCH])
        return out

    def _embed_batch(self, x: np.ndarray) -> np.ndarray:
        batch, frames, _ = x.shape
        x = np.ascontiguousarray(x.transpose(1, 0, 2))  # time-major: contiguous steps
        h = np.zeros((batch, HIDDEN), dtype=np.float32)
        three = 3 * HIDDEN
        for layer, (w_ih, w_hh, bias) in enumerate(self._layers):
            gates_in = (x.reshape(frames * batch, -1) @ w_ih + bias).reshape(frames, batch, -1)
            last = layer == LAYERS - 1
            seq = None if last else np.empty((frames, batch, HIDDEN), dtype=np.float32)
            h = np.zeros((batch, HIDDEN), dtype=np.float32)
            c = np.zeros((batch, HIDDEN), dtype=np.float32)
            for t in range(frames):
                g = gates_in[t]
                g += h @ w_hh
                # One tanh for all gates: the sigmoid gates' weights were halved, and
                # sigmoid(z) = (tanh(z / 2) + 1) / 2.
                np.tanh(g, out=g)
                sig = g[:, :three]
                sig += 1.0
                sig *= 0.5
                c *= g[:, HIDDEN : 2 * HIDDEN]  # forget
                c += g[:, :HIDDEN] * g[:, three:]  # input * cell
                h = np.tanh(c)
                h *= g[:, 2 * HIDDEN : three]  # output
                if seq is not None:
                    seq[t] = h
            if seq is not None:
                x = seq
        raw = np.maximum(h @ self._linear_w + self._linear_b, 0.0)
        norm = np.linalg.norm(raw, axis=1, keepdims=True)
        return raw / np.maximum(norm, 1e-12)


def _gate_layer(
    w_ih: np.ndarray, w_hh: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Torch's gate rows (input, forget, cell, output) reordered to (input, forget, output,
    cell), the three sigmoid gates scaled by 1/2, transposed for `x @ w`."""
    h = HIDDEN
    order = np.r_[0 : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]
    scale = np.r_[np.full(3 * h, 0.5), np.ones(h)].astype(np.float32)
    return (
        np.ascontiguousarray((w_ih[order] * scale[:, None]).T, dtype=np.float32),
        np.ascontiguousarray((w_hh[order] * scale[:, None]).T, dtype=np.float32),
        (bias[order] * scale).astype(np.float32),
    )
