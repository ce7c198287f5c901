"""Grouping voice embeddings by speaker: spectral clustering on a refined cosine affinity.

The affinity refinement is the one of Wang et al., "Speaker Diarization with LSTM" (ICASSP
2018): each row keeps only its strongest neighbours, then it is symmetrised and diffused.
With a known count, the windows are over-clustered (count + 4) from the top eigenvectors
and merged back by centroid similarity, which copes with one voice dominating; spherical
k-means then polishes the assignment in the embedding space.

Without a count (measured in docs/quality.md; the eigengap and the silhouette over-split a
voice into what it says): one speaker when the windows all sit close to one centroid;
on 2+ minutes of speech, merge clusters while their centroids are one voice's (>= 0.9);
on less, the count with the best silhouette if it is clear enough.
"""

from __future__ import annotations

import numpy as np

MAX_SPEAKERS = 8
# One speaker when the best split's silhouette is below this (one real voice: 0.10; two
# people in the pyannote sample: 0.26; distinct espeak voices: 0.4-0.5) ...
MIN_SILHOUETTE = 0.15
# ... or when the windows' mean cosine to their common centroid is above this (one espeak
# voice: 0.91-0.92; two or more voices: 0.85).
ONE_VOICE_COHERENCE = 0.9
# Long recordings (this many windows, 2 minutes of speech): clusters are big enough for
# their centroids to be stable, and same-voice centroids sit at 0.95-0.96 against 0.75-0.83
# for different voices, so merging stops below SAME_VOICE. Shorter ones use the silhouette.
_LONG = 300
SAME_VOICE = 0.9
_SMALLEST_SHARE = 0.03  # of the windows: a smaller cluster is noise, not a participant
_SHORT_TURN_WINDOWS = 4  # short recordings: a participant has >= 4 full windows (~2.8 s)
_SILHOUETTE_TIE = 0.05  # counts scoring within this of the best: the smallest wins
_EXTRA = 4  # clusters beyond the wanted count, merged back by centroid similarity
_KEEP = 0.2  # fraction of each row's neighbours kept by the refinement
_MAX_POINTS = 2000  # spectral clustering runs on at most this many windows (evenly sampled)


def cluster(
    embeddings: np.ndarray, num_speakers: int | None = None, *, max_speakers: int | None = None
) -> np.ndarray:
    """A label 0..k-1 per embedding (rows of unit length), numbered by first appearance;
    `num_speakers` exactly when given, else estimated, at most `max_speakers`."""
    n = embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=int)
    if (num_speakers is not None and num_speakers <= 1) or n < 4:
        return np.zeros(n, dtype=int)
    sample = np.linspace(0, n - 1, min(n, _MAX_POINTS)).round().astype(int)
    points = embeddings[sample]
    vectors = _spectrum(points)
    if num_speakers is not None:
        most = min(num_speakers, points.shape[0] - 1)
        start = min(most + _EXTRA, points.shape[0] - 1)
        labels = _merge_path(points, _spectral(points, vectors, start))[most]
    else:
        labels = _estimate(points, vectors, max(1, min(max_speakers or MAX_SPEAKERS, MAX_SPEAKERS)))
    if labels.max(initial=0) == 0:
        return np.zeros(n, dtype=int)
    return _compact(_refine(embeddings, _centroids(points, labels)))


