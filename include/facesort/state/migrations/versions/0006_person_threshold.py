"""person_threshold: a person's own sure/review distances, set on the people page

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_threshold",
        sa.Column("person_key", sa.String(length=250), nullable=False),
        sa.Column("person", sa.String(length=250), nullable=False),
        sa.Column("sure_distance", sa.Float(), nullable=True),
        sa.Column("review_distance", sa.Float(), nullable=True),
        sa.Column("set_by", sa.String(length=250), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_key", name=op.f("pk_person_threshold")),
    )


def downgrade() -> None:
    op.drop_table("person_threshold")
