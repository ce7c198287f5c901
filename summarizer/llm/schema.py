"""The schema the LLM answers in: private to the LLM engine, not the public `Recap`.

Items cite the number of the message they come from, owners and due dates come as
written; `summarizer.llm.mapping` maps them onto the public types. `RECAP_JSON_SCHEMA` is the
strict-mode JSON schema sent for structured output.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

MAX_KEY_POINTS = 7


def _as_message_number(value: Any) -> int | None:
    """Read a citation the way models write it: 12, "12", "[12]", "#12", 12.0."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        found = re.search(r"\d+", value)
        return int(found.group()) if found else None
    return None


def _as_confidence(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().rstrip("%")
        try:
            number = float(text)
        except ValueError:
            return None
        return number / 100 if value.strip().endswith("%") else number
    if isinstance(value, int | float):
        return float(value)
    return None


class _ModelOutput(BaseModel):
    # Lenient on extras (servers without strict decoding add fields); strict on what matters.
    model_config = ConfigDict(extra="ignore")


# Models write citations as 12, "12", "[12]" or "#12": all read as message 12.
Source = Annotated[
    int | None,
    BeforeValidator(_as_message_number),
    Field(description="The number n of the message [n] this comes from; null if none."),
]


class ModelActionItem(_ModelOutput):
    task: str = Field(description="What must be done, as one short sentence.")
    owner: str | None = Field(
        default=None,
        description=(
            "Who will do it, spelled as in the participant list. Null when it is not clear "
            "or the person is not a participant."
        ),
    )
    due: str | None = Field(
        default=None,
        description=(
            'The deadline as written in the conversation ("Friday", "end of month") or as '
            "YYYY-MM-DD. Null when none was given."
        ),
    )
    confidence: float | None = Field(
        default=None,
        description="From 0 to 1: how sure it is that someone committed to this task.",
    )
    source: Source = None

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> float | None:
        return _as_confidence(value)


class ModelDecision(_ModelOutput):
    text: str = Field(description="What was decided, as one short sentence.")
    source: Source = None


class ModelOpenQuestion(_ModelOutput):
    text: str = Field(description="The question that was left unanswered.")
    asked_by: str | None = Field(
        default=None, description="Who asked it, spelled as in the participant list."
    )
    source: Source = None


class ModelRecap(_ModelOutput):
    """What the model returns; `LLMEngine` validates it and maps it to a public `Recap`."""

    summary: str = Field(description="One to three sentences: what the conversation was about.")
    key_points: list[str] = Field(
        default_factory=list, description=f"At most {MAX_KEY_POINTS} short key points."
    )
    decisions: list[ModelDecision] = Field(default_factory=list)
    action_items: list[ModelActionItem] = Field(default_factory=list)
    open_questions: list[ModelOpenQuestion] = Field(default_factory=list)

    @field_validator("key_points", "decisions", "action_items", "open_questions", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


def _strict_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Make pydantic's schema acceptable to strict structured output (OpenAI `strict`).

    Strict decoding requires every property to be listed as required (optional ones are
    nullable instead) and forbids extra properties and defaults.
    """

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: visit(v) for k, v in node.items() if k != "default"}
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            return node
        if isinstance(node, list):
            return [visit(v) for v in node]
        return node

    return visit(schema)


RECAP_JSON_SCHEMA: dict[str, Any] = _strict_json_schema(
    {**ModelRecap.model_json_schema(), "title": "recap", "description": "A conversation recap."}
)
