"""Shared pieces of the evaluation reports: Markdown tables and JSON-ready figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .metrics import PRF, MatchResult


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal, or "n/a"."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def prf_cell(value: PRF | None) -> str:
    """Precision / recall / F1 in percent, for a table cell."""
    if value is None:
        return "n/a"
    return f"{100 * value.precision:.1f} / {100 * value.recall:.1f} / {100 * value.f1:.1f}"


def finite(value: float | None) -> float | None:
    """The value, or None when it is infinite or NaN (JSON has neither)."""
    return value if value is not None and math.isfinite(value) else None


# --------------------------------------------------------------------------------------
# Transcription


def counts_cell(value: PRF | None) -> str:
    """Matched / predicted / reference counts, for a table cell."""
    if value is None:
        return "n/a"
    return f"{value.true_positives} / {value.predicted} / {value.reference}"


def prf_dict(value: PRF | None) -> dict[str, Any] | None:
    """Scores and counts as plain JSON data."""
    if value is None:
        return None
    return {
        "precision": value.precision,
        "recall": value.recall,
        "f1": value.f1,
        "true_positives": value.true_positives,
        "predicted": value.predicted,
        "reference": value.reference,
    }


def match_dict(value: MatchResult | None) -> dict[str, Any] | None:
    """Scores, counts and the matched and unmatched items as plain JSON data."""
    if value is None:
        return None
    return {
        **(prf_dict(value) or {}),
        "pairs": [
            {"prediction": p.prediction, "reference": p.reference, "score": p.score}
            for p in value.pairs
        ],
        "unmatched_predictions": list(value.unmatched_predictions),
        "unmatched_references": list(value.unmatched_references),
    }
