"""Named speakers and voice profiles (part of `Repository`): the transcripts of a thread,
the names given to their speakers, and each workspace's remembered voices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.storage.base import Store, rowcount
from bot.storage.models import Channel, Job, TranscriptRecord, VoiceProfile, utcnow
from summarizer.naming import running_mean, without_sample


@dataclass(frozen=True)
class ThreadTranscript:
    """A transcript posted in a thread, with the job that posted it (its deliveries are
    keyed `job:{job_id}:{file_id}:…`) and where that job answered."""

    record: TranscriptRecord
    job_id: int
    reply: dict[str, Any]  # the job payload's reply target, as stored


class Voices(Store):
    def thread_transcripts(
        self, channel: Channel, thread: str | None, *, kind: str
    ) -> list[ThreadTranscript]:
        """The transcripts `kind` jobs posted in `thread` of `channel` (or made of the
        recording that started it), oldest first; without a thread, the channel's latest."""
        found: list[ThreadTranscript] = []
        with self._session() as session:
            jobs = session.exec(
                select(Job.id, Job.payload).where(col(Job.kind) == kind).order_by(col(Job.id))
            ).all()
            for job_id, payload in jobs:
                payload = payload or {}
                reply = payload.get("reply") or {}
                where = reply.get("place") or {}
                here = where.get("channel") == channel.external_id
                in_thread = thread is None or thread in (
                    where.get("thread"),
                    payload.get("message_id"),
                )
                if job_id is None or not here or not in_thread:
                    continue
                for file in payload.get("files") or []:
                    record = session.exec(
                        select(TranscriptRecord)
                        .where(
                            col(TranscriptRecord.workspace_id) == channel.workspace_id,
                            col(TranscriptRecord.channel_id) == channel.id,
                            col(TranscriptRecord.file_id) == file.get("id"),
                            col(TranscriptRecord.source_message_id) == payload.get("message_id"),
                        )
                        .order_by(col(TranscriptRecord.id).desc())
                    ).first()
                    if record is not None:
                        found.append(ThreadTranscript(record, job_id, reply))
        return found if thread is not None else found[-1:]

    def name_speaker(
        self, record_id: int, label: str, name: str, user_id: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Name one label of a transcript (the row read and written in one transaction, so
        two people naming two speakers at once both count): (its speakers afterwards, what
        the label was before)."""
        with self._session() as session:
            row = session.exec(
                select(TranscriptRecord)
                .where(col(TranscriptRecord.id) == record_id)
                .with_for_update()
            ).first()
            if row is None:
                return {}, {}
            speakers = dict(row.speakers or {})
            before = dict(speakers.get(label) or {})
            entry = {k: v for k, v in before.items() if k != "by"}
            speakers[label] = entry | {"name": name, "user_id": user_id}
            row.speakers = speakers  # a new dict: JSON columns track assignment
            session.add(row)
            session.commit()
            return speakers, before

    # --- voice profiles ----------------------------------------------------------------

    def voice_profiles(self, workspace_id: int) -> list[VoiceProfile]:
        """The workspace's remembered voices (not the refusals: `forget_voices`)."""
        with self._session() as session:
            return list(
                session.exec(
                    select(VoiceProfile).where(
                        col(VoiceProfile.workspace_id) == workspace_id,
                        col(VoiceProfile.samples) > 0,
                    )
                ).all()
            )

    def remember_voice(
        self, workspace_id: int, user_id: str, name: str, voice: list[float], *, again: bool = False
    ) -> VoiceProfile:
        """Add one recording's voice to the person's profile (a running mean); `again`: it
        was counted before, so only a profile that is gone (expired) is made anew."""
        with self._session() as session:
            row = session.exec(_profile_of(workspace_id, user_id)).first()
            if row is None:
                row = VoiceProfile(
                    workspace_id=workspace_id, user_id=user_id, name=name, embedding=list(voice)
                )
            elif again or row.samples == 0:  # counted before; or they said `forget my voice`
                return row
            else:
                row.embedding = running_mean(row.embedding, row.samples, voice)
                row.samples, row.name, row.updated_at = row.samples + 1, name, utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def unlearn_voice(self, workspace_id: int, user_id: str, voice: list[float]) -> None:
        """Take one recording's voice out of a person's profile again (it was named as them
        by mistake); a profile of that one recording goes."""
        with self._session() as session:
            row = session.exec(_profile_of(workspace_id, user_id)).first()
            if row is None:
                return
            if row.samples <= 1:
                session.delete(row)
            else:
                row.embedding = without_sample(row.embedding, row.samples, voice)
                row.samples, row.updated_at = row.samples - 1, utcnow()
                session.add(row)
            session.commit()

    def forget_voices(self, workspace_id: int, user_id: str | None = None) -> int:
        """Delete a person's voice profile (`user_id`), or every one of the workspace; and
        the voices kept with that workspace's transcripts for naming (theirs, or all). A
        person's refusal stays (a row without a voice, `samples` 0): their voice is not
        learnt again. Returns how many voices were deleted."""
        with self._session() as session:
            where = [col(VoiceProfile.workspace_id) == workspace_id, col(VoiceProfile.samples) > 0]
            if user_id is not None:
                where.append(col(VoiceProfile.user_id) == user_id)
            deleted = rowcount(session, delete(VoiceProfile).where(*where))
            # A row without a voice remembers the refusal: that voice is not learnt again.
            if (
                user_id is not None
                and session.exec(_profile_of(workspace_id, user_id)).first() is None
            ):
                session.add(
                    VoiceProfile(
                        workspace_id=workspace_id, user_id=user_id, name="", embedding=[], samples=0
                    )
                )
            session.commit()
        self.strip_voices(workspace_id, user_id)
        return deleted

    def purge_voices(self, *, before: datetime | None) -> int:
        """Retention: profiles not refreshed since `before`; None: every profile and every
        kept voice (VOICE_PROFILES turned off). Refusals stay."""
        with self._session() as session:
            query = delete(VoiceProfile).where(col(VoiceProfile.samples) > 0)
            if before is not None:
                query = query.where(col(VoiceProfile.updated_at) < before)
            deleted = rowcount(session, query)
            session.commit()
        if before is None:
            self.strip_voices(None, None)
        return deleted

    def strip_voices(self, workspace_id: int | None, user_id: str | None) -> None:
        """Drop the voices kept with transcripts: of the labels named as `user_id` (None: all),
        in `workspace_id` (None: everywhere)."""
        with self._session() as session:
            query = select(TranscriptRecord.id, TranscriptRecord.speakers)
            if workspace_id is not None:
                query = query.where(col(TranscriptRecord.workspace_id) == workspace_id)
            changed: dict[int, dict[str, Any]] = {}
            for record_id, stored in session.exec(query).all():
                speakers = {
                    label: _without_voice(entry)
                    if user_id is None or entry.get("user_id") == user_id
                    else entry
                    for label, entry in (stored or {}).items()
                }
                if record_id is not None and speakers != (stored or {}):
                    changed[record_id] = speakers
            for record_id, speakers in changed.items():
                session.execute(
                    update(TranscriptRecord)
                    .where(col(TranscriptRecord.id) == record_id)
                    .values(speakers=speakers)
                )
            session.commit()


def _without_voice(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "voice"}


def _profile_of(workspace_id: int, user_id: str) -> SelectOfScalar[VoiceProfile]:
    """The query for one person's profile in a workspace (unique)."""
    return select(VoiceProfile).where(
        col(VoiceProfile.workspace_id) == workspace_id,
        col(VoiceProfile.user_id) == user_id,
    )
