"""facesort_ingest on a real Celery deployment, with the settings of docker-compose.yaml.

The Airflow environment of the compose file's worker service (as the real Docker
Compose resolves it from .env) is used as it is, except for what only exists inside
Docker: the host names of PostgreSQL, Redis and the api-server become this machine's
servers, and the databases are fresh ones. Then the components a Celery install runs
are started as real processes (api-server, scheduler, dag-processor and a Celery worker
on Redis), the DAG is unpaused as a user would do after installing, and the test waits
for the run the scheduler then starts (catchup is off: one run, for the latest
interval of the schedule): the sorting tasks must have been executed by the Celery
worker (their results are in Celery's result backend) and the photos sorted into their
folders.

The api-server also serves the review page plugin (it answers, and asks for a sign-in).
The triggerer is not started: Immich is off in this workspace, so the deferrable sensor
finishes in its first poll and never defers. Every process is stopped at the end, also
when the test fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import paths
import pytest
import sqlalchemy as sa
from deployment import resolved, write_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.celery]

BIN = Path(sys.executable).parent
REPO = paths.REPO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _local(url: str, database: str, pg_server) -> str:
    """A compose database URL with the container host replaced by this machine's server."""
    host, port, user = pg_server
    parsed = sa.engine.make_url(url)
    assert parsed.host == "postgres", url  # what the compose file says
    return (
        parsed.set(host=host, port=port, username=user, password=None, database=database)
    ).render_as_string(hide_password=False)


@pytest.fixture
def metadata_db(make_pg_database):
    """A fresh PostgreSQL database for Airflow's metadata and Celery's results."""
    return make_pg_database("facesort_airflow")


