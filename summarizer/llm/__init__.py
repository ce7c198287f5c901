"""The LLM engine and what callers and tests reach of it (see engine.py for how it works)."""

from summarizer.llm.budget import CHARS_PER_TOKEN, estimate_tokens
from summarizer.llm.calls import MAX_CONCURRENCY, RETRY_ALLOWANCE_SECONDS
from summarizer.llm.engine import LLMEngine
from summarizer.llm.prompts import (
    CLOSE_TAG,
    MAP_SYSTEM_PROMPT,
    OPEN_TAG,
    PARTIALS_CLOSE_TAG,
    PARTIALS_OPEN_TAG,
    REDUCE_SYSTEM_PROMPT,
    render_message,
)

__all__ = [
    "CHARS_PER_TOKEN",
    "CLOSE_TAG",
    "MAP_SYSTEM_PROMPT",
    "MAX_CONCURRENCY",
    "OPEN_TAG",
    "PARTIALS_CLOSE_TAG",
    "PARTIALS_OPEN_TAG",
    "REDUCE_SYSTEM_PROMPT",
    "RETRY_ALLOWANCE_SECONDS",
    "LLMEngine",
    "estimate_tokens",
    "render_message",
]
