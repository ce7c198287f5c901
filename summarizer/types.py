"""Public data types of the pipeline: what goes in and what comes out.

Everything here is plain data (pydantic models) so that callers can store it, send it
over HTTP or render it for a chat platform without knowing how it was made.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Message(BaseModel):
    """One utterance of a conversation: a chat message or a transcript segment."""

    author: str  # "" when unknown (a transcript without speaker labels)
    text: str
    at: datetime | None = None
    # Stable platform id of the author (a Slack user id, a Teams AAD id), when known.
    author_id: str | None = None
    # Where it came from: a permalink, a platform message id or a transcript timestamp.
    ref: str | None = None


class Conversation(BaseModel):
    """An ordered list of messages, optionally with a title (channel, file name)."""

    messages: list[Message]
    title: str | None = None
    # What a reader of its recap should know (only part of a recording could be read).
    notes: list[str] = Field(default_factory=list)
    # Speaker labels ("Speaker 2") nobody named: quoted as they are, owners of nothing.
    unnamed: list[str] = Field(default_factory=list)
    # The language it is in ("fr"), when known: a transcript's, as Whisper heard it.
    language: str | None = None

    @property
    def participants(self) -> list[str]:
        seen: dict[str, None] = {}
        for message in self.messages:
            if message.author:
                seen.setdefault(message.author, None)
        return list(seen)

    @property
    def participant_ids(self) -> dict[str, str]:
        """Display name -> platform id, for the authors whose id is known."""
        return {m.author: m.author_id for m in self.messages if m.author_id}

    @property
    def started_at(self) -> datetime | None:
        return next((m.at for m in self.messages if m.at is not None), None)


class Word(BaseModel):
    start: float
    end: float
    word: str
    probability: float = 0.0


class Segment(BaseModel):
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: list[Word] = Field(default_factory=list)


class Transcript(BaseModel):
    segments: list[Segment]
    language: str | None = None
    duration: float = 0.0
    source: str | None = None
    # What a reader should know: "Only the first 1:02 of 3:00 could be read; …".
    notes: list[str] = Field(default_factory=list)
    # Speaker label -> voice embedding (diarization's centroid). Never serialised: a voice
    # is kept only where a workspace opted in to voice profiles.
    voices: dict[str, list[float]] = Field(default_factory=dict, exclude=True)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


class ActionItem(BaseModel):
    task: str
    owner: str | None = None
    owner_id: str | None = None
    due: date | None = None
    ref: str | None = None
    confidence: float = 0.5


class Decision(BaseModel):
    text: str
    ref: str | None = None


class OpenQuestion(BaseModel):
    text: str
    asked_by: str | None = None
    ref: str | None = None


class Recap(BaseModel):
    summary: str
    key_points: list[str] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)
    participants: list[str] = Field(default_factory=list)
    # Which engine made it ("offline" or the LLM's model name) and anything the reader
    # should know about how it was made (for example an LLM fallback).
    engine: str = "offline"
    notes: list[str] = Field(default_factory=list)
    # Why the offline engine made it although an LLM is configured (the model failed,
    # timed out, gave invalid output...); None when the configured engine made it.
    fallback_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
