"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21 20:27:34.850870
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=250), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
    )
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_status"), ["status"], unique=False)

    op.create_table(
        "reference_encoding",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("encoding", sa.LargeBinary(), nullable=True),
        sa.Column("box", sa.JSON(), nullable=True),
        sa.Column("face_count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("settings_key", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_reference_encoding")),
    )
    op.create_table(
        "media_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("staging_dir", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_type", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("phash", sa.String(length=16), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("is_original", sa.Boolean(), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("current_path", sa.Text(), nullable=True),
        sa.Column("place", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("people", sa.JSON(), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_media_file_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["media_file.id"],
            name=op.f("fk_media_file_duplicate_of_id_media_file"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_file")),
    )
    with op.batch_alter_table("media_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_file_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_file_category"), ["category"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_media_file_current_path"), ["current_path"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_media_file_is_original"), ["is_original"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_media_file_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_media_file_source_path"), ["source_path"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_media_file_status"), ["status"], unique=False)

    op.create_table(
        "face",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=True),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("encoding", sa.LargeBinary(), nullable=True),
        sa.Column("person", sa.String(length=250), nullable=True),
        sa.Column("confidence", sa.String(length=16), nullable=False),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["media_file.id"], name=op.f("fk_face_file_id_media_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face")),
    )
    with op.batch_alter_table("face", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_face_person"), ["person"], unique=False)

    op.create_table(
        "file_index",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["media_file.id"], name=op.f("fk_file_index_file_id_media_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_index")),
        sa.UniqueConstraint("path", name=op.f("uq_file_index_path")),
    )
    with op.batch_alter_table("file_index", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_file_index_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_file_index_root"), ["root"], unique=False)

    op.create_table(
        "original_hash",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("phash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["media_file.id"], name=op.f("fk_original_hash_file_id_media_file")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_original_hash")),
        sa.UniqueConstraint("file_id", name=op.f("uq_original_hash_file_id")),
    )
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("src", sa.Text(), nullable=False),
        sa.Column("dst", sa.Text(), nullable=False),
        sa.Column("tmp", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("group_id", sa.String(length=250), nullable=True),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("owner", sa.String(length=250), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["media_file.id"], name=op.f("fk_transfer_file_id_media_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
    )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_state"), ["state"], unique=False)
        batch_op.create_index(
            "uq_transfer_dst_planned",
            ["dst"],
            unique=True,
            sqlite_where=sa.text("state = 'planned'"),
            postgresql_where=sa.text("state = 'planned'"),
        )

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_path", sa.Text(), nullable=True),
        sa.Column("to_path", sa.Text(), nullable=True),
        sa.Column("place", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("people", sa.JSON(), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["media_file.id"], name=op.f("fk_event_file_id_media_file")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfer.id"], name=op.f("fk_event_transfer_id_transfer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_file_id"), ["file_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_file_id"))
        batch_op.drop_index(batch_op.f("ix_event_at"))
        batch_op.drop_index(batch_op.f("ix_event_action"))

    op.drop_table("event")
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_transfer_dst_planned",
            sqlite_where=sa.text("state = 'planned'"),
            postgresql_where=sa.text("state = 'planned'"),
        )
        batch_op.drop_index(batch_op.f("ix_transfer_state"))
        batch_op.drop_index(batch_op.f("ix_transfer_group_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_file_id"))

    op.drop_table("transfer")
    op.drop_table("original_hash")
    with op.batch_alter_table("file_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_index_root"))
        batch_op.drop_index(batch_op.f("ix_file_index_file_id"))

    op.drop_table("file_index")
    with op.batch_alter_table("face", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_person"))
        batch_op.drop_index(batch_op.f("ix_face_file_id"))

    op.drop_table("face")
    with op.batch_alter_table("media_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_file_status"))
        batch_op.drop_index(batch_op.f("ix_media_file_source_path"))
        batch_op.drop_index(batch_op.f("ix_media_file_sha256"))
        batch_op.drop_index(batch_op.f("ix_media_file_is_original"))
        batch_op.drop_index(batch_op.f("ix_media_file_current_path"))
        batch_op.drop_index(batch_op.f("ix_media_file_category"))
        batch_op.drop_index(batch_op.f("ix_media_file_batch_id"))

    op.drop_table("media_file")
    op.drop_table("reference_encoding")
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_status"))

    op.drop_table("batch")
