"""review loop: review actions, face clusters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "face_cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("person", sa.String(length=250), nullable=True),
        sa.Column("face_count", sa.Integer(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("representative_face_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_cluster")),
    )
    with op.batch_alter_table("face_cluster", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_cluster_status"), ["status"], unique=False)

    op.create_table(
        "review_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person", sa.String(length=250), nullable=True),
        sa.Column("file_ids", sa.JSON(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("undo_of", sa.String(length=250), nullable=True),
        sa.Column("undone_by", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_action")),
        sa.UniqueConstraint("group_id", name=op.f("uq_review_action_group_id")),
    )
    with op.batch_alter_table("review_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_action_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_action_kind"), ["kind"], unique=False)

    with op.batch_alter_table("face", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_face_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_face_cluster_id_face_cluster"), "face_cluster", ["cluster_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("face", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_face_cluster_id_face_cluster"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_face_cluster_id"))
        batch_op.drop_column("cluster_id")

    with op.batch_alter_table("review_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_action_kind"))
        batch_op.drop_index(batch_op.f("ix_review_action_at"))

    op.drop_table("review_action")
    with op.batch_alter_table("face_cluster", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_cluster_status"))

    op.drop_table("face_cluster")
