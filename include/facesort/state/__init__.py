"""The state database (SQLAlchemy models, sessions, migrations)."""

from facesort.state.db import State, head_revision, sqlite_url

__all__ = ["State", "head_revision", "sqlite_url"]
