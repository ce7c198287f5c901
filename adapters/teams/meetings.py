"""Meeting recaps: when a meeting ends, find its transcript or recording through Graph and
post a recap into the meeting chat.

Teams tells the bot a meeting ended (the `meetingEnd` event, with the manifest's
`OnlineMeeting.ReadBasic.Chat` permission); the transcript and recording appear in Graph
some minutes later. So the work is a durable job of its own kind, registered with the
core's job registry when the adapter is built and run by the shared workers (in-process
or Celery): it looks once per run and, until `meeting_wait_seconds` after the end, goes back
to the queue for `meeting_poll_seconds` (`NotYet`), so waiting holds no worker. A Teams
transcript is preferred (speaker names, no speech recognition); a recording is handed to
the core as a `transcribe` job (progress, transcript and recap in the chat, like any shared
recording).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from botbuilder.core import TurnContext
from botbuilder.core.teams.teams_activity_extensions import teams_get_meeting_info

from adapters.teams import sentences as teams_sentences
from adapters.teams.activities import content_hash, conversation_of
from adapters.teams.downloads import GRAPH_REF
from adapters.teams.graph import GraphClient, GraphError, parse_time
from adapters.teams.options import TeamsOptions
from adapters.teams.platform import TeamsPlatform
from adapters.teams.vtt import parse_vtt
from bot.commands import CommandRequest
from bot.errors import NotYet, PermanentJobError, TransientJobError
from bot.features.items.service import recap_reply_items, remember_post
from bot.inbound import InboundPort
from bot.job_kinds import JobKind, JobPayload
from bot.jobs import JobContext
from bot.ports import ErrorReply, FileRef, Place, RecapReply, ReplyTarget, TextReply
from bot.storage.base import row_id
from bot.storage.models import Channel, Job, RecapRecord
from summarizer.errors import InputError
from summarizer.pipeline import transcript_to_conversation
from summarizer.types import Recap, Transcript

log = logging.getLogger(__name__)

KIND = "teams_meeting"


def _fields(details: Any) -> dict[str, Any]:
    """The meetingEnd value ({"Title", "Id", "EndTime"...}; botbuilder passes it raw) with
    lower-case keys."""
    if not isinstance(details, dict):
        details = details.serialize() if hasattr(details, "serialize") else vars(details)
    return {str(key).lower(): value for key, value in details.items()}


class MeetingPayload(JobPayload):
    place: Place
    meeting_id: str
    title: str = "the meeting"
    ended_at: datetime


class MeetingRecaps:
    def __init__(
        self,
        *,
        core: InboundPort,
        platform: TeamsPlatform,
        graph: GraphClient,
        options: TeamsOptions,
    ) -> None:
        self.core = core
        self.services = core.services
        self.platform = platform
        self.graph = graph
        self.options = options
        self.services.jobs.add(JobKind(KIND, MeetingPayload, self.run, on_failure=self.on_failure))

    async def meeting_ended(self, turn_context: TurnContext, details: Any) -> None:
        """Queue the recap of the meeting whose chat sent the `meetingEnd` event."""
        activity = turn_context.activity
        conversation = conversation_of(activity)
        value = _fields(details)
        info = teams_get_meeting_info(activity)
        meeting_id = (info.id if info else None) or value.get("id")
        if not meeting_id:
            log.warning("meetingEnd without a meeting id in %s", conversation.key)
            return
        ended = parse_time(value.get("endtime")) or activity.timestamp or self.services.clock()
        payload = MeetingPayload(
            place=conversation.place(),
            meeting_id=meeting_id,
            title=value.get("title") or conversation.name or "the meeting",
            ended_at=ended if ended.tzinfo else ended.replace(tzinfo=UTC),
        )
        key = f"teams:meeting:{content_hash(conversation.tenant + meeting_id, 48)}"
        await asyncio.to_thread(self.services.queue.enqueue, KIND, payload.stored(), key=key)

    # --- the job ----------------------------------------------------------------------

    async def run(self, job: Job, payload: MeetingPayload, context: JobContext) -> None:
        place, title = payload.place, payload.title
        organizer, meeting, people = await self._meeting(place, payload.meeting_id, title)
        deadline = payload.ended_at + timedelta(seconds=self.options.meeting_wait_seconds)
        if await self._recap(job, place, organizer, meeting, people, title):
            return
        if self.services.clock() < deadline:
            # Teams publishes transcripts and recordings minutes after the meeting: look
            # again later, leaving the worker to other jobs meanwhile.
            raise NotYet(self.options.meeting_poll_seconds, "no transcript or recording yet")
        await self.services.delivery.deliver(
            f"job:{job.id}:nothing",
            self.platform,
            ReplyTarget(place=place),
            TextReply(text=teams_sentences.MEETING_NOTHING.format(title=title)),
        )

    async def _meeting(
        self, place: Place, meeting_id: str, title: str
    ) -> tuple[str, str, dict[str, str]]:
        """(organizer id, Graph meeting id, participants' names -> ids)."""
        stored = await self.platform.conversation(place)
        response = await self.platform.connector_get(
            stored, f"v1/meetings/{quote(meeting_id, safe='')}"
        )
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientJobError(f"meeting details: HTTP {response.status_code}")  # retried
        if response.status_code >= 400:
            raise PermanentJobError(
                f"Teams has no details for “{title}” (HTTP {response.status_code})."
            )
        info = response.json()
        organizer = (info.get("organizer") or {}).get("aadObjectId")
        meeting = (info.get("details") or {}).get("msGraphResourceId")
        if not organizer or not meeting:
            raise PermanentJobError(f"Teams did not say who organised “{title}”.")
        people: dict[str, str] = {}
        try:
            found = await self.graph.get_json(
                place.workspace, self.graph.meeting_path(organizer, meeting)
            )
        except GraphError as exc:
            self._forbidden(exc, title)
            found = {}
        participants = found.get("participants") or {}
        for person in [participants.get("organizer") or {}, *(participants.get("attendees") or [])]:
            user = (person.get("identity") or {}).get("user") or {}
            if user.get("displayName") and user.get("id"):
                people[user["displayName"]] = user["id"]
        return organizer, meeting, people

    def _forbidden(self, exc: GraphError, title: str) -> None:
        if exc.status in (401, 403):
            raise PermanentJobError(
                teams_sentences.MEETING_FORBIDDEN.format(title=title, status=exc.status)
            ) from exc
        if exc.status != 404:  # 404: not there yet
            raise exc

    async def _recap(
        self,
        job: Job,
        place: Place,
        organizer: str,
        meeting: str,
        people: dict[str, str],
        title: str,
    ) -> bool:
        """Post a recap (or hand the recording to the core); False while nothing is there."""
        tenant = place.workspace
        try:
            transcripts = await self.graph.transcripts(tenant, organizer, meeting)
            recordings = (
                [] if transcripts else await self.graph.recordings(tenant, organizer, meeting)
            )
        except GraphError as exc:
            self._forbidden(exc, title)
            return False
        if transcripts:
            latest = max(transcripts, key=lambda t: t.get("createdDateTime") or "")
            vtt = await self.graph.transcript_vtt(tenant, organizer, meeting, latest["id"])
            await self._post_transcript_recap(job, place, vtt, people, title, latest)
            return True
        if recordings:
            latest = max(recordings, key=lambda r: r.get("createdDateTime") or "")
            name = "".join(c for c in title if c not in '\\/:*?"<>|').strip() or "meeting"
            file = FileRef(
                id=content_hash(latest["id"]),
                name=f"{name[:80]}.mp4",
                mimetype="video/mp4",
                # A reference only the bot makes (file links from activities are http(s)).
                url=GRAPH_REF + self.graph.recording_path(organizer, meeting, latest["id"]),
                # Its end, like every share time (bot/recordings.py): start = end - duration.
                created=parse_time(latest.get("endDateTime")),
                participants=len(people) or None,
            )
            await self.core.handle_command(
                CommandRequest(
                    place=place,
                    user_id=organizer,
                    text="transcribe",
                    event_key=f"teams:{tenant}:recording:{file.id}",
                    files=(file,),
                    via="file",
                )
            )
            return True
        return False

    async def _post_transcript_recap(
        self, job: Job, place: Place, vtt: str, people: dict[str, str], title: str, meta: dict
    ) -> None:
        transcript = parse_vtt(vtt)
        started = parse_time(meta.get("meetingStartDateTime") or meta.get("createdDateTime"))
        conversation = transcript_to_conversation(transcript, recorded_at=started, title=title)
        for message in conversation.messages:
            message.author_id = people.get(message.author)
        target = ReplyTarget(place=place)
        try:
            recap = await self.services.summarize(conversation)  # counted in the metrics
        except InputError:
            await self.services.delivery.deliver(
                f"job:{job.id}:empty",
                self.platform,
                target,
                TextReply(text=teams_sentences.MEETING_NOTHING.format(title=title)),
            )
            return
        # Stored first, so the post carries its items' buttons.
        channel = await self.services.conversations.get_or_create_channel(place)
        row = await asyncio.to_thread(self._save, channel, transcript, recap, job, meta, started)
        if row is not None:
            recap = Recap.model_validate(row.recap)  # a retry posts what the first run saved
        reply = RecapReply(
            recap=recap,
            title=teams_sentences.MEETING_RECAP_TITLE.format(title=title),
            items=await recap_reply_items(self.services, row, recap),
        )
        message_id = await self.services.delivery.deliver(
            f"job:{job.id}:recap", self.platform, target, reply
        )
        await remember_post(self.services, row, target, message_id, reply)

    def _save(
        self,
        channel: Channel,
        transcript: Transcript,
        recap: Recap,
        job: Job,
        meta: dict,
        started: datetime | None,
    ) -> RecapRecord | None:
        """The transcript and its recap, once per job (a retry finds them)."""
        repo = self.services.repo
        saved = repo.items.recap_by_job(row_id(job))
        if saved is not None:
            return saved
        repo.save_transcript(
            channel,
            for_job=job.id,  # nothing is stored once `forget` deleted the job
            source_message_id=None,
            file_id=content_hash(meta["id"]),
            file_name="Teams meeting transcript",
            language=transcript.language,
            duration_seconds=transcript.duration,
            transcript=transcript.model_dump(mode="json"),
            recorded_at=started,  # the meeting's start: its segments join the channel's history
        )
        return repo.save_recap(channel, recap, job_id=job.id, now=self.services.clock())

    async def on_failure(
        self, job: Job, payload: MeetingPayload, reason: str, user_facing: bool
    ) -> None:
        title = payload.title
        text = (
            reason
            if user_facing
            else teams_sentences.MEETING_FAILED.format(
                title=title, reason="it kept failing; an administrator can look it up"
            )
        )
        try:
            await self.services.delivery.deliver(
                f"job:{job.id}:failed",
                self.platform,
                ReplyTarget(place=payload.place),
                ErrorReply(text=text),
            )
        except Exception:
            log.exception("could not report the failed meeting recap %s", job.id)
