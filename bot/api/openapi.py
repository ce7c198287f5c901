"""The OpenAPI 3.1 document of `/v1`, built from the schemas (served at /v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from bot.api.routing import PREFIX
from bot.api.schemas import (
    Accepted,
    ActionItemList,
    ActionItemOut,
    ActionItemPatch,
    ConversationRecapRequest,
    JobStatus,
    Problem,
    TranscriptRecapRequest,
)
from summarizer.types import Recap


def _problems(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "The body is not valid JSON or not a form.",
        401: "The request carries neither API_TOKEN nor the access token as a Bearer token.",
        403: "A browser sent it from another web site: cross-site requests are refused.",
        404: "No such job, or no such action item.",
        410: "The job's result was deleted API_RESULT_HOURS after it finished.",
        413: "The body is over the size limit.",
        415: "Wrong Content-Type, or an upload that is not audio or video.",
        422: "The body does not match the schema (`details` lists the problems), or an "
        "upload that is empty or damaged.",
    }
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        str(code): {"description": reasons[code], "content": {"application/json": {"schema": ref}}}
        for code in codes
    }


def _json(description: str, schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def openapi_document() -> dict[str, Any]:
    _, top = models_json_schema(
        [
            (ConversationRecapRequest, "validation"),
            (TranscriptRecapRequest, "validation"),
            (Recap, "serialization"),
            (JobStatus, "serialization"),
            (Accepted, "serialization"),
            (Problem, "serialization"),
            (ActionItemList, "serialization"),
            (ActionItemOut, "serialization"),
            (ActionItemPatch, "validation"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    recap_body = {
        "oneOf": [
            {"$ref": "#/components/schemas/ConversationRecapRequest"},
            {"$ref": "#/components/schemas/TranscriptRecapRequest"},
        ]
    }
    upload = {
        "type": "object",
        "additionalProperties": False,
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "audio or video"},
            "recap": {
                "type": "boolean",
                "default": False,
                "description": "also recap it (due dates count from when the recording "
                "started: `recorded_at`, else the file's creation_time tag, else the upload "
                "time less the recording's length)",
            },
            "recorded_at": {
                "type": "string",
                "format": "date-time",
                "description": "when the recording started (ISO 8601, UTC without an offset)",
            },
            "language": {
                "type": "string",
                "examples": ["fr", "auto"],
                "description": "the spoken language: a Whisper code (en, fr, de, …; an "
                "English name such as French works too) or `auto` to detect it; absent: the "
                "server's WHISPER_LANGUAGE. Anything else is refused with 422. A language "
                "other than English needs the server's WHISPER_MODEL=multilingual, else the "
                "job fails saying so.",
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dancing-balafon",
            "version": "1",
            "description": "Transcripts, recaps and action items. Send "
            "`Authorization: Bearer <token>`: API_TOKEN, or the access token that "
            "`balafon serve` prints (ACCESS_TOKEN when set). Messages without a time are "
            "dated at the time of the request (or `reference_time`), so that due dates "
            'like "by Friday" resolve. Every error is JSON `{"error", "message"}`, also '
            "404 for a path that is not here and 405 (with `Allow`) for a method that a "
            "path does not take.",
        },
        "security": [{"bearer": []}],
        "paths": {
            f"{PREFIX}/transcriptions": {
                "post": {
                    "operationId": "createTranscription",
                    "summary": "Upload a recording; a job transcribes it (and recaps it).",
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": upload}},
                    },
                    "responses": {
                        "202": _json("Queued; poll the job.", "Accepted"),
                        **_problems(400, 401, 403, 413, 415, 422),
                    },
                }
            },
            f"{PREFIX}/recaps": {
                "post": {
                    "operationId": "createRecap",
                    "summary": "Recap a conversation or a transcript.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": recap_body}},
                    },
                    "responses": {
                        "200": _json("The recap.", "Recap"),
                        **_problems(400, 401, 403, 413, 415, 422),
                    },
                }
            },
            f"{PREFIX}/jobs/{{id}}": {
                "get": {
                    "operationId": "getJob",
                    "summary": "A job's status, progress and result.",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _json("The job.", "JobStatus"),
                        **_problems(401, 403, 404, 410),
                    },
                }
            },
            **_item_paths(),
        },
        "components": {
            "schemas": top["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def _item_paths() -> dict[str, Any]:
    """`/v1/action-items`: stored items (issue #16), listed and changed."""
    text = {"type": "string", "minLength": 1, "maxLength": 200}
    filters = [
        _query("owner", text, "the owner's platform user id"),
        _query("channel", text, "the platform's channel id"),
        _query("workspace", text, "the platform's workspace id (Slack team, Teams tenant)"),
        _query("platform", text, "slack, teams or playground"),
        _query(
            "status",
            {"type": "string", "enum": ["open", "done", "dismissed", "any"], "default": "open"},
            "open (default), done, dismissed, or any",
        ),
        _query("due_before", {"type": "string", "format": "date"}, "due before this day"),
        _query(
            "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}, "at most"
        ),
        _query(
            "after",
            {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
            "only items with a larger id: the `next_after` of the previous page",
        ),
    ]
    item_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    }
    return {
        f"{PREFIX}/action-items": {
            "get": {
                "operationId": "listActionItems",
                "summary": "Stored action items, by id (open ones unless `status` says).",
                "parameters": filters,
                "responses": {
                    "200": _json("The items and, when more match, `next_after`.", "ActionItemList"),
                    **_problems(401, 403, 422),
                },
            }
        },
        f"{PREFIX}/action-items/{{id}}": {
            "patch": {
                "operationId": "updateActionItem",
                "summary": "Mark an item done, open or dismissed, or give it another owner; "
                "the item's history records the change, its recap posts are updated.",
                "parameters": [item_id],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ActionItemPatch"}
                        }
                    },
                },
                "responses": {
                    "200": _json("The item as it is now.", "ActionItemOut"),
                    **_problems(400, 401, 403, 404, 413, 415, 422),
                },
            }
        },
    }
