"""Recordings in their conversation: when a transcript's recording started, its thread,
the names people gave its speakers; and opt-in voice profiles.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transcripts") as batch:
        batch.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("thread_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("speakers", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.create_index("ix_transcripts_thread_id", ["thread_id"])
    op.create_table(
        "voice_profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("embedding", sa.JSON(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "user_id"),
    )
    op.create_index("ix_voice_profiles_workspace_id", "voice_profiles", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_voice_profiles_workspace_id", table_name="voice_profiles")
    op.drop_table("voice_profiles")
    with op.batch_alter_table("transcripts") as batch:
        batch.drop_index("ix_transcripts_thread_id")
        batch.drop_column("speakers")
        batch.drop_column("thread_id")
        batch.drop_column("recorded_at")
