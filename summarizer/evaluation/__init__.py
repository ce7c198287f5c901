"""Evaluation harness: score a transcriber or a summariser on reference data.

Library only (no CLI, no I/O beyond reading the reference files); ``balafon eval`` wires
it up. Pure: imports nothing from ``bot`` or ``adapters``.
"""

from .metrics import (
    DEFAULT_MATCH_THRESHOLD,
    PRF,
    MatchedPair,
    MatchResult,
    RougeScore,
    RougeScores,
    WordErrors,
    item_similarity,
    match_items,
    normalize_text,
    rouge,
    rouge_l,
    rouge_n,
    rouge_tokenize,
    word_error_rate,
    word_errors,
)
from .runners import (
    ClipResult,
    MeetingResult,
    RecapReport,
    TranscriptionReport,
    evaluate_recaps,
    evaluate_transcription,
    recap_action_texts,
)

__all__ = [
    "DEFAULT_MATCH_THRESHOLD",
    "PRF",
    "ClipResult",
    "MatchResult",
    "MatchedPair",
    "MeetingResult",
    "RecapReport",
    "RougeScore",
    "RougeScores",
    "TranscriptionReport",
    "WordErrors",
    "evaluate_recaps",
    "evaluate_transcription",
    "item_similarity",
    "match_items",
    "normalize_text",
    "recap_action_texts",
    "rouge",
    "rouge_l",
    "rouge_n",
    "rouge_tokenize",
    "word_error_rate",
    "word_errors",
]
