"""The HTTP API: the pipeline for other tools, under `/v1`.

    POST /v1/transcriptions   multipart upload (`file`, optional `recap`) -> 202 {id}
    POST /v1/recaps           a conversation or a transcript (JSON) -> 200 the recap
    GET  /v1/jobs/{id}        status, progress and, once done, the result
    GET  /v1/openapi.json     the OpenAPI 3.1 description of all this

Every error under `/v1` is JSON `{"error", "message"}`: unknown paths too (404), methods a
path does not take (405, with `Allow`), and a crash (500).

Authentication: `Authorization: Bearer <token>`, the token being API_TOKEN or the access
token that `balafon serve` prints (bot/access.py); where a request comes from counts for
nothing, and browsers' cross-site requests are refused before they get here. Bodies are
bounded (uploads by MAX_MEDIA_MB, JSON by `max_json_bytes`) and every refusal is a 4xx
with a JSON body that says what to fix.

The helpers for bounded bodies are public: the playground uses them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.json_schema import models_json_schema
from sqlmodel import Session, select
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from bot.access import bearer, matches
from bot.errors import PermanentJobError
from bot.job_kinds import JobKind, JobPayload
from bot.jobs import TRANSCRIBE_QUEUE, JobContext
from bot.services import Services
from bot.storage.models import Job
from summarizer.audio import probe
from summarizer.errors import (
    InputError,
    MediaError,
    MediaTooLargeError,
    UnsupportedMediaError,
    explain,
)
from summarizer.pipeline import transcript_to_conversation
from summarizer.types import Conversation, Message, Recap, Segment, Transcript

log = logging.getLogger(__name__)

PREFIX = "/v1"
JOB_KIND = "api_transcription"
MAX_JSON_BYTES = 5 * 2**20
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and small fields around the file
_KEY_PREFIX = "api:transcription:"
_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


# --- addresses and bounded bodies (shared with the playground) ----------------------------


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (an address or name to bind or to be called by)."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BodyTooLargeError(Exception):
    """The request body is over the limit; answer 413."""


def declared_too_large(request: Request, limit: int) -> bool:
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > limit


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLargeError as soon as it passes `limit` bytes."""
    if declared_too_large(request, limit):
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit: int, *, max_fields: int = 10) -> FormData:
    """A multipart or urlencoded form of at most one file, reading no more than `limit`
    bytes. Raises BodyTooLargeError, or ValueError for a body that is not such a form."""
    if declared_too_large(request, limit):
        raise BodyTooLargeError
    received = 0
    upstream = request.receive

    async def receive() -> Any:
        nonlocal received
        message = await upstream()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLargeError
        return message

    bounded = Request(request.scope, receive)
    try:
        return await bounded.form(max_files=1, max_fields=max_fields)
    except (HTTPException, MultiPartException, ClientDisconnect) as exc:
        raise ValueError(getattr(exc, "detail", None) or str(exc) or "unreadable form") from exc


