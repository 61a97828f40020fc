"""immich_carry: named Immich faces of moved files, carried onto their new assets

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "immich_carry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=250), nullable=False),
        sa.Column("old_asset_id", sa.String(length=64), nullable=False),
        sa.Column("old_path", sa.Text(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("person_name", sa.String(length=250), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=True),
        sa.Column("new_path", sa.Text(), nullable=True),
        sa.Column("new_asset_id", sa.String(length=64), nullable=True),
        sa.Column("face_id", sa.String(length=64), nullable=True),
        sa.Column("previous_person_id", sa.String(length=64), nullable=True),
        sa.Column("quiet_polls", sa.Integer(), nullable=False),
        sa.Column("missing_polls", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["media_file.id"], name=op.f("fk_immich_carry_file_id_media_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_immich_carry")),
    )
    with op.batch_alter_table("immich_carry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_immich_carry_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_immich_carry_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_immich_carry_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("immich_carry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_immich_carry_status"))
        batch_op.drop_index(batch_op.f("ix_immich_carry_group_id"))
        batch_op.drop_index(batch_op.f("ix_immich_carry_file_id"))
    op.drop_table("immich_carry")
