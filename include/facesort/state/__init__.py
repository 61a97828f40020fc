"""The state database (SQLAlchemy models, sessions, migrations)."""

from facesort.state.db import State, database_failure, head_revision, sqlite_url

__all__ = ["State", "database_failure", "head_revision", "sqlite_url"]
