"""Diarization error rate, for tests and benchmarks.

DER = (missed speech + false alarm + speaker confusion) / reference speech, computed on a
10 ms grid. As is usual (NIST md-eval, pyannote's defaults for AMI-style scoring): a collar
of 0.25 s around every reference boundary is not scored, and regions where the reference has
two speakers at once are not scored either. Hypothesis speakers are mapped to reference
speakers one to one, maximising the overlap (Hungarian-free: exhaustive for small counts,
greedy beyond).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

import numpy as np

Turns = Sequence[tuple[float, float, Hashable]]  # (start, end, speaker)
_RES = 0.01


def der(reference: Turns, hypothesis: Turns, *, collar: float = 0.25) -> float:
    """The DER of `hypothesis` against `reference` (a fraction; 0.0 when perfect)."""
    if not reference:
        return 0.0
    end = max(e for _, e, _ in [*reference, *hypothesis])
    n = int(np.ceil(end / _RES)) + 1
    ref_names = sorted({s for *_, s in reference}, key=str)
    hyp_names = sorted({s for *_, s in hypothesis}, key=str)
    ref = _grid(reference, ref_names, n)
    hyp = _grid(hypothesis, hyp_names, n)
    scored = ref.sum(axis=0) <= 1
    for start, stop, _ in reference:
        for edge in (start, stop):
            first, last = int((edge - collar) / _RES), int(np.ceil((edge + collar) / _RES))
            scored[max(0, first) : last] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    speech = ref.any(axis=0)
    said = hyp.any(axis=0)
    total = float(speech.sum())
    if total == 0:
        return 0.0
    missed = float((speech & ~said).sum())
    false_alarm = float((~speech & said).sum())
    overlap = ref.astype(np.int64) @ hyp.T.astype(np.int64)  # (ref speakers, hyp speakers)
    correct = _best_mapping(overlap)
    confusion = float((speech & said).sum()) - correct
    return (missed + false_alarm + confusion) / total


def _grid(turns: Turns, names: list[Hashable], n: int) -> np.ndarray:
    grid = np.zeros((len(names), n), dtype=bool)
    index = {name: i for i, name in enumerate(names)}
    for start, stop, speaker in turns:
        grid[index[speaker], round(start / _RES) : round(stop / _RES)] = True
    return grid


def _best_mapping(overlap: np.ndarray) -> float:
    """The largest total overlap of a one-to-one mapping between rows and columns."""
    rows, cols = overlap.shape
    if rows == 0 or cols == 0:
        return 0.0
    if min(rows, cols) <= 6 and max(rows, cols) <= 8:
        small, large = (overlap, rows) if rows <= cols else (overlap.T, cols)
        best = 0
        for perm in itertools.permutations(range(small.shape[1]), small.shape[0]):
            best = max(best, int(sum(small[i, j] for i, j in enumerate(perm))))
        del large
        return float(best)
    total, used_r, used_c = 0, set(), set()
    for flat in np.argsort(overlap, axis=None)[::-1]:
        r, c = divmod(int(flat), cols)
        if r not in used_r and c not in used_c:
            total += int(overlap[r, c])
            used_r.add(r)
            used_c.add(c)
    return float(total)
