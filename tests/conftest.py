"""Shared fixtures: sample workspaces, PostgreSQL databases, an isolated Airflow home.

Airflow reads its settings at import time, so the environment is set here, before any
test module imports it: a throw-away AIRFLOW_HOME with SQLite metadata, this repo's
dags/ and plugins/, no example DAGs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paths
import pytest
from workspace import Workspace

REPO = paths.REPO
PHOTOS = paths.PHOTOS

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="facesort-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
os.environ.pop("FACESORT_CONFIG", None)
os.environ.pop("FACESORT_INGEST_SCHEDULE", None)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


# --------------------------------------------------------------------------- photos


@pytest.fixture(scope="session")
def photos() -> Path:
    """The bundled photos (read-only: tests copy what they move)."""
    return PHOTOS


@pytest.fixture
def make_workspace(tmp_path, photos):
    """Factory: a workspace with staged copies of the bundled photos."""
    from facesort.sample import build_workspace

    def make(stage=("incoming", "edge"), extras=True, settings=None, name="ws") -> Workspace:
        root = tmp_path / name
        build_workspace(root, photos, stage=tuple(stage), extras=extras, settings=settings or {})
        return Workspace(root)

    return make


# --------------------------------------------------------------------------- PostgreSQL

PG_HOST = os.environ.get("FACESORT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("FACESORT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("FACESORT_TEST_PG_USER", "postgres")


def _pg_connects(host: str, port: int, user: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(
            host=host, port=port, user=user, dbname="postgres", connect_timeout=3
        ).close()
        return True
    except psycopg2.OperationalError:
        return False


def _start_cluster() -> str | None:
    """Start the machine's cluster (Debian's pg_ctlcluster); None if that worked."""
    if not Path("/etc/postgresql").is_dir() or not shutil.which("pg_ctlcluster"):
        return "no Debian PostgreSQL cluster on this machine"
    for version in sorted(os.listdir("/etc/postgresql")):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            check=False,
        )
    for _ in range(30):
        if _pg_connects(PG_HOST, PG_PORT, PG_USER):
            return None
        time.sleep(0.5)
    return "pg_ctlcluster could not start the cluster"


def _private_server(tmp: Path) -> tuple[str, int, str] | str:
    """initdb + pg_ctl a throw-away server on a free port: (host, port, user) or why not."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        return "no initdb found (install the Debian package postgresql)"
    bindir = binaries[-1].parent
    data = tmp / "pgdata"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    prefix: list[str] = []
    user = PG_USER
    if os.getuid() == 0:
        # initdb refuses to run as root: run the server as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"]
        tmp.chmod(0o777)
    else:
        import getpass

        user = getpass.getuser()
    init = subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", user],
        capture_output=True,
        check=False,
    )
    if init.returncode:
        return f"initdb failed: {init.stderr.decode(errors='replace')[-300:]}"
    start = subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(tmp / "pg.log"),
         "-o", f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1", "start"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    if start.returncode:
        return f"pg_ctl start failed: {start.stderr.decode(errors='replace')[-300:]}"
    return ("127.0.0.1", port, user)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """(host, port, user) of a PostgreSQL server for tests, started if need be.

    pytest-xdist's processes share the machine's cluster: one at a time checks for it and
    starts it (the lock file is beside this process's temporary folder, in the run's own
    folder that all of them share); a private server is each process's own."""
    if _pg_connects(PG_HOST, PG_PORT, PG_USER):
        yield (PG_HOST, PG_PORT, PG_USER)
        return
    with (tmp_path_factory.getbasetemp().parent / "facesort-pg-start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        why_not_cluster = None if _pg_connects(PG_HOST, PG_PORT, PG_USER) else _start_cluster()
    if why_not_cluster is None:
        yield (PG_HOST, PG_PORT, PG_USER)
        return
    tmp = tmp_path_factory.mktemp("postgres")
    server = _private_server(tmp)
    if isinstance(server, str):
        pytest.skip(
            f"PostgreSQL tests need a server: none at {PG_HOST}:{PG_PORT}; {why_not_cluster}; "
            f"and a private one could not be started: {server}"
        )
    yield server
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    stop = [*prefix, str(binaries[-1]), "-D", str(tmp / "pgdata"), "-m", "immediate", "stop"]
    subprocess.run(stop, capture_output=True, check=False)


@pytest.fixture
def make_pg_database(pg_server):
    """Factory: a fresh, empty PostgreSQL database named ``<prefix>_<random>`` (its name);
    all of them are dropped afterwards."""
    import psycopg2

    host, port, user = pg_server
    admin = psycopg2.connect(host=host, port=port, user=user, dbname="postgres")
    admin.autocommit = True
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return name

    yield make
    with admin.cursor() as cur:
        for name in made:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture
def pg_url(pg_server, make_pg_database):
    """A fresh, empty PostgreSQL database (dropped afterwards) as a SQLAlchemy URL."""
    host, port, user = pg_server
    return f"postgresql+psycopg2://{user}@{host}:{port}/{make_pg_database('facesort_test')}"


# --------------------------------------------------------------------------- Airflow


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata database (SQLite in the throw-away AIRFLOW_HOME), migrated once."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return _AIRFLOW_HOME


@pytest.fixture
def facesort_cli(capsys):
    """Run the facesort command in-process: returns (exit code, stdout, stderr)."""
    from facesort.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


# --------------------------------------------------------------------------- Immich

# Where Immich's container sees the workspace in tests (host paths differ).
IMMICH_STAGING = "/mnt/downloads"
IMMICH_PHOTOS = "/mnt/photos"


def immich_settings(url: str, **overrides) -> dict:
    """An ``immich:`` config section for a workspace, with test-sized waits."""
    settings = {
        "url": url,
        "api_key": "${FACESORT_TEST_IMMICH_KEY:-test-api-key}",
        "request_timeout_seconds": 5,
        "retries": 2,
        "retry_backoff_seconds": 0.01,
        "wait": {"poll_seconds": 0.05, "max_wait_seconds": 20, "quiet_polls": 2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = {**settings[key], **value}
        else:
            settings[key] = value
    return settings


@pytest.fixture
def immich_double():
    """Factory: a started Immich double whose container paths map onto a workspace."""
    from immich_double import ImmichDouble

    started = []

    def make(ws: Workspace, *, flavour="v1", exclude=(), **kwargs) -> ImmichDouble:
        double = ImmichDouble(
            flavour=flavour,
            mounts={IMMICH_STAGING: ws.staging, IMMICH_PHOTOS: ws.root},
            **kwargs,
        )
        double.add_library([IMMICH_STAGING], exclusion_patterns=list(exclude))
        double.add_library([f"{IMMICH_PHOTOS}/library"])
        started.append(double.start())
        return double

    yield make
    for double in started:
        double.stop()


def configure_immich(ws: Workspace, url: str, **overrides) -> None:
    """Point the workspace's config at an Immich (double) at ``url``."""
    import yaml

    raw = yaml.safe_load(ws.config_path.read_text())
    raw["immich"] = immich_settings(
        url,
        path_map={str(ws.staging): IMMICH_STAGING, str(ws.root): IMMICH_PHOTOS},
        **overrides,
    )
    ws.config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
