"""DAG integrity, and end-to-end runs of the DAGs with dag.test()."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import configure_immich

from facesort.config import DEFAULT_INGEST_SCHEDULE

pytestmark = pytest.mark.airflow

REPO_DAGS = __import__("conftest").REPO / "dags"


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(REPO_DAGS))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "facesort_ingest" in dagbag.dags


def test_every_dag_is_documented_tagged_and_does_not_catch_up(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert "facesort" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.catchup is False, dag_id
        for task in dag.tasks:
            assert task.retries >= 1 or task.task_id.startswith("announce"), (dag_id, task.task_id)


def test_ingest_dag_shape(dagbag):
    dag = dagbag.get_dag("facesort_ingest")
    assert dag.max_active_runs == 1
    assert dag.schedule == DEFAULT_INGEST_SCHEDULE
    tasks = {t.task_id: t for t in dag.tasks}
    assert tasks["sort_batch"].pool == "facesort_cpu"
    assert tasks["sort_batch"].retry_exponential_backoff
    # Sorting starts once staging is scanned and Immich's names (if any) are read.
    assert {t.task_id for t in tasks["sort_batch"].upstream_list} == {
        "scan_staging",
        "read_immich_names",
    }
    assert "facesort_review_queue" in {o.name for o in tasks["announce_review_queue"].outlets}
    assert [o.name for o in tasks["announce_library"].outlets] == ["facesort_library"]
    assert not tasks["summarize"].outlets  # it always succeeds: it must not announce


@pytest.mark.parametrize("dag_file", sorted(p.name for p in REPO_DAGS.glob("*.py")))
def test_dag_files_import_nothing_heavy_at_parse_time(dag_file):
    probe = (
        "import sys, json, runpy\n"
        f"runpy.run_path({str(REPO_DAGS / dag_file)!r})\n"
        "heavy = ['face_recognition', 'dlib', 'numpy', 'PIL', 'pandas', 'sklearn', 'cv2',\n"
        "         'matplotlib']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.slow
def test_ingest_dag_sorts_the_staging_folder(dagbag, make_workspace, monkeypatch, capfd):
    ws = make_workspace(stage=("incoming",))
    monkeypatch.setenv("FACESORT_CONFIG", str(ws.config_path))
    run = dagbag.get_dag("facesort_ingest").test()
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert states[("sort_batch", 0)] == "success"
    assert states[("announce_review_queue", -1)] == "success"
    # The Grid names each mapped sort_batch by its batch.
    (sorted_batch,) = [ti for ti in run.get_task_instances() if ti.task_id == "sort_batch"]
    assert sorted_batch.rendered_map_index == "batch 1"
    files = ws.files()
    assert files["obama1.jpg"] == "library/obama"
    assert files["johnsnow_test1.jpg"] == "library/kit_harington"
    assert files["two_people.jpg"] == "review/multiple_faces"
    assert files["lin-manuel-miranda.png"] == "review/unidentified"
    assert files["truncated.jpg"] == "review/unreadable"
    assert not list(ws.staging.iterdir())
    assert library_events(run.run_id) == 1  # files reached the library: announced once
    # sort_batch's progress, in its task log: at least the last line of the batch.
    logged = capfd.readouterr().out
    assert re.search(r"batch 1: (\d+)/\1 files \(100%\), .* done in ", logged), [
        line for line in logged.splitlines() if "batch" in line
    ]

    # The next run finds nothing new: no batch, nothing queued, still a success.
    again = dagbag.get_dag("facesort_ingest").test()
    states = {(ti.task_id, ti.map_index): ti.state for ti in again.get_task_instances()}
    assert again.state == "success", states
    assert states[("announce_review_queue", -1)] == "skipped"
    assert states[("announce_library", -1)] == "skipped"
    assert library_events(again.run_id) == 0  # nothing sorted: no facesort_library event


def library_events(run_id: str) -> int:
    """facesort_library asset events the ingest run recorded in Airflow's database."""
    import sqlalchemy as sa
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.scalar(
            sa.select(sa.func.count())
            .select_from(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == "facesort_library", AssetEvent.source_run_id == run_id)
        )


def test_a_bad_config_fails_at_once_without_retries(dagbag, tmp_path, monkeypatch):
    monkeypatch.setenv("FACESORT_CONFIG", str(tmp_path / "missing.yaml"))
    run = dagbag.get_dag("facesort_ingest").test()
    assert run.state == "failed"
    (recover,) = [ti for ti in run.get_task_instances() if ti.task_id == "recover_interrupted"]
    assert recover.state == "failed" and recover.try_number == 1


def test_immich_hook_reads_the_connections_the_config_names(make_workspace, monkeypatch):
    from facesort.airflow.hooks import ImmichHook, endpoint_with_connections

    hook = ImmichHook()
    # Like Airflow's own hooks: conn_name_attr names the attribute holding the id.
    assert getattr(hook, hook.conn_name_attr) == hook.default_conn_name == "immich_api"
    assert getattr(hook, hook.db_conn_name_attr) == hook.default_db_conn_name == "immich_db"

    ws = make_workspace(extras=False)
    configure_immich(ws, "http://immich.invalid:2283", api_conn_id="my_immich")
    monkeypatch.setenv(
        "AIRFLOW_CONN_MY_IMMICH",
        json.dumps({"conn_type": "http", "host": "photos.lan", "port": 2300, "password": "k"}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_IMMICH_DB",
        json.dumps({"conn_type": "postgres", "host": "db.lan", "login": "reader"}),
    )
    config = ws.config()
    assert ImmichHook.from_config(config).api_conn_id == "my_immich"
    endpoint = endpoint_with_connections(config)
    assert endpoint.base_url == "http://photos.lan:2300" and endpoint.api_key == "k"
    assert endpoint.api_source == "the Airflow connection my_immich (password)"
    assert endpoint.db_url == "postgresql+psycopg2://reader@db.lan:5432/immich"
    assert endpoint.db_source == "the Airflow connection immich_db"
