"""The state database: what facesort knows about every file, claim, move and decision.

- ``db``: opening it (:class:`State`, usable as ``with State(url) as state:``), sessions,
  locks, and keeping the schema current;
- ``models``: its tables (stored words are the enums of :mod:`facesort.vocab`);
- ``events``: ``record_event``, one row of the audit trail (``facesort history``);
- ``migrations``: the Alembic history of the schema.
"""

from facesort.state.db import (
    State,
    adopt_head_revision,
    database_failure,
    head_revision,
    sqlite_url,
)

__all__ = ["State", "adopt_head_revision", "database_failure", "head_revision", "sqlite_url"]
