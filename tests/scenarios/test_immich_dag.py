"""``dag.test()`` of facesort_ingest against the Immich double: the scan is queued, the
sensor defers to its trigger and resumes, names are read, the rest is matched locally,
every file is routed; and the same with Immich unreachable (local fallback, success)."""

from __future__ import annotations

import json
import socket

import pytest
import sqlalchemy as sa
from conftest import REPO, configure_immich

from facesort.state import State
from facesort.state.models import ImmichFile

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _dag(monkeypatch, config_path, api_port: int, key: str = "test-api-key"):
    monkeypatch.setenv("FACESORT_CONFIG", str(config_path))
    # The Airflow connection wins over immich.url in the YAML (which points nowhere).
    monkeypatch.setenv(
        "AIRFLOW_CONN_IMMICH_API",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": api_port, "password": key}),
    )
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("facesort_ingest")


def _task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def _xcom(dag_run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        value = session.scalar(
            sa.select(XComModel.value).where(
                XComModel.dag_id == dag_run.dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        )
    return json.loads(value) if isinstance(value, str) else value


def test_ingest_dag_uses_immich_with_a_deferred_sensor(
    airflow_db, make_workspace, immich_double, monkeypatch
):
    ws = make_workspace(stage=("incoming",), extras=False)
    double = immich_double(ws)
    configure_immich(ws, "http://immich.invalid:2283")
    dag = _dag(monkeypatch, ws.config_path, double.port)

    dag_run = dag.test()

    states = _task_states(dag_run)
    assert dag_run.state == "success", states
    assert states["wait_for_immich"] == "success"
    waited = _xcom(dag_run, "wait_for_immich")
    assert waited["outcome"] == "ready" and waited["resumed_after_deferral"] is True
    assert waited["trigger_polls"] >= 2
    files = ws.files()
    assert not list(ws.staging.iterdir())  # every file routed
    assert files["lin-manuel-miranda.png"] == "library/lin-manuel-miranda"  # Immich's name
    assert files["johnsnow_test1.jpg"] == "library/kit_harington"  # unnamed -> local
    assert files["obama1.jpg"] == "library/obama"
    state = State(ws.config().database_url)
    try:
        with state.session() as session:
            statuses = dict(
                session.execute(
                    sa.select(ImmichFile.status, sa.func.count()).group_by(ImmichFile.status)
                ).all()
            )
    finally:
        state.dispose()
    assert statuses == {"faces": 8, "no_face": 5}
    scans = [e for e in double.exchanges if e.path.endswith("/scan")]
    assert len(scans) == 3  # the staging library before; staging and library after routing
    assert not double.violations


def test_ingest_dag_with_immich_unreachable_sorts_locally_and_succeeds(
    airflow_db, make_workspace, monkeypatch
):
    ws = make_workspace(stage=("incoming",), extras=False)
    configure_immich(ws, "http://immich.invalid:2283")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    dag = _dag(monkeypatch, ws.config_path, closed)

    dag_run = dag.test()

    states = _task_states(dag_run)
    assert dag_run.state == "success", states
    assert _xcom(dag_run, "immich_scan")["status"] == "unavailable"
    assert not list(ws.staging.iterdir())
    files = ws.files()
    assert files["obama1.jpg"] == "library/obama"
    assert files["lin-manuel-miranda.png"] == "review/unidentified"


def test_ingest_dag_with_a_wrong_key_succeeds_and_says_what_to_fix(
    airflow_db, make_workspace, immich_double, monkeypatch
):
    ws = make_workspace(stage=("incoming",), extras=False)
    double = immich_double(ws)
    configure_immich(ws, "http://127.0.0.1:9")
    dag = _dag(monkeypatch, ws.config_path, double.port, key="revoked-key")

    run = dag.test()

    states = _task_states(run)
    assert run.state == "success", states
    assert states["check_immich"] == "skipped"  # the warning, visible in the grid
    assert not list(ws.staging.iterdir())  # every file sorted locally
    assert ws.files()["obama1.jpg"] == "library/obama"
    assert not [e for e in double.exchanges if "scan" in e.path]  # nothing written to Immich
