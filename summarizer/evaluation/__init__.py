"""Evaluation harness: score a transcriber or a summariser on reference data.

Modules: io (reading reference files), metrics and normalize (scores on strings), report
(tables and JSON figures), transcription and recaps (the runs), acts (recaps scored on
dialogue-act annotations).

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
    rouge,
    rouge_l,
    rouge_n,
    rouge_tokenize,
    word_error_rate,
    word_errors,
)
from .normalize import normalize_text
from .recaps import MeetingResult, RecapReport, evaluate_recaps, recap_action_texts
from .transcription import ClipResult, TranscriptionReport, evaluate_transcription

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
