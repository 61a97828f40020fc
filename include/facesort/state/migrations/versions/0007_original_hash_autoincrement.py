"""original_hash.seq never reused on SQLite (AUTOINCREMENT)

A duplicate finder reads the originals' hashes registered after the last ``seq`` it
saw. SQLite gives a plain INTEGER PRIMARY KEY the largest key plus one, so an original
forgotten from the top of the table (its processing failed) gave its ``seq`` to the
next one registered, which a finder that had read that ``seq`` never read. With
AUTOINCREMENT a key is never given twice. PostgreSQL's sequence never reuses one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "original_hash", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass  # the table is made again, its rows copied, with or without AUTOINCREMENT


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
