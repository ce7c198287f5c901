"""`/v1`: the pipeline for other tools (see bot/api/__init__.py for the endpoints).

Authentication: `Authorization: Bearer <token>`, the token being API_TOKEN or the access
token that `balafon serve` prints (bot/access.py); where a request comes from counts for
nothing, and browsers' cross-site requests are refused before they get here. Bodies are
bounded (uploads by MAX_MEDIA_MB, JSON by `max_json_bytes`) and every refusal is a 4xx
with a JSON body that says what to fix.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.access import bearer, matches
from bot.api.items import ApiItems
from bot.api.openapi import openapi_document
from bot.api.routing import PREFIX, Handler, PathEndpoint, media_type, validation_details
from bot.api.schemas import (
    Accepted,
    ConversationRecapRequest,
    JobState,
    JobStatus,
    TranscriptIn,
    TranscriptionResult,
    TranscriptRecapRequest,
)
from bot.api.transcriptions import ApiTranscriptions
from bot.http import (
    FORM_OVERHEAD,
    BodyTooLargeError,
    megabytes,
    problem,
    read_body,
    read_form,
    safe_filename,
    save_upload,
)
from bot.services import Services
from summarizer.audio import probe
from summarizer.errors import (
    InputError,
    MediaError,
    MediaTooLargeError,
    UnsupportedMediaError,
    explain,
)
from summarizer.languages import AUTO, normalize_language
from summarizer.pipeline import transcript_to_conversation
from summarizer.types import Conversation, Message, Segment, Transcript

MAX_JSON_BYTES = 5 * 2**20
FORM_FIELDS = {"file", "recap", "recorded_at", "language"}  # of POST /v1/transcriptions


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
        self.api_token = token
        self.result_hours = result_hours  # API_RESULT_HOURS
        self.transcriptions_job = ApiTranscriptions(
            core=core, upload_dir=self.upload_dir, result_hours=result_hours
        )
        self.run_transcription = self.transcriptions_job.run  # the job kind's handler
        self.max_upload_bytes = max_upload_bytes or core.max_media_bytes
        self.max_upload_seconds = max_upload_seconds  # MAX_MEDIA_MINUTES, checked at upload
        self.max_json_bytes = max_json_bytes
        self._openapi = openapi_document()
        self.items = ApiItems(core)

    # --- Mountable ---------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        # Each path takes every method and answers the wrong ones itself, and the rest of
        # /v1 is a JSON 404: Starlette's own 404/405 would be text/plain.
        paths: dict[str, dict[str, Handler]] = {
            f"{PREFIX}/openapi.json": {"GET": self.openapi},
            f"{PREFIX}/transcriptions": {"POST": self._guarded(self.transcriptions)},
            f"{PREFIX}/recaps": {"POST": self._guarded(self.recaps)},
            f"{PREFIX}/jobs/{{job_id}}": {"GET": self._guarded(self.job)},
            f"{PREFIX}/action-items": {"GET": self._guarded(self.items.listing)},
            f"{PREFIX}/action-items/{{item_id}}": {"PATCH": self._guarded(self.patch_item)},
        }
        return [
            *(Route(path, PathEndpoint(methods)) for path, methods in paths.items()),
            Route(PREFIX, PathEndpoint({})),
            Route(f"{PREFIX}/{{rest:path}}", PathEndpoint({})),
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

    def actor(self, request: Request) -> str:
        """Who an item's history names for a change made through the API: the token."""
        given = bearer(request.headers)
        return "api" if self.api_token and matches(given, self.api_token) else "api:access"

    def _guarded(self, endpoint: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if (refused := self.refusal(request)) is not None:
                return refused
            return await endpoint(request)

        guarded.__name__ = endpoint.__name__
        return guarded

    # --- endpoints ---------------------------------------------------------------------

    async def patch_item(self, request: Request) -> Response:
        return await self.items.patch(request, self.actor(request))

    async def openapi(self, _: Request) -> JSONResponse:
        return JSONResponse(self._openapi)

    async def recaps(self, request: Request) -> Response:
        if media_type(request) != "application/json":
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
                details=validation_details(exc),
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
        if media_type(request) != "multipart/form-data":
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
            if unknown := sorted(set(form.keys()) - FORM_FIELDS):
                names = ", ".join(f"`{name}`" for name in unknown)[:200]
                return problem(
                    422,
                    "invalid",
                    f"Unknown form fields {names}: send `file`, `recap`, `recorded_at` "
                    "and `language`.",
                )
            wants_recap = str(form.get("recap") or "false").strip().lower()
            if wants_recap not in {"true", "false"}:
                return problem(422, "invalid", "`recap` must be true or false.")
            try:
                recorded_at = _form_time(form.get("recorded_at"))
            except ValueError:
                return problem(
                    422, "invalid", "`recorded_at` must be a time in ISO 8601 (2026-12-07T09:30Z)."
                )
            try:
                language = _form_language(form.get("language"))
            except ValueError as exc:
                return problem(422, "invalid", f"`language`: {exc}")
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
        await self.transcriptions_job.enqueue(
            public_id,
            dest,
            name,
            recap=wants_recap == "true",
            recorded_at=recorded_at,
            language=language,
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
        job = await asyncio.to_thread(self.transcriptions_job.find, public_id)
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
            status=cast(JobState, job.status),
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


def _form_time(value: object) -> datetime | None:
    """An ISO 8601 form field as an aware time (UTC when it has no offset); None when
    absent. Raises ValueError for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError("not text")
    stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _form_language(value: object) -> str | None:
    """The `language` form field as WHISPER_LANGUAGE reads it: a Whisper code, "auto"
    (detect, whatever the server's WHISPER_LANGUAGE says) or None when absent (the
    server's setting). Raises ValueError, saying what is accepted, for anything else."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("send text, such as fr or auto.")
    if not value.strip():
        return None
    if len(value) > 40:  # no language name is this long; do not echo it back
        raise ValueError("use a code such as en, fr, de, es (ISO 639-1) or auto.")
    return normalize_language(value) or AUTO
