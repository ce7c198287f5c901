"""The summarisation pipeline: recordings and conversations in, transcripts and recaps out.

It knows no chat platform and no database; callers pass plain data and get plain data.
"""

from summarizer.config import LLMConfig, TranscriberConfig
from summarizer.errors import (
    CorruptMediaError,
    EmptyMediaError,
    InputError,
    LLMError,
    MediaError,
    MediaTooLargeError,
    SummarizerError,
    UnsupportedMediaError,
)
from summarizer.pipeline import Summarizer, transcript_to_conversation
from summarizer.types import (
    ActionItem,
    Conversation,
    Decision,
    Message,
    OpenQuestion,
    Recap,
    Segment,
    Transcript,
    Word,
)

__all__ = [
    "ActionItem",
    "Conversation",
    "CorruptMediaError",
    "Decision",
    "EmptyMediaError",
    "InputError",
    "LLMConfig",
    "LLMError",
    "MediaError",
    "MediaTooLargeError",
    "Message",
    "OpenQuestion",
    "Recap",
    "Segment",
    "Summarizer",
    "SummarizerError",
    "TranscriberConfig",
    "Transcript",
    "UnsupportedMediaError",
    "Word",
    "transcript_to_conversation",
]
