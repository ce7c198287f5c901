"""The core's repository: queries each scoped by workspace. Synchronous: callers run them
in a thread (`asyncio.to_thread`) so the event loop never waits on the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.storage.base import chunks, row_id
from bot.storage.governance import Governance
from bot.storage.item_deletion import citing, delete_items, delete_recaps
from bot.storage.item_recording import touched_by_people
from bot.storage.items import ItemStore
from bot.storage.models import (
    ActionItemRecord,
    Channel,
    Delivery,
    Job,
    ProcessedEvent,
    RecapItem,
    RecapRecord,
    StoredMessage,
    TranscriptRecord,
    Workspace,
)
from bot.storage.voices import Voices
from summarizer.types import Recap

T = TypeVar("T", bound=SQLModel)
# Longer than any recording or meeting transcript (MAX_MEDIA_MINUTES is 4 h by default):
# how far before a window a recording that reaches into it may have started.
LONGEST_RECORDING = timedelta(days=2)


class Repository(Governance, Voices):
    """The core's queries: events, deliveries, workspaces, channels, messages, results,
    (from `Governance`) forgetting and retention, and (from `Voices`) named speakers
    and voice profiles. `items`: action items with their identity and history."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.items = ItemStore(engine)

    # --- events and deliveries ---------------------------------------------------------

    def first_time_seen(self, key: str) -> bool:
        """Record a platform event id; False if it was seen before (a retry)."""
        with self._session() as session:
            session.add(ProcessedEvent(key=key))
            try:
                session.commit()
            except IntegrityError:
                return False
        return True

    def forget_event(self, key: str) -> None:
        """Undo `first_time_seen` when the event could not be handled, so a retry is."""
        with self._session() as session:
            session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.key) == key))
            session.commit()

    def delivery(self, key: str) -> Delivery | None:
        with self._session() as session:
            return session.get(Delivery, key)

    def begin_delivery(self, key: str, platform: str, channel: str) -> None:
        """Note that a post is about to be made (message id still empty): a retry that finds
        it so knows the platform may have accepted the post before a crash."""
        with self._session() as session:
            if session.get(Delivery, key) is None:
                session.add(Delivery(key=key, platform=platform, channel=channel, message_id=""))
                try:
                    session.commit()
                except IntegrityError:  # another worker began it first
                    session.rollback()

    def record_delivery(self, key: str, platform: str, channel: str, message_id: str) -> None:
        with self._session() as session:
            session.merge(
                Delivery(key=key, platform=platform, channel=channel, message_id=message_id)
            )
            session.commit()

    # --- workspaces and channels -------------------------------------------------------
    # `get_*` only read; `get_or_create_*` is for where a command or message arrives;
    # `update_*` writes settings.

    def _get_or_create(self, model: type[T], match: dict[str, Any]) -> T:
        """The row matching `match`, created on first sight."""
        with self._session() as session:
            row = session.exec(self._matching(model, match)).first()
            if row is not None:
                return row
            row = model(**match)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # created concurrently
                session.rollback()
                return self._get_or_create(model, match)
            return row

    def _update(self, model: type[T], match: dict[str, Any], fields: dict[str, Any]) -> T:
        """Set `fields` on the row matching `match`, creating it first if need be."""
        self._get_or_create(model, match)
        with self._session() as session:
            row = session.exec(self._matching(model, match)).one()
            for name, value in fields.items():
                setattr(row, name, value)
            session.add(row)
            session.commit()
            return row

    @staticmethod
    def _matching(model: type[T], match: dict[str, Any]) -> SelectOfScalar[T]:
        query = select(model)
        for name, value in match.items():
            query = query.where(getattr(model, name) == value)
        return query

    def get_workspace(self, platform: str, external_id: str) -> Workspace | None:
        with self._session() as session:
            return session.exec(
                select(Workspace).where(
                    col(Workspace.platform) == platform,
                    col(Workspace.external_id) == external_id,
                )
            ).first()

    def get_or_create_workspace(self, platform: str, external_id: str) -> Workspace:
        return self._get_or_create(Workspace, {"platform": platform, "external_id": external_id})

    def update_workspace(self, platform: str, external_id: str, **fields: Any) -> Workspace:
        return self._update(Workspace, {"platform": platform, "external_id": external_id}, fields)

    def get_channel(self, workspace_id: int, external_id: str) -> Channel | None:
        with self._session() as session:
            return session.exec(
                select(Channel).where(
                    col(Channel.workspace_id) == workspace_id,
                    col(Channel.external_id) == external_id,
                )
            ).first()

    def get_or_create_channel(self, workspace_id: int, external_id: str) -> Channel:
        return self._get_or_create(
            Channel, {"workspace_id": workspace_id, "external_id": external_id}
        )

    def update_channel(self, workspace_id: int, external_id: str, **fields: Any) -> Channel:
        """Change a channel's settings (auto-transcribe, retention…)."""
        return self._update(
            Channel, {"workspace_id": workspace_id, "external_id": external_id}, fields
        )

    # --- messages ----------------------------------------------------------------------

    def upsert_message(self, channel: Channel, **fields: Any) -> StoredMessage:
        with self._session() as session:
            row = session.exec(
                select(StoredMessage).where(
                    StoredMessage.channel_id == channel.id,
                    StoredMessage.external_id == fields["external_id"],
                )
            ).first()
            if row is None:
                row = StoredMessage(
                    workspace_id=channel.workspace_id, channel_id=row_id(channel), **fields
                )
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same message arrived twice at once
                session.rollback()
            return row

    def edit_message(
        self, channel: Channel, external_id: str, text: str, edited_at: datetime
    ) -> list[RecapRecord] | None:
        """Apply an edit (None: the message is not stored). What a recap derived from the
        message is stale: its items go, but for those a person acted on (status, owner,
        an export) or that have a tracker issue (or one being created), which the next
        recap finds again by source and wording. Returns the recaps showing an item that
        went, so that their posts are re-rendered."""
        with self._session() as session:
            row = session.exec(
                select(StoredMessage).where(
                    StoredMessage.channel_id == channel.id, StoredMessage.external_id == external_id
                )
            ).first()
            if row is None:
                return None
            row.text, row.edited_at = text, edited_at
            session.add(row)
            derived = session.exec(
                select(ActionItemRecord).where(
                    col(ActionItemRecord.workspace_id) == channel.workspace_id,
                    col(ActionItemRecord.channel_id) == channel.id,
                    col(ActionItemRecord.source_ref) == external_id,
                )
            ).all()
            kept = touched_by_people(session, [row_id(item) for item in derived])
            doomed = [
                row_id(item)
                for item in derived
                if row_id(item) not in kept
                and item.tracker_ref is None
                and item.export_state != "pending"
            ]
            showing = _recaps_showing(session, doomed)
            for chunk in chunks(doomed):
                delete_items(session, col(ActionItemRecord.id).in_(chunk))
            session.commit()
        return showing

    def delete_message(self, channel: Channel, external_id: str) -> None:
        """A deleted message takes what was derived from it: stored copy, items (also those
        citing a moment of its recording, `<id>@<seconds>`), transcripts."""
        with self._session() as session:
            # The recap of a recording shared in it goes with its transcript.
            transcripts = select(TranscriptRecord.id).where(
                col(TranscriptRecord.workspace_id) == channel.workspace_id,
                col(TranscriptRecord.channel_id) == channel.id,
                col(TranscriptRecord.source_message_id) == external_id,
            )
            _delete_recaps_of(session, transcripts)
            delete_items(session, citing(channel, external_id))
            for model, column in (
                (StoredMessage, StoredMessage.external_id),
                (TranscriptRecord, TranscriptRecord.source_message_id),
            ):
                session.execute(
                    delete(model).where(
                        col(model.workspace_id) == channel.workspace_id,
                        col(model.channel_id) == channel.id,
                        col(column) == external_id,
                    )
                )
            session.commit()

    def delete_file_transcripts(self, workspace_id: int, file_id: str) -> int:
        """A file deleted on the platform: its transcripts go, in every channel it was in,
        with the action items that cite a moment of them (`<message id>@<seconds>`)."""
        with self._session() as session:
            rows = session.exec(
                select(TranscriptRecord).where(
                    TranscriptRecord.workspace_id == workspace_id,
                    TranscriptRecord.file_id == file_id,
                )
            ).all()
            _delete_recaps_of(session, [row_id(row) for row in rows])
            for row in rows:
                if row.source_message_id:
                    delete_items(
                        session,
                        col(ActionItemRecord.workspace_id) == workspace_id,
                        col(ActionItemRecord.channel_id) == row.channel_id,
                        col(ActionItemRecord.source_ref).startswith(
                            f"{row.source_message_id}@", autoescape=True
                        ),
                    )
                session.delete(row)
            session.commit()
            return len(rows)

    def transcripts(
        self,
        channel: Channel,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        thread: str | None = None,
    ) -> list[TranscriptRecord]:
        """Dated transcripts of the channel whose recording may overlap the window (started
        before `until`; the caller drops segments before `since`), or of one thread."""
        with self._session() as session:
            query = select(TranscriptRecord).where(
                TranscriptRecord.workspace_id == channel.workspace_id,
                TranscriptRecord.channel_id == channel.id,
                col(TranscriptRecord.recorded_at).is_not(None),
            )
            if until is not None:
                query = query.where(col(TranscriptRecord.recorded_at) <= until)
            if since is not None:  # in SQL, what no recording could reach; exactly below
                query = query.where(col(TranscriptRecord.recorded_at) >= since - LONGEST_RECORDING)
            if thread is not None:
                query = query.where(
                    (col(TranscriptRecord.thread_id) == thread)
                    | (col(TranscriptRecord.source_message_id) == thread)
                )
            rows = list(session.exec(query.order_by(col(TranscriptRecord.id))).all())
        return [
            row
            for row in rows
            if since is None
            or row.recorded_at is None
            or row.recorded_at + timedelta(seconds=row.duration_seconds) >= since
        ]

    def messages(
        self,
        channel: Channel,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        thread: str | None = None,
    ) -> list[StoredMessage]:
        with self._session() as session:
            query = select(StoredMessage).where(
                StoredMessage.workspace_id == channel.workspace_id,
                StoredMessage.channel_id == channel.id,
            )
            if since is not None:
                query = query.where(col(StoredMessage.sent_at) >= since)
            if until is not None:
                query = query.where(col(StoredMessage.sent_at) <= until)
            if thread is not None:
                query = query.where(
                    (col(StoredMessage.thread_id) == thread)
                    | (col(StoredMessage.external_id) == thread)
                )
            return list(session.exec(query.order_by(col(StoredMessage.sent_at))).all())

    # --- results -----------------------------------------------------------------------

    def save_transcript(
        self, channel: Channel, *, for_job: int | None = None, **fields: Any
    ) -> TranscriptRecord | None:
        """Store a transcript; None, storing nothing, when `for_job` is gone (its channel
        was forgotten while it ran)."""
        with self._session() as session:
            if for_job is not None and session.get(Job, for_job) is None:
                return None
            row = TranscriptRecord(
                workspace_id=channel.workspace_id, channel_id=row_id(channel), **fields
            )
            session.add(row)
            session.commit()
            return row

    def save_recap(
        self, channel: Channel, recap: Recap, *, now: datetime | None = None, **fields: Any
    ) -> RecapRecord | None:
        """Store a recap and record its action items (`ItemStore.record`: a re-reported
        item updates its row), dated `now` (the bot's clock) when given; None when its
        `job_id` is gone (forgotten)."""
        with self._session() as session:
            if fields.get("job_id") is not None and session.get(Job, fields["job_id"]) is None:
                return None
            row = RecapRecord(
                workspace_id=channel.workspace_id,
                channel_id=row_id(channel),
                engine=recap.engine,
                input_tokens=recap.input_tokens,
                output_tokens=recap.output_tokens,
                recap=recap.model_dump(mode="json"),
                **fields,
            )
            if now is not None:
                row.created_at = now
            session.add(row)
            session.commit()
        self.items.record(
            channel, row, recap, thread_id=row.thread_id, requested_by=row.requested_by, now=now
        )
        return row

    def replace_recap(self, transcript_id: int, recap: Recap) -> RecapRecord | None:
        """Put `recap` in place of the stored recap of a transcript (its speakers were
        named): its items are recorded again (owners now named; a person's changes kept),
        and those it no longer reports, first reported by it and never touched by a
        person, go. The recap row, None when none is stored."""
        with self._session() as session:
            row = session.exec(
                select(RecapRecord)
                .where(col(RecapRecord.transcript_id) == transcript_id)
                .order_by(col(RecapRecord.id).desc())
            ).first()
            if row is None:
                return None
            before = set(
                session.exec(
                    select(RecapItem.item_id).where(col(RecapItem.recap_id) == row.id)
                ).all()
            )
            session.execute(delete(RecapItem).where(col(RecapItem.recap_id) == row.id))
            row.recap = recap.model_dump(mode="json")
            row.engine, row.input_tokens = recap.engine, recap.input_tokens
            row.output_tokens = recap.output_tokens
            session.add(row)
            session.commit()
            channel = session.get(Channel, row.channel_id)
            assert channel is not None
        # Recorded again by the same recap: `seen` updates need recap_id to differ.
        kept = self.items.record(
            channel, row, recap, thread_id=row.thread_id, requested_by=row.requested_by,
            again=True,
        )  # fmt: skip
        self.items.drop_unreported(row_id(row), before - {row_id(item) for item in kept})
        return row

    def action_items(self, channel: Channel) -> list[ActionItemRecord]:
        with self._session() as session:
            return list(
                session.exec(
                    select(ActionItemRecord).where(
                        ActionItemRecord.workspace_id == channel.workspace_id,
                        ActionItemRecord.channel_id == channel.id,
                    )
                ).all()
            )

    def job_by_key(self, key: str) -> Job | None:
        """The job queued under an idempotency key (the API's public ids)."""
        with self._session() as session:
            return session.exec(select(Job).where(Job.idempotency_key == key)).first()


def _recaps_showing(session: Session, item_ids: list[int]) -> list[RecapRecord]:
    found: dict[int, RecapRecord] = {}
    for chunk in chunks(item_ids):
        for recap in session.exec(
            select(RecapRecord)
            .join(RecapItem, col(RecapItem.recap_id) == col(RecapRecord.id))
            .where(col(RecapItem.item_id).in_(chunk))
        ).all():
            found[row_id(recap)] = recap
    return [found[recap_id] for recap_id in sorted(found)]


def _delete_recaps_of(session: Session, transcripts: Any) -> None:
    """A recording's recap (and its items) goes with its transcript: `transcripts` is a
    subquery or a list of transcript ids."""
    delete_recaps(session, col(RecapRecord.transcript_id).in_(transcripts))
