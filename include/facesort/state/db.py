"""Opening the state database and keeping its schema current.

SQLite (the default) runs in WAL mode and every transaction starts with
``BEGIN IMMEDIATE``: writers queue behind each other instead of failing halfway with
"database is locked", which makes read-check-write sequences (claims, duplicate checks)
atomic across processes. PostgreSQL uses row locks (``FOR UPDATE SKIP LOCKED``) and an
advisory lock for the duplicate check.

The schema is managed by Alembic (version table ``facesort_alembic_version``, so the
state can share a PostgreSQL database with Airflow's metadata). Opening a State
upgrades it to the newest revision under a lock, so concurrent workers do it once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from facesort.errors import StateError

VERSION_TABLE = "facesort_alembic_version"
MIGRATIONS = Path(__file__).parent / "migrations"
# Arbitrary constants naming facesort's PostgreSQL advisory locks.
LOCK_MIGRATE = 0x66616365_0001
LOCK_DEDUPE = 0x66616365_0002


def _alembic_config():
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


# The newest schema revision, read from the migration scripts once a process (~0.1-0.3
# s; every State needs it), or taken from the process that started this one.
_head: list[str] = []


def head_revision() -> str:
    if not _head:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None
        _head.append(head)
    return _head[0]


def adopt_head_revision(revision: str) -> None:
    """Take the head revision the starting process read (a sorting worker's parent)
    instead of reading the scripts again."""
    _head[:] = [revision]


def _sqlite_engine(url: sa.URL, readonly: bool) -> Engine:
    database = url.database or ""
    if database and database != ":memory:":
        folder = Path(database).parent
        if not folder.exists():
            raise StateError(
                f"Folder {folder} for the state database {database} does not exist: create it "
                "or set state_url to a writable place."
            )
    connect_args = {"timeout": 60, "isolation_level": None, "check_same_thread": False}
    if readonly and database and database != ":memory:":
        url = url.set(database=f"file:{database}?mode=ro", query={"uri": "true"})
    engine = sa.create_engine(
        url,
        connect_args=connect_args,
        poolclass=sa.pool.StaticPool if database in {"", ":memory:"} else None,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        if not readonly:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - trivial
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


class State:
    """The state database: an engine, sessions, and the schema version.

    ``with State(url) as state:`` disposes of the engine (closes its connections) on exit.
    """

    def __init__(self, url: str, *, readonly: bool = False, upgrade: bool = True):
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StateError(
                f"state_url {url!r} is not a database URL: write it like "
                "sqlite:////var/lib/facesort/state.db or postgresql://user@host/db"
            ) from None
        self.url = parsed
        self.readonly = readonly
        try:
            if parsed.get_backend_name() == "sqlite":
                self.engine = _sqlite_engine(parsed, readonly)
            else:
                self.engine = sa.create_engine(parsed, pool_pre_ping=True)
        except NoSuchModuleError:
            raise StateError(
                f"state_url uses {parsed.drivername!r}, which is not installed here: use sqlite:// "
                "or postgresql:// (psycopg2) URLs"
            ) from None
        except ModuleNotFoundError as exc:
            raise StateError(
                f"state_url needs the Python package {exc.name!r}: install it, or use another "
                "driver"
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade and not readonly:
            self.upgrade()
        elif not readonly:
            self.check_schema()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def lock_for_dedupe(self, session: Session) -> None:
        """Serialise duplicate checks until the session's transaction ends.

        On SQLite the transaction's BEGIN IMMEDIATE already holds the write lock.
        """
        if self.dialect == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_DEDUPE})

    # ------------------------------------------------------------------ schema

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                if not sa.inspect(conn).has_table(VERSION_TABLE):
                    return None
                return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        except DatabaseError as exc:
            raise database_failure(self.describe(), exc, opening=True) from None

    @property
    def head(self) -> str:
        return head_revision()

    def check_schema(self) -> None:
        current = self.current_revision()
        if current != self.head:
            raise StateError(
                f"State database {self.describe()} is at schema {current or 'none'}, facesort "
                f"needs {self.head}: run `facesort db upgrade`."
            )

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is there already)."""
        if self.current_revision() == self.head:
            return
        from alembic import command

        cfg = _alembic_config()
        try:
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_MIGRATE})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except DatabaseError as exc:
            raise database_failure(self.describe(), exc, opening=True) from None


def database_failure(where: str, exc: DatabaseError, *, opening: bool = False) -> StateError:
    """One message for a state database that cannot be used (unreachable, gone away in
    the middle of a command, or a damaged SQLite file), naming it and the fix."""
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    detail = detail or type(exc.orig or exc).__name__
    damaged = any(words in detail for words in ("not a database", "malformed", "disk image"))
    if damaged or (where.startswith("sqlite") and not isinstance(exc, OperationalError)):
        return StateError(
            f"The state database {where} is damaged ({detail}): restore it from a backup, "
            "or move it away and run again to start a new one."
        )
    if opening:
        return StateError(
            f"Cannot use the state database {where}: {detail}. Check state_url "
            "and that the database server is running and reachable."
        )
    return StateError(
        f"Lost the state database {where} in the middle of the command: {detail}. Files "
        "in flight are finished or put back by the next command; check that the database "
        "server is running and reachable, then run the command again."
    )


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return f"sqlite:///{os.fspath(path)}"
