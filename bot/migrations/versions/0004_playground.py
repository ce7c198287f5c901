"""playground: people, channels, messages, files and the change log of the local playground

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00.000000

The tables belong to `adapters/playground/store.py` (the playground is its own chat
platform, so its history lives here).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "playground_users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "playground_channels",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("topic", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "playground_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "channel_id",
            sa.String(64),
            sa.ForeignKey("playground_channels.id"),
            nullable=False,
        ),
        sa.Column("thread_id", sa.Integer(), sa.ForeignKey("playground_messages.id")),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author_id", sa.String(64)),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply", sa.JSON()),
        sa.Column("visible_to", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_playground_messages_channel_time", "playground_messages", ["channel_id", "created_at"]
    )
    op.create_index("ix_playground_messages_thread", "playground_messages", ["thread_id"])
    op.create_table(
        "playground_files",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "message_id", sa.Integer(), sa.ForeignKey("playground_messages.id"), nullable=False
        ),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mimetype", sa.String(100)),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_playground_files_message", "playground_files", ["message_id"])
    op.create_table(
        "playground_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("message_id", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("playground_events")
    op.drop_index("ix_playground_files_message", table_name="playground_files")
    op.drop_table("playground_files")
    op.drop_index("ix_playground_messages_thread", table_name="playground_messages")
    op.drop_index("ix_playground_messages_channel_time", table_name="playground_messages")
    op.drop_table("playground_messages")
    op.drop_table("playground_channels")
    op.drop_table("playground_users")
