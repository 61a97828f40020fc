"""review actions recorded before their moves: state, owner and lease of review_action

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_action", schema=None) as batch_op:
        # Actions recorded before this revision were recorded when they were done.
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="done")
        )
        batch_op.add_column(sa.Column("owner", sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_review_action_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_action_state"))
        batch_op.drop_column("lease_until")
        batch_op.drop_column("owner")
        batch_op.drop_column("state")