def safe_filename(name: str | None, default: str = "upload") -> str:
    """A file name fit for our disk and for display: no folders, no odd characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return base or default


async def save_upload(upload: UploadFile, dest: Path) -> int:
    """Copy an uploaded file to `dest` (off the event loop); returns its size in bytes."""

    def copy() -> int:
        dest.parent.mkdir(parents=True, exist_ok=True)
        upload.file.seek(0)
        with dest.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        return dest.stat().st_size

    return await asyncio.to_thread(copy)


def problem(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def megabytes(size: int) -> str:
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB"


# --- request and response bodies -------------------------------------------------------


class MessageIn(BaseModel):
    """One chat message; `user`/`ts` are accepted too (the CLI's JSON format)."""

    model_config = ConfigDict(strict=True)

    author: str = Field(
        min_length=1, max_length=200, validation_alias=AliasChoices("author", "user")
    )
    text: str = Field(min_length=1, max_length=40_000, pattern=r"\S")
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
    text: str = Field(min_length=1, max_length=40_000, pattern=r"\S")
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


class JobStatus(BaseModel):
    id: str
    kind: Literal["transcription"] = "transcription"
    status: Literal["queued", "running", "done", "failed"]
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


# --- the OpenAPI document ---------------------------------------------------------------


def _problems(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "The body is not valid JSON or not a form.",
        401: "The request carries neither API_TOKEN nor the access token as a Bearer token.",
        403: "A browser sent it from another web site: cross-site requests are refused.",
        404: "No such job.",
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
                "description": "also recap it (due dates count from the time of the upload)",
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
        },
        "components": {
            "schemas": top["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


# --- the API ----------------------------------------------------------------------------


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"where": ".".join(str(p) for p in error["loc"]) or "body", "problem": error["msg"]}
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class _PathEndpoint:
    """One path's endpoint: its methods (HEAD with GET), 405 for others, 404 when it has
    none; a crash is a JSON 500 (the log has the traceback). An ASGI app, not a function,
    so that Starlette routes every method to it."""

    def __init__(self, methods: dict[str, Callable[[Request], Any]]) -> None:
        if "GET" in methods:
            methods = {**methods, "HEAD": methods["GET"]}
        self.methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.answer(Request(scope, receive))
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        if not self.methods:
            return problem(
                404,
                "not_found",
                f"There is nothing at {request.url.path}: the API is described at "
                f"{PREFIX}/openapi.json.",
            )
        handler = self.methods.get(request.method)
        if handler is None:
            allowed = ", ".join(sorted(self.methods))
            return problem(
                405,
                "method_not_allowed",
                f"{request.url.path} takes {allowed}, not {request.method}.",
                headers={"Allow": allowed},
            )
        try:
            return await handler(request)
        except ClientDisconnect:  # gone, or cut off at the body limit (bot/body_limit.py)
            raise
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return problem(
                500, "internal", "Something went wrong on the server; its log says what."
            )


async def _nobody_to_tell(job: Job, payload: JobPayload, reason: str, user_facing: bool) -> None:
    """An API job's failure is its status (GET /v1/jobs/{id}), not a message."""


class HttpApi:
    """`/v1` on the core: its summarizer for recaps, its queue and model for transcription."""

    def __init__(
        self,
        *,
        core: Services,
        upload_dir: Path,
        token: str | None = None,
        access_token: str | None = None,
        max_upload_bytes: int | None = None,
        max_upload_seconds: float | None = None,
        max_json_bytes: int = MAX_JSON_BYTES,
        result_hours: float = 24.0,
    ) -> None:
        self.core = core
        self.upload_dir = Path(upload_dir)
        # Bearer tokens accepted: API_TOKEN for other tools, and the access token (the one
        # `balafon serve` prints). Neither: every call is refused.
        self.tokens = tuple(t for t in (token, access_token) if t)
        self.result_hours = result_hours  # API_RESULT_HOURS
        self.max_upload_bytes = max_upload_bytes or core.max_media_bytes
        self.max_upload_seconds = max_upload_seconds  # MAX_MEDIA_MINUTES, checked at upload
        self.max_json_bytes = max_json_bytes
        self._openapi = openapi_document()
        core.jobs.add(
            JobKind(
                JOB_KIND,
                JobPayload,  # path, name, recap, received_at: read by run_transcription
                lambda job, _, context: self.run_transcription(job, context),
                queue=TRANSCRIBE_QUEUE,
                on_failure=_nobody_to_tell,  # the client polls GET /v1/jobs/{id}
            )
        )
        core.sweepers.append(self.expire_results)  # with the hourly retention sweep

    # --- Mountable ---------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        # Each path takes every method and answers the wrong ones itself, and the rest of
        # /v1 is a JSON 404: Starlette's own 404/405 would be text/plain.
        paths: dict[str, dict[str, Callable[[Request], Any]]] = {
            f"{PREFIX}/openapi.json": {"GET": self.openapi},
            f"{PREFIX}/transcriptions": {"POST": self._guarded(self.transcriptions)},
            f"{PREFIX}/recaps": {"POST": self._guarded(self.recaps)},
            f"{PREFIX}/jobs/{{job_id}}": {"GET": self._guarded(self.job)},
        }
        return [
            *(Route(path, _PathEndpoint(methods)) for path, methods in paths.items()),
            Route(PREFIX, _PathEndpoint({})),
            Route(f"{PREFIX}/{{rest:path}}", _PathEndpoint({})),
        ]

    def body_limits(self) -> dict[str, int]:
        """Read no more than this of a body (bot/body_limit.py), whatever the handler does."""
        return {
            f"{PREFIX}/transcriptions": self.max_upload_bytes + FORM_OVERHEAD,
            PREFIX: self.max_json_bytes,
        }

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # --- access ------------------------------------------------------------------------

    def refusal(self, request: Request) -> Response | None:
        given = bearer(request.headers)
        if any(matches(given, token) for token in self.tokens):
            return None
        return problem(
            401,
            "unauthorized",
            "Send a token: `Authorization: Bearer <API_TOKEN>`, or the access token "
            "that `balafon serve` printed at start.",
            headers={"WWW-Authenticate": 'Bearer realm="balafon"'},
        )

    def _guarded(self, endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def guarded(request: Request) -> Response:
            if (refused := self.refusal(request)) is not None:
                return refused
            return await endpoint(request)

        guarded.__name__ = endpoint.__name__
        return guarded

    # --- endpoints ---------------------------------------------------------------------

    async def openapi(self, _: Request) -> JSONResponse:
        return JSONResponse(self._openapi)

    async def recaps(self, request: Request) -> Response:
        if _media_type(request) != "application/json":
            return problem(
                415, "unsupported_media_type", "Send JSON (Content-Type: application/json)."
            )
        try:
            body = await read_body(request, self.max_json_bytes)
        except BodyTooLargeError:
            limit = megabytes(self.max_json_bytes)
            return problem(413, "too_large", f"The body is over the {limit} limit.")
        try:
            data = json.loads(body)
        except RecursionError:  # nested past the parser's depth: not a conversation
            return problem(400, "malformed", "The body is not valid JSON: it nests too deeply.")
        except (ValueError, UnicodeDecodeError) as exc:
            return problem(400, "malformed", f"The body is not valid JSON: {exc}.")
        if not isinstance(data, dict) or ("messages" in data) == ("transcript" in data):
            return problem(
                422,
                "invalid",
                "Send an object with either `messages` (a conversation) or `transcript`.",
            )
        try:
            now = self.core.clock()  # what messages without a time are dated at
            if "messages" in data:
                parsed = ConversationRecapRequest.model_validate_json(body)
                conversation = self._conversation(parsed, parsed.reference_time or now)
            else:
                spoken = TranscriptRecapRequest.model_validate_json(body)
                conversation = transcript_to_conversation(
                    self._transcript(spoken.transcript), recorded_at=spoken.recorded_at or now
                )
            recap = await self.core.summarize(conversation)  # counts LLM tokens/fallbacks
        except ValidationError as exc:
            return problem(
                422,
                "invalid",
                "The body does not match the schema.",
                details=_validation_details(exc),
            )
        except InputError as exc:
            return problem(422, "invalid", str(exc))
        return JSONResponse(recap.model_dump(mode="json"))

    @staticmethod
    def _conversation(request: ConversationRecapRequest, undated: datetime) -> Conversation:
        """`undated`: the time of the messages that carry none."""
        return Conversation(
            title=request.title,
            messages=[
                Message(
                    author=m.author,
                    text=m.text,
                    at=m.sent_at or undated,
                    ref=m.id or f"message {i + 1}",
                )
                for i, m in enumerate(request.messages)
            ],
        )

    @staticmethod
    def _transcript(data: TranscriptIn) -> Transcript:
        segments = [
            Segment(start=s.start, end=max(s.start, s.end), text=s.text, speaker=s.speaker)
            for s in data.segments
        ]
        return Transcript(
            segments=segments,
            language=data.language,
            duration=max((s.end for s in segments), default=0.0),
        )

    async def transcriptions(self, request: Request) -> Response:
        if _media_type(request) != "multipart/form-data":
            return problem(
                415,
                "unsupported_media_type",
                "Upload the recording as multipart/form-data with a `file` field "
                "(curl -F file=@meeting.m4a).",
            )
        limit = self.max_upload_bytes
        try:
            form = await read_form(request, limit + FORM_OVERHEAD)
        except BodyTooLargeError:
            return problem(413, "too_large", f"The upload is over the {megabytes(limit)} limit.")
        except ValueError as exc:
            reason = str(exc).rstrip(".")
            return problem(400, "malformed", f"The body is not a readable form: {reason}.")
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return problem(422, "invalid", "Add the recording as the form field `file`.")
            if unknown := sorted(set(form.keys()) - {"file", "recap"}):
                names = ", ".join(f"`{name}`" for name in unknown)[:200]
                return problem(
                    422, "invalid", f"Unknown form fields {names}: send `file` and `recap`."
                )
            wants_recap = str(form.get("recap") or "false").strip().lower()
            if wants_recap not in {"true", "false"}:
                return problem(422, "invalid", "`recap` must be true or false.")
            public_id = uuid.uuid4().hex
            name = safe_filename(upload.filename, "recording")
            dest = self.upload_dir / public_id / name
            size = await save_upload(upload, dest)
        finally:
            await form.close()
        if size > limit:
            shutil.rmtree(dest.parent, ignore_errors=True)
            return problem(413, "too_large", f"The upload is over the {megabytes(limit)} limit.")
        if (refused := await self._unusable(dest)) is not None:
            shutil.rmtree(dest.parent, ignore_errors=True)
            return refused
        payload = {
            "path": str(dest),
            "name": name,
            "recap": wants_recap == "true",
            # What the recap dates the recording at ("by Friday"): the time of the upload.
            "received_at": self.core.clock().isoformat(),
        }
        await asyncio.to_thread(
            self.core.queue.enqueue, JOB_KIND, payload, key=_KEY_PREFIX + public_id
        )
        url = f"{PREFIX}/jobs/{public_id}"
        body = Accepted(id=public_id, url=url).model_dump(mode="json")
        return JSONResponse(body, status_code=202, headers={"Location": url})

    async def _unusable(self, path: Path) -> Response | None:
        """The job's own first check (summarizer.audio.probe: sniffing, FFmpeg's allow-list
        of demuxers, a second of decoding), made at once: a file that is not a recording,
        or an empty or damaged one, is refused with the message its job would give."""
        try:
            await asyncio.to_thread(
                probe, path, max_bytes=self.max_upload_bytes, max_seconds=self.max_upload_seconds
            )
        except UnsupportedMediaError as exc:
            return problem(415, "unsupported_media_type", explain(exc))
        except MediaTooLargeError as exc:
            return problem(413, "too_large", explain(exc))
        except (MediaError, InputError) as exc:  # empty, no sound track, damaged
            return problem(422, "unreadable_media", explain(exc))
        return None

    async def job(self, request: Request) -> Response:
        public_id = request.path_params["job_id"]
        job = None
        if _PUBLIC_ID.fullmatch(public_id):
            job = await asyncio.to_thread(self._find_job, _KEY_PREFIX + public_id)
        if job is None:
            return problem(404, "not_found", f"There is no job {public_id!r}.")
        if job.payload.get("expired"):
            return problem(
                410,
                "expired",
                f"This job's result was deleted {self.result_hours:g} hours after it finished "
                "(API_RESULT_HOURS); upload the recording again.",
            )
        status = JobStatus(
            id=public_id,
            status=job.status,  # type: ignore[arg-type]
            progress=job.progress,
            attempts=job.attempts,
            error=job.error if job.status == "failed" else None,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
            result=self._result(job.result),
        )
        return JSONResponse(status.model_dump(mode="json"))

    @staticmethod
    def _result(stored: dict[str, Any] | None) -> TranscriptionResult | None:
        if not stored:
            return None
        result = TranscriptionResult.model_validate(stored)
        if result.transcript.source:  # the file's name, never where the server kept it
            result.transcript.source = Path(result.transcript.source).name
        return result

    def _find_job(self, key: str) -> Job | None:
        with Session(self.core.queue.engine) as session:
            return session.exec(select(Job).where(Job.idempotency_key == key)).first()

    # --- expiry ------------------------------------------------------------------------

    def expire_results(self, now: datetime) -> dict[str, int]:
        """API_RESULT_HOURS after a transcription ends, its transcript, recap and file name
        are deleted (the job answers 410), and so is any upload still on disk; an upload
        folder that no unfinished job needs goes too (a crash between saving and queueing)."""
        before = now - timedelta(hours=self.result_hours)
        expired = self.core.repo.expire_results(JOB_KIND, before)
        for payload in expired:
            if isinstance(payload.get("path"), str):
                self._remove_upload(Path(payload["path"]).parent)
        if self.upload_dir.is_dir():
            for folder in self.upload_dir.iterdir():
                if not _PUBLIC_ID.fullmatch(folder.name) or not folder.is_dir():
                    continue
                if folder.stat().st_mtime >= before.timestamp():
                    continue
                job = self._find_job(_KEY_PREFIX + folder.name)
                if job is None or job.status in ("done", "failed"):
                    self._remove_upload(folder)
        return {"api_results": len(expired)}

    def _remove_upload(self, folder: Path) -> None:
        """Delete an upload folder: only `upload_dir/<public id>`, whatever a payload says."""
        inside = folder.parent.resolve() == self.upload_dir.resolve()
        if inside and _PUBLIC_ID.fullmatch(folder.name):
            shutil.rmtree(folder, ignore_errors=True)

    # --- the job -----------------------------------------------------------------------

    async def run_transcription(self, job: Job, context: JobContext) -> dict[str, Any]:
        path = Path(job.payload["path"])
        if not path.exists():
            raise PermanentJobError("The uploaded file is gone; upload it again.")
        try:
            transcript = await self._transcribe(job, context, path)
        except MediaError as exc:
            shutil.rmtree(path.parent, ignore_errors=True)
            raise PermanentJobError(explain(exc)) from exc
        # The uploaded file's name (what recap titles show), not its path on this server.
        transcript.source = str(job.payload.get("name") or path.name)
        recap = None
        if job.payload.get("recap"):
            received = job.payload.get("received_at")
            spoken = transcript_to_conversation(
                transcript, recorded_at=datetime.fromisoformat(received) if received else None
            )
            try:
                recap = await self.core.summarize(spoken)
            except InputError:  # no speech: the transcript says it all
                recap = None
        shutil.rmtree(path.parent, ignore_errors=True)
        result = TranscriptionResult(transcript=transcript, text=transcript.text, recap=recap)
        return result.model_dump(mode="json")

    async def _transcribe(self, job: Job, context: JobContext, path: Path) -> Transcript:
        last = {"fraction": 0.0, "at": 0.0}

        def on_progress(fraction: float) -> None:  # on the transcription thread
            now = time.monotonic()
            if fraction - last["fraction"] >= 0.05 or now - last["at"] >= 2:
                last.update(fraction=fraction, at=now)
                context.progress(job, min(fraction, 0.99))

        return await self.core.media.transcribe(path, on_progress=on_progress)


__all__ = [
    "BodyTooLargeError",
    "HttpApi",
    "is_loopback_host",
    "openapi_document",
    "read_body",
    "read_form",
    "safe_filename",
    "save_upload",
]
