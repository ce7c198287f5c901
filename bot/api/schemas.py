"""The API's request and response bodies (pydantic): what `/v1` accepts and answers, and
what its OpenAPI document describes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from summarizer.types import Recap, Transcript

# Some text that is not white space. Not `\S`: JSON Schema (ECMA-262), pydantic (Rust) and
# Python disagree on what \s holds (U+0085, U+FEFF, U+001C-U+001F), and a text the
# published schema allows must not be refused. This class excludes all of them everywhere.
NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"


class MessageIn(BaseModel):
    """One chat message; `user`/`ts` are accepted too (the CLI's JSON format)."""

    model_config = ConfigDict(strict=True)

    author: str = Field(
        min_length=1, max_length=200, validation_alias=AliasChoices("author", "user")
    )
    text: str = Field(min_length=1, max_length=40_000, pattern=NOT_BLANK)
    at: datetime | float | None = Field(
        default=None,
        validation_alias=AliasChoices("at", "ts"),
        description="ISO 8601 (UTC when no offset is given) or Unix seconds; without it "
        "the message is dated at `reference_time`, else at the time of the request",
    )
    id: str | None = Field(default=None, max_length=200, description="cited by the recap")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | float | None) -> datetime | float | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def sent_at(self) -> datetime | None:
        if isinstance(self.at, int | float):
            try:
                return datetime.fromtimestamp(self.at, tz=UTC)
            except (OverflowError, OSError, ValueError):
                return None
        return self.at


class ConversationRecapRequest(BaseModel):
    """Recap a conversation: messages in order."""

    model_config = ConfigDict(extra="forbid", strict=True)

    messages: list[MessageIn] = Field(min_length=1, max_length=20_000)
    title: str | None = Field(default=None, max_length=200)
    reference_time: datetime | None = Field(
        default=None,
        description="when the messages without `at` were written (ISO 8601, UTC when no "
        'offset is given): "by Friday" is the Friday after it. Default: the time of the '
        "request.",
    )

    @field_validator("reference_time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


class SegmentIn(BaseModel):
    model_config = ConfigDict(strict=True)

    start: float = Field(ge=0, le=1e7, description="seconds from the start")
    end: float = Field(ge=0, le=1e7)
    text: str = Field(min_length=1, max_length=40_000, pattern=NOT_BLANK)
    speaker: str | None = Field(default=None, max_length=200)


class TranscriptIn(BaseModel):
    """A transcript as `POST /v1/transcriptions` returns it (words may be left out)."""

    model_config = ConfigDict(strict=True)

    segments: list[SegmentIn] = Field(min_length=1, max_length=100_000)
    language: str | None = Field(default=None, max_length=16)


class TranscriptRecapRequest(BaseModel):
    """Recap a transcript; `recorded_at` turns "by Friday" into a date."""

    model_config = ConfigDict(extra="forbid", strict=True)

    transcript: TranscriptIn
    recorded_at: datetime | None = Field(
        default=None,
        description="when the recording started (ISO 8601, UTC when no offset is given). "
        "Default: the time of the request.",
    )

    @field_validator("recorded_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


class TranscriptionResult(BaseModel):
    transcript: Transcript
    text: str
    recap: Recap | None = None


JobState = Literal["queued", "running", "done", "failed"]


class JobStatus(BaseModel):
    id: str
    kind: Literal["transcription"] = "transcription"
    status: JobState
    progress: float | None = Field(default=None, ge=0, le=1)
    attempts: int
    error: str | None = Field(default=None, description="why it failed, for people")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    result: TranscriptionResult | None = None


class Accepted(BaseModel):
    id: str
    status: Literal["queued"] = "queued"
    url: str = Field(description="poll it: GET this URL")


class Problem(BaseModel):
    error: str = Field(description="a stable code: unauthorized, too_large, invalid, …")
    message: str = Field(description="what went wrong and how to fix it")
    details: list[dict[str, Any]] | None = None


# --- action items (issue #16) -------------------------------------------------------------

ItemStatus = Literal["open", "done", "dismissed"]


class ActionItemOut(BaseModel):
    """A stored action item: its state now (`version` changes with every change)."""

    id: int
    status: ItemStatus
    task: str
    owner_id: str | None = None
    owner_name: str | None = None
    due: date | None = None
    source_ref: str | None = Field(default=None, description="the message (or moment) cited")
    confidence: float
    platform: str | None = None
    workspace: str | None = Field(default=None, description="the platform's workspace id")
    channel: str | None = Field(default=None, description="the platform's channel id")
    thread: str | None = None
    requested_by: str | None = Field(default=None, description="who asked for the recap")
    created_at: datetime = Field(description="when a recap first reported it")
    updated_at: datetime
    version: str
    tracker: str | None = None
    tracker_ref: str | None = None
    tracker_url: str | None = None
    export_state: str | None = None


class ActionItemList(BaseModel):
    items: list[ActionItemOut]
    next_after: int | None = Field(
        default=None, description="more match: ask again with `after` set to this"
    )


class ActionItemPatch(BaseModel):
    """What to change (at least one field); the item's history records the change."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"minProperties": 1})

    # Absent: unchanged (null is not a value: an item always has a status).
    status: ItemStatus = None  # type: ignore[assignment]
    owner_id: str = Field(default=None, min_length=1, max_length=64, pattern=NOT_BLANK)  # type: ignore[assignment]
    owner_name: str = Field(default=None, min_length=1, max_length=200, pattern=NOT_BLANK)  # type: ignore[assignment]
