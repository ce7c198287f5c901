"""jobs.dispatched_at: when the job was last handed to the Celery broker

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:00:00.000000

The database stays the source of truth for jobs; with the Celery executor a broker message
only says "job N is ready". This column lets workers re-send a message that was lost (a
broker restart) or whose worker died, without flooding the broker with duplicates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("dispatched_at")
