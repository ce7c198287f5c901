"""The API's transcription job, in one place: queueing an upload, running it (transcribe,
then recap when asked), finding it again for a poll, and deleting results and uploads
API_RESULT_HOURS after they finish."""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.api.schemas import TranscriptionResult
from bot.errors import PermanentJobError
from bot.features.media import ProgressThrottle
from bot.job_kinds import JobKind, JobPayload
from bot.jobs import TRANSCRIBE_QUEUE, JobContext
from bot.recordings import recording_start
from bot.services import Services
from bot.storage.models import Job
from summarizer.audio import creation_time
from summarizer.errors import InputError, MediaError, UnsupportedLanguageError, explain
from summarizer.pipeline import transcript_to_conversation
from summarizer.spoken_language import unsupported
from summarizer.types import Transcript

JOB_KIND = "api_transcription"
KEY_PREFIX = "api:transcription:"
# The rest of the way to another language, once the model reads it: the upload's field.
API_FIX = "; then send `language={code}` (or `auto`) with the upload"
PUBLIC_ID = re.compile(r"[0-9a-f]{32}")  # a job's id in URLs, and its upload folder's name


class TranscriptionPayload(JobPayload):
    """An upload to transcribe (and recap when asked)."""

    path: str  # the upload on this server's disk, in a folder of its own
    name: str = ""  # the file name the client gave, shown instead of the path
    recap: bool = False
    received_at: str | None = None  # ISO time of the upload: the recording's end
    recorded_at: str | None = None  # ISO time the client says the recording started
    language: str | None = None  # a Whisper code or "auto"; None: WHISPER_LANGUAGE


async def _nobody_to_tell(
    job: Job, payload: TranscriptionPayload, reason: str, user_facing: bool
) -> None:
    """An API job's failure is its status (GET /v1/jobs/{id}), not a message."""


class ApiTranscriptions:
    """Registers the job kind with the core, and its expiry with the retention sweep."""

    def __init__(self, *, core: Services, upload_dir: Path, result_hours: float) -> None:
        self.core = core
        self.upload_dir = upload_dir
        self.result_hours = result_hours  # API_RESULT_HOURS
        core.jobs.add(
            JobKind(
                JOB_KIND,
                TranscriptionPayload,
                self.run,
                queue=TRANSCRIBE_QUEUE,
                on_failure=_nobody_to_tell,  # the client polls GET /v1/jobs/{id}
            )
        )
        core.sweepers.append(self.expire_results)  # with the hourly retention sweep

    # --- queueing and polling ----------------------------------------------------------

    async def enqueue(
        self,
        public_id: str,
        path: Path,
        name: str,
        *,
        recap: bool,
        recorded_at: datetime | None = None,
        language: str | None = None,
    ) -> None:
        payload = TranscriptionPayload(
            path=str(path),
            name=name,
            recap=recap,
            # What dates the recording ("by Friday"): its stated start, else (in the job) the
            # file's creation_time tag, else the upload time less its length.
            received_at=self.core.clock().isoformat(),
            recorded_at=recorded_at.isoformat() if recorded_at else None,
            language=language,
        )
        await asyncio.to_thread(
            self.core.queue.enqueue, JOB_KIND, payload.stored(), key=KEY_PREFIX + public_id
        )

    def find(self, public_id: str) -> Job | None:
        """The job of a public id (None for one that is not ours or malformed)."""
        if not PUBLIC_ID.fullmatch(public_id):
            return None
        return self.core.repo.job_by_key(KEY_PREFIX + public_id)

    # --- the job -----------------------------------------------------------------------

    async def run(
        self, job: Job, payload: TranscriptionPayload, context: JobContext
    ) -> dict[str, Any]:
        path = Path(payload.path)
        if not path.exists():
            raise PermanentJobError("The uploaded file is gone; upload it again.")
        try:
            transcript = await self._transcribe(job, context, path, payload.language)
        except UnsupportedLanguageError as exc:  # how to switch, said for the API
            shutil.rmtree(path.parent, ignore_errors=True)
            error = unsupported(
                exc.language, source=exc.source, configured=exc.configured, fix=API_FIX
            )
            raise PermanentJobError(explain(error)) from exc
        except MediaError as exc:
            shutil.rmtree(path.parent, ignore_errors=True)
            raise PermanentJobError(explain(exc)) from exc
        # The uploaded file's name (what recap titles show), not its path on this server.
        transcript.source = payload.name or path.name
        recap = None
        if payload.recap:
            received, given = payload.received_at, payload.recorded_at
            started = recording_start(
                shared=datetime.fromisoformat(received) if received else None,
                duration=transcript.duration,
                tagged=await asyncio.to_thread(creation_time, path),
                given=datetime.fromisoformat(given) if given else None,
            )
            spoken = transcript_to_conversation(transcript, recorded_at=started)
            try:
                recap = await self.core.summarize(spoken)
            except InputError:  # no speech: the transcript says it all
                recap = None
        shutil.rmtree(path.parent, ignore_errors=True)
        result = TranscriptionResult(transcript=transcript, text=transcript.text, recap=recap)
        return result.model_dump(mode="json")

    async def _transcribe(
        self, job: Job, context: JobContext, path: Path, language: str | None
    ) -> Transcript:
        throttle = ProgressThrottle(step=0.05, seconds=2.0)  # a poll sees it move

        def on_progress(fraction: float) -> None:  # on the transcription thread
            if throttle.due(fraction):
                context.progress(job, min(fraction, 0.99))

        return await self.core.media.transcribe(path, on_progress=on_progress, language=language)

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
                if not PUBLIC_ID.fullmatch(folder.name) or not folder.is_dir():
                    continue
                if folder.stat().st_mtime >= before.timestamp():
                    continue
                job = self.find(folder.name)
                if job is None or job.status in ("done", "failed"):
                    self._remove_upload(folder)
        return {"api_results": len(expired)}

    def _remove_upload(self, folder: Path) -> None:
        """Delete an upload folder: only `upload_dir/<public id>`, whatever a payload says."""
        inside = folder.parent.resolve() == self.upload_dir.resolve()
        if inside and PUBLIC_ID.fullmatch(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
