"""The meeting model's second stage: every act re-scored with the first-stage scores around it.

Why: what an act is depends on the acts around it. An assignment comes with its acceptance
and the project manager's wrap-up, problems are discussed over several acts, and a meeting
that decides much has many decision-like acts. The first stage scores each act from its own
words and its neighbours' words; this stage reads the scores of its neighbours (up to 3
acts away, the strongest within 3, 10 and 30 acts, the mean within 5 and 20), the act's
rank in its meeting, the meeting's mean score, and the act's position. On AMI's held-out
val meetings it raised action-act F1 from 41 to 50 (docs/quality.md). It is trained on
out-of-fold first-stage scores (leave-series-out), as the first stage will score meetings
it has never seen.

A small dense logistic regression per label (63 inputs), trained by full-batch Adam like
the first stage, with einsum rather than BLAS so that a rerun gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SHIFTS = (-3, -2, -1, 1, 2, 3)
_WINDOW_MAX = (3, 10, 30)
_WINDOW_MEAN = (5, 20)
_FLOOR = 1e-6
_CLIP = 8.0


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _FLOOR, 1 - _FLOOR)
    return np.log(p / (1 - p))


def _shifted(values: np.ndarray, by: int, fill: float) -> np.ndarray:
    """values[i - by] at i (the act `by` places before), `fill` past the meeting's ends."""
    out = np.full_like(values, fill)
    if by > 0:
        out[by:] = values[:-by]
    elif by < 0:
        out[:by] = values[-by:]
    return out


def _window_max(p: np.ndarray, reach: int) -> np.ndarray:
    """The highest score within `reach` acts on either side, the act itself left out."""
    out = np.zeros_like(p)
    for by in range(1, min(reach, len(p)) + 1):
        out = np.maximum(out, np.maximum(_shifted(p, by, 0.0), _shifted(p, -by, 0.0)))
    return out


def _window_mean(p: np.ndarray, reach: int) -> np.ndarray:
    """The mean score within `reach` acts on either side, the act itself left out."""
    n = len(p)
    total = np.concatenate([[0.0], np.cumsum(p)])
    low = np.clip(np.arange(n) - reach, 0, n)
    high = np.clip(np.arange(n) + reach + 1, 0, n)
    return (total[high] - total[low] - p) / np.maximum(high - low - 1, 1)


def context_features(first: np.ndarray) -> np.ndarray:
    """(acts, labels) first-stage probabilities of one meeting -> (acts, features)."""
    n = len(first)
    columns: list[np.ndarray] = []
    for k in range(first.shape[1]):
        p = first[:, k]
        own = _logit(p)
        columns.append(own)
        columns += [_shifted(own, by, _logit(np.zeros(1))[0]) for by in _SHIFTS]
        columns += [_logit(_window_max(p, reach)) for reach in _WINDOW_MAX]
        columns += [_logit(_window_mean(p, reach)) for reach in _WINDOW_MEAN]
        rank = np.argsort(np.argsort(-p, kind="stable"), kind="stable")
        columns.append(np.log1p(rank))
        columns.append(own - _logit(p.max(keepdims=True)))
        columns.append(np.full(n, _logit(np.asarray([p.mean()]))[0]))
    position = np.arange(n) / max(n, 1)
    columns += [position, position**2, (position >= 0.9).astype(np.float64)]
    return np.stack(columns, axis=1).astype(np.float64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so that no score overflows (both stages use it)."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class ContextStage:
    """Weights (features + 1, labels), the last row the bias, over standardised features."""

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    def _design(self, features: np.ndarray) -> np.ndarray:
        # Clipped: a meeting unlike any in training must not saturate every act.
        z = np.clip((features - self.mean) / self.scale, -_CLIP, _CLIP)
        return np.hstack([z, np.ones((len(z), 1))])

    def apply(self, first: np.ndarray) -> np.ndarray:
        """Final probabilities (acts, labels) from one meeting's first-stage ones."""
        if not len(first):
            return first
        z = self._design(context_features(first))
        return sigmoid(np.einsum("nf,fl->nl", z, self.weights.astype(np.float64)))


def fit_context(
    features: np.ndarray,
    labels: np.ndarray,
    positive_weight: np.ndarray,
    *,
    l2: float = 1e-3,
    iterations: int = 500,
    learning_rate: float = 0.05,
) -> ContextStage:
    """Weighted L2 logistic regression per label on stacked context features."""
    mean = features.mean(axis=0)
    spread = features.std(axis=0)
    scale = np.where(spread > 1e-6, spread, 1.0)  # a constant input stays as it is
    stage = ContextStage(np.zeros((features.shape[1] + 1, labels.shape[1])), mean, scale)
    z = stage._design(features)
    weight = np.where(labels > 0, positive_weight, 1.0)
    weight = weight / weight.sum(axis=0)
    w, m, v = stage.weights, np.zeros_like(stage.weights), np.zeros_like(stage.weights)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, iterations + 1):
        p = sigmoid(np.einsum("nf,fl->nl", z, w))
        grad = np.einsum("nf,nl->fl", z, (p - labels) * weight) + l2 * w
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        w -= learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return stage
