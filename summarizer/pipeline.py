"""The one entry point callers use: conversation or transcript in, Recap out."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from summarizer.config import LLMConfig
from summarizer.errors import InputError, LLMError
from summarizer.limits import cap_recap
from summarizer.offline import offline_recap
from summarizer.participants import is_unnamed_speaker
from summarizer.types import Conversation, Message, Recap, Transcript

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)


def format_timestamp(seconds: float) -> str:
    """`h:mm:ss` (or `m:ss` under an hour): how a transcript position is cited."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def transcript_to_conversation(
    transcript: Transcript, *, recorded_at: datetime | None = None, title: str | None = None
) -> Conversation:
    """A transcript as a conversation: one message per segment, cited by its timestamp."""
    messages = [
        Message(
            author=segment.speaker or "",
            text=segment.text.strip(),
            at=recorded_at + timedelta(seconds=segment.start) if recorded_at else None,
            ref=f"t={format_timestamp(segment.start)}",
        )
        for segment in transcript.segments
        if segment.text.strip()
    ]
    return Conversation(
        messages=messages, title=title or transcript.source, notes=list(transcript.notes)
    )


class Summarizer:
    """Makes recaps with the configured LLM, or the offline engine when there is none.

    When the LLM fails or times out, the offline engine answers instead and the recap
    carries a note saying so: the user always gets a recap.
    """

    def __init__(
        self,
        *,
        llm: LLMConfig | None = None,
        chat_model: BaseChatModel | None = None,
        offline_model: bool = True,
    ) -> None:
        # False: the offline engine keeps to its rules on meetings too (for comparisons).
        self._offline_model = offline_model
        self._llm_engine = None
        if chat_model is not None or (llm is not None and llm.model):
            from summarizer.llm import LLMEngine

            self._llm_engine = LLMEngine(llm or LLMConfig(), chat_model=chat_model)

    @property
    def engine(self) -> str:
        return self._llm_engine.name if self._llm_engine else "offline"

    @property
    def llm_setup_error(self) -> str | None:
        """Why the configured LLM could not be set up (recaps fall back to the offline
        engine), else None."""
        return self._llm_engine.setup_error if self._llm_engine else None

    def recap(self, conversation: Conversation) -> Recap:
        if not any(m.text.strip() for m in conversation.messages):
            raise InputError("the conversation is empty: there is nothing to summarise.")
        recap = self._recap(conversation)
        recap.notes[:0] = conversation.notes  # first: they say what the recap is of
        for item in recap.action_items:
            if is_unnamed_speaker(item.owner):
                item.owner = item.owner_id = None
        return recap

    def _recap(self, conversation: Conversation) -> Recap:
        # Capped before anything renders it: model output is untrusted and unbounded.
        if self._llm_engine is None:
            return cap_recap(offline_recap(conversation, model=self._offline_model))
        try:
            return cap_recap(self._llm_engine.recap(conversation))
        except LLMError as exc:
            log.warning("LLM recap failed, falling back to the offline engine: %s", exc)
            recap = offline_recap(conversation, model=self._offline_model)
            recap.fallback_reason = str(exc) or type(exc).__name__
            recap.notes.append(
                f"The language model could not be used ({exc}); "
                "this recap was made by the offline engine."
            )
            return cap_recap(recap)

    def recap_transcript(
        self, transcript: Transcript, *, recorded_at: datetime | None = None
    ) -> Recap:
        if not transcript.text.strip():
            raise InputError("the recording holds no speech to summarise.")
        return self.recap(transcript_to_conversation(transcript, recorded_at=recorded_at))
