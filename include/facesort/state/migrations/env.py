"""Alembic environment: runs on the connection facesort hands over (see state/db.py)."""

from alembic import context

from facesort.state.db import VERSION_TABLE
from facesort.state.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - facesort always passes its connection
    raise RuntimeError("facesort migrations run through `facesort db upgrade`, not alembic's CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
