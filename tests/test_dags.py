"""DAG integrity, and end-to-end runs of the DAGs with dag.test()."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
def test_ingest_dag_sorts_the_staging_folder(dagbag, make_workspace, monkeypatch):
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

    # The next run finds nothing new: no batch, nothing queued, still a success.
    again = dagbag.get_dag("facesort_ingest").test()
    states = {(ti.task_id, ti.map_index): ti.state for ti in again.get_task_instances()}
    assert again.state == "success", states
    assert states[("announce_review_queue", -1)] == "skipped"


def test_a_bad_config_fails_at_once_without_retries(dagbag, tmp_path, monkeypatch):
    monkeypatch.setenv("FACESORT_CONFIG", str(tmp_path / "missing.yaml"))
    run = dagbag.get_dag("facesort_ingest").test()
    assert run.state == "failed"
    (recover,) = [ti for ti in run.get_task_instances() if ti.task_id == "recover_interrupted"]
    assert recover.state == "failed" and recover.try_number == 1
