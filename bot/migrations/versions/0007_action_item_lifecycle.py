"""Action items that live on (issue #16): identity, history, the recaps that show them,
reminders sent, tracker links and exports; where each recap was posted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:30:00.000000
"""

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _str(length: int | None = None) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text
    return " ".join(_WORD.findall(folded.casefold()))


def _key(task: str, ref: str | None, owner_id: str | None, owner_name: str | None) -> str:
    """bot.features.items.identity.item_key as of this revision (a migration keeps its
    own copy: later changes to the identity must not change what this step computed)."""
    if ref:
        basis = f"ref\n{ref}\n{_normalise(task)}"
    else:
        basis = f"task\n{_normalise(task)}\n{owner_id or _normalise(owner_name or '')}"
    return hashlib.sha256(basis.encode()).hexdigest()


def _give_identities() -> None:
    """Items stored before identities existed (one row per recap that reported them) get
    the key a new recap would look them up by; of several rows of one commitment, the
    latest carries it and the older ones keep a key of their own (`legacy:<id>`)."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, channel_id, task, source_ref, owner_id, owner_name FROM action_items "
            "ORDER BY id DESC"
        )
    ).fetchall()
    taken: set[tuple[int, str]] = set()
    for item_id, channel_id, task, ref, owner_id, owner_name in rows:
        key = _key(task or "", ref, owner_id, owner_name)
        if (channel_id, key) in taken:
            key = f"legacy:{item_id}"
        taken.add((channel_id, key))
        connection.execute(
            sa.text("UPDATE action_items SET key = :key, updated_at = created_at WHERE id = :id"),
            {"key": key, "id": item_id},
        )


def upgrade() -> None:
    with op.batch_alter_table("recaps") as batch:
        batch.add_column(sa.Column("post", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("requested_by", _str(64), nullable=True))
    with op.batch_alter_table("action_items") as batch:
        batch.alter_column("recap_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("thread_id", _str(64), nullable=True))
        batch.add_column(sa.Column("key", _str(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("requested_by", _str(64), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("tracker", _str(16), nullable=True))
        batch.add_column(sa.Column("tracker_ref", _str(200), nullable=True))
        batch.add_column(sa.Column("tracker_url", _str(), nullable=True))
        batch.add_column(sa.Column("tracker_id", _str(100), nullable=True))
        batch.add_column(sa.Column("export_state", _str(16), nullable=True))
        batch.add_column(sa.Column("export_token", _str(32), nullable=True))
    _give_identities()
    with op.batch_alter_table("action_items") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_unique_constraint("uq_action_items_channel_id_key", ["channel_id", "key"])
        batch.create_index("ix_action_items_tracker_ref", ["tracker_ref"])
        batch.create_index("ix_action_items_owner_status", ["workspace_id", "owner_id", "status"])
        batch.create_index("ix_action_items_status_due", ["status", "due"])
    op.create_table(
        "action_item_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("action_items.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", _str(64), nullable=False),
        sa.Column("field", _str(16), nullable=False),
        sa.Column("old", _str(), nullable=True),
        sa.Column("new", _str(), nullable=True),
    )
    op.create_index("ix_action_item_events_item_id", "action_item_events", ["item_id"])
    op.create_table(
        "recap_items",
        sa.Column("recap_id", sa.Integer(), sa.ForeignKey("recaps.id"), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("action_items.id"), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_recap_items_item_id", "recap_items", ["item_id"])
    # Each stored item was one recap's, in the order it was stored.
    op.execute(
        "INSERT INTO recap_items (recap_id, item_id, position) "
        "SELECT recap_id, id, ROW_NUMBER() OVER (PARTITION BY recap_id ORDER BY id) - 1 "
        "FROM action_items WHERE recap_id IS NOT NULL"
    )
    op.create_table(
        "item_reminders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("action_items.id"), nullable=False),
        sa.Column("kind", _str(16), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", _str(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("item_id", "kind"),
    )
    op.create_index("ix_item_reminders_item_id", "item_reminders", ["item_id"])
    op.create_table(
        "tracker_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column(
            "channel_id", sa.Integer(), sa.ForeignKey("channels.id"), nullable=False, unique=True
        ),
        sa.Column("tracker", _str(16), nullable=False),
        sa.Column("target", _str(200), nullable=False),
        sa.Column("created_by", _str(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tracker_links_workspace_id", "tracker_links", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_tracker_links_workspace_id", table_name="tracker_links")
    op.drop_table("tracker_links")
    op.drop_index("ix_item_reminders_item_id", table_name="item_reminders")
    op.drop_table("item_reminders")
    op.drop_index("ix_recap_items_item_id", table_name="recap_items")
    op.drop_table("recap_items")
    op.drop_index("ix_action_item_events_item_id", table_name="action_item_events")
    op.drop_table("action_item_events")
    op.execute("DELETE FROM action_items WHERE recap_id IS NULL")
    with op.batch_alter_table("action_items") as batch:
        batch.drop_index("ix_action_items_status_due")
        batch.drop_index("ix_action_items_owner_status")
        batch.drop_index("ix_action_items_tracker_ref")
        batch.drop_constraint("uq_action_items_channel_id_key", type_="unique")
        for column in (
            "export_token",
            "export_state",
            "tracker_id",
            "tracker_url",
            "tracker_ref",
            "tracker",
            "updated_at",
            "requested_by",
            "key",
            "thread_id",
        ):
            batch.drop_column(column)
        batch.alter_column("recap_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("recaps") as batch:
        batch.drop_column("requested_by")
        batch.drop_column("post")