def _merge_path(points: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Labels for every count from the over-clustered `labels` down to 1, merging the two
    clusters with the most similar centroids each time. Spectral clustering alone splits a
    dominant voice by what it says before it separates two quiet voices (DER 42% on 8
    minutes where one voice spoke 77% of the time, 0.1% with this); merging centroids does
    not care how big the clusters are."""
    labels = _compact(labels)
    path = {int(labels.max()) + 1: labels}
    while labels.max() > 0:
        a, b, _ = _closest(points, labels)
        labels = _compact(np.where(labels == b, a, labels))
        path[int(labels.max()) + 1] = labels
    return path


def _closest(points: np.ndarray, labels: np.ndarray) -> tuple[int, int, float]:
    middle = _centroids(points, labels)
    similarity = middle @ middle.T
    np.fill_diagonal(similarity, -np.inf)
    a, b = sorted(np.unravel_index(int(np.argmax(similarity)), similarity.shape))
    return int(a), int(b), float(similarity[a, b])


def silhouette(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette with cosine distance (0 for a single cluster)."""
    k = int(labels.max(initial=0)) + 1
    if k < 2:
        return 0.0
    distance = 1.0 - embeddings @ embeddings.T
    onehot = np.eye(k)[labels]
    counts = onehot.sum(axis=0)
    sums = distance @ onehot  # (n, k): summed distance to each cluster
    own = counts[labels]
    a = sums[np.arange(labels.size), labels] / np.maximum(own - 1, 1)
    means = sums / np.maximum(counts, 1)
    means[np.arange(labels.size), labels] = np.inf
    means[:, counts == 0] = np.inf
    b = means.min(axis=1)
    score = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    return float(np.mean(np.where(own > 1, score, 0.0)))


def _estimate(points: np.ndarray, vectors: np.ndarray, most: int) -> np.ndarray:
    everyone = np.zeros(points.shape[0], dtype=int)
    coherence = float(np.mean(points @ _centroids(points, everyone)[0]))
    if most <= 1 or coherence >= ONE_VOICE_COHERENCE:
        return everyone
    if points.shape[0] >= _LONG:
        merged = _merge_until(points, _spectral(points, vectors, MAX_SPEAKERS + _EXTRA))
        return merged if merged.max() < most else _merge_path(points, merged)[most]
    # A participant says at least a few seconds; and of the counts that score about as
    # well, the smallest: on a short recording one voice's sentences otherwise become
    # "speakers" (a 12 s, 2-voice standup came out as 5, split mid-sentence).
    smallest = _SHORT_TURN_WINDOWS
    scored: list[tuple[int, float, np.ndarray]] = []
    for k in range(2, min(most, points.shape[0] // smallest) + 1):
        labels = _spectral(points, vectors, k)
        if np.bincount(labels, minlength=k).min() < smallest:
            continue
        scored.append((k, silhouette(points, labels), labels))
    top = max((score for _, score, _ in scored), default=0.0)
    if top <= MIN_SILHOUETTE:
        return everyone
    return next(labels for _, score, labels in scored if score >= top - _SILHOUETTE_TIE)


def _merge_until(points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Merge the most similar clusters while their centroids are one voice's, then any
    cluster too small to be a participant into its nearest."""
    labels = _compact(labels)
    smallest = max(4, _SMALLEST_SHARE * points.shape[0])
    while labels.max() > 0:
        a, b, similarity = _closest(points, labels)
        if similarity < SAME_VOICE:
            sizes = np.bincount(labels)
            small = int(np.argmin(sizes))
            if sizes[small] >= smallest:
                break
            middle = _centroids(points, labels)
            near = middle @ middle[small]
            near[small] = -np.inf
            a, b = sorted((small, int(np.argmax(near))))
        labels = _compact(np.where(labels == b, a, labels))
    return labels


def _spectral(points: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    spec = vectors[:, :k]
    spec = spec / np.maximum(np.linalg.norm(spec, axis=1, keepdims=True), 1e-12)
    labels = _kmeans(spec, k)
    return _refine(points, _centroids(points, labels, k))


def centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit-length mean embedding of each label 0..k-1."""
    return _centroids(embeddings, labels)


def _spectrum(points: np.ndarray) -> np.ndarray:
    """Eigenvectors of the refined affinity, by decreasing eigenvalue."""
    affinity = points @ points.T
    np.fill_diagonal(affinity, 0.0)
    np.fill_diagonal(affinity, affinity.max(axis=1))  # "crop" the diagonal
    keep = max(1, int(np.ceil(_KEEP * affinity.shape[0])))
    cutoff = np.partition(affinity, -keep, axis=1)[:, -keep][:, None]
    affinity = np.where(affinity >= cutoff, affinity, affinity * 0.01)
    affinity = np.maximum(affinity, affinity.T)
    affinity = affinity @ affinity.T
    affinity /= np.maximum(affinity.max(axis=1, keepdims=True), 1e-12)
    affinity = (affinity + affinity.T) / 2
    _, vectors = np.linalg.eigh(affinity)
    return vectors[:, ::-1]


def _kmeans(x: np.ndarray, k: int, *, seeds: int = 8, steps: int = 50) -> np.ndarray:
    """Plain k-means, k-means++ starts, the best of `seeds` runs (deterministic)."""
    best, best_cost = np.zeros(x.shape[0], dtype=int), np.inf
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        centers = [x[rng.integers(x.shape[0])]]
        for _ in range(1, k):
            d = np.min([np.sum((x - c) ** 2, axis=1) for c in centers], axis=0)
            total = d.sum()
            pick = rng.choice(x.shape[0], p=d / total) if total > 0 else rng.integers(x.shape[0])
            centers.append(x[pick])
        c = np.array(centers)
        labels = np.zeros(x.shape[0], dtype=int)
        for _ in range(steps):
            dist = ((x[:, None, :] - c[None]) ** 2).sum(axis=2)
            new = dist.argmin(axis=1)
            if np.array_equal(new, labels) and _ > 0:
                break
            labels = new
            for j in range(k):
                if np.any(labels == j):
                    c[j] = x[labels == j].mean(axis=0)
        cost = float(((x - c[labels]) ** 2).sum())
        if cost < best_cost:
            best, best_cost = labels, cost
    return best


def _refine(embeddings: np.ndarray, centers: np.ndarray, steps: int = 5) -> np.ndarray:
    """Spherical k-means from `centers` over every embedding."""
    labels = np.argmax(embeddings @ centers.T, axis=1)
    for _ in range(steps):
        centers = _centroids(embeddings, labels, centers.shape[0])
        new = np.argmax(embeddings @ centers.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _centroids(embeddings: np.ndarray, labels: np.ndarray, k: int | None = None) -> np.ndarray:
    k = int(labels.max(initial=-1)) + 1 if k is None else k
    sums = np.zeros((k, embeddings.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, embeddings)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Renumber labels 0..k-1 in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].reshape(-1)