class Processes:
    """Started in their own process groups; all stopped (group and all) at the end."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop_all
        process = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.started:
            assert process.poll() is None, f"{name} died:\n{self.tail(name)}"

    def tail(self, name: str, size: int = 4000) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-size:]

    def stop_all(self) -> None:
        for _, process in self.started:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _, process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # what is left of the group
            process.wait()
            if process.stdout:
                process.stdout.close()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _run(args: list[str], env: dict, timeout: int = 300) -> str:
    result = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_ingest_dag_runs_on_celery_with_the_compose_settings(
    make_workspace, pg_server, pg_url, metadata_db, tmp_path
):
    if not _redis_up():
        pytest.skip("needs Redis at 127.0.0.1:6379 (redis-server --daemonize yes ...)")
    compose_env = resolved(write_env(tmp_path / "test.env"))["services"]["airflow-worker"][
        "environment"
    ]
    ws = make_workspace(stage=("incoming",), settings={"state_url": pg_url})
    api_port = _free_port()
    queue = f"facesort-test-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "airflow-home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update({k: v for k, v in compose_env.items() if k.startswith("AIRFLOW__")})
    env.update(
        {
            # Only what exists inside Docker differs: hosts, ports, fresh databases.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _local(
                compose_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], metadata_db, pg_server
            ),
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + _local(
                compose_env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+"),
                metadata_db,
                pg_server,
            ),
            "AIRFLOW__CELERY__BROKER_URL": compose_env["AIRFLOW__CELERY__BROKER_URL"].replace(
                "redis://redis:", "redis://127.0.0.1:"
            ),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": compose_env[
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
            ].replace("airflow-apiserver:8080", f"127.0.0.1:{api_port}"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            # Other developers' workers share this Redis: a queue of our own.
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(_free_port()),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "FACESORT_CONFIG": str(ws.config_path),
            "FACESORT_INGEST_SCHEDULE": compose_env["FACESORT_INGEST_SCHEDULE"],
            "FACESORT_IMMICH_DEFERRABLE": compose_env["FACESORT_IMMICH_DEFERRABLE"],
        }
    )
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    airflow = str(BIN / "airflow")
    _run([airflow, "db", "migrate"], env, timeout=600)
    _run([airflow, "pools", "set", "facesort_cpu", "2", "facesort face detection"], env)
    _run([str(BIN / "facesort"), "db", "upgrade"], env)

    processes = Processes(tmp_path)
    try:
        api_server = [airflow, "api-server", "--port", str(api_port), "--workers", "1"]
        worker = [airflow, "celery", "worker", "--queues", queue, "--concurrency", "2"]
        processes.start("api-server", api_server, env)
        processes.start("scheduler", [airflow, "scheduler"], env)
        processes.start("dag-processor", [airflow, "dag-processor"], env)
        processes.start("celery-worker", [*worker, "--skip-serve-logs"], env)
        engine = sa.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        _wait(lambda: _dag_is_parsed(engine), processes, 300, "the DAG to be parsed")
        # The api-server (its health check, as in the compose file) serves the review
        # page plugin, behind Airflow's sign-in.
        base = f"http://127.0.0.1:{api_port}"
        _wait(lambda: _http_status(f"{base}/api/v2/version") == 200, processes, 300,
              "the api-server")  # fmt: skip
        assert _http_status(f"{base}/facesort/review/") == 401
        _run([airflow, "dags", "unpause", "facesort_ingest"], env)
        run_id, state = _wait(
            lambda: _run_finished(engine), processes, 600, "the scheduled run to finish"
        )
        tasks = _task_instances(engine, run_id)
        assert state == "success", f"{tasks}\n{processes.tail('celery-worker')}"
        # The tasks that ran, ran on the Celery worker of this host.
        assert {host for _, _, ti_state, host, _ in tasks if ti_state == "success"} == {
            socket.gethostname()
        }
        ran = {(task_id, map_index): (ti_state, executor_queue)
               for task_id, map_index, ti_state, _, executor_queue in tasks}  # fmt: skip
        assert ran[("sort_batch", 0)] == ("success", queue)
        assert all(s in {"success", "skipped"} for s, _ in ran.values()), ran
        # Each task instance that ran was a Celery task, and all of them succeeded (the
        # worker records a result just after the task has reported to Airflow).
        ran_count = len([t for t in ran.values() if t[0] == "success"])
        results = _wait(
            lambda: _celery_results_if_settled(engine, ran_count),
            processes,
            60,
            "Celery's results",
        )
        assert set(results) == {"SUCCESS"}, results
        engine.dispose()
    finally:
        processes.stop_all()
    files = ws.files()
    assert files["obama1.jpg"] == "library/obama"
    assert files["two_people.jpg"] == "review/multiple_faces"
    assert files["truncated.jpg"] == "review/unreadable"
    assert not list(ws.staging.iterdir())


def _wait(check, processes: Processes, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        value = check()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(
        f"timed out waiting for {what}\n"
        + "\n".join(f"--- {n}\n{processes.tail(n)}" for n, _ in processes.started)
    )


def _http_status(url: str) -> int | None:
    """The HTTP status of a GET, None while nothing listens."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError:
        return None


def _celery_results_if_settled(engine, count: int) -> list[str] | None:
    with engine.connect() as conn:
        results = conn.execute(sa.text("SELECT status FROM celery_taskmeta")).scalars().all()
    settled = len(results) >= count and not {"PENDING", "STARTED"} & set(results)
    return results if settled else None


def _dag_is_parsed(engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text("SELECT 1 FROM serialized_dag WHERE dag_id = 'facesort_ingest'")
            ).first()
        )


def _run_finished(engine) -> tuple[str, str] | None:
    """(run id, state) of the DAG's first run once it has finished."""
    with engine.connect() as conn:
        run = conn.execute(
            sa.text(
                "SELECT run_id, state FROM dag_run WHERE dag_id = 'facesort_ingest' "
                "ORDER BY id LIMIT 1"
            )
        ).first()
    return (run.run_id, run.state) if run and run.state in {"success", "failed"} else None


def _task_instances(engine, run_id: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT task_id, map_index, state, hostname, queue FROM task_instance "
                "WHERE run_id = :run_id ORDER BY task_id, map_index"
            ),
            {"run_id": run_id},
        ).all()
