"""The largest copy of a picture is kept even when batches sorted in parallel split its
copies, and the dry run says the same, naming files (sorting/largest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
from test_cli_args import cli_env, facesort

from facesort.files.recovery import recover_transfers
from facesort.files.undo import undo_named_group
from facesort.sorting.batches import process_batch, scan_and_plan
from facesort.sorting.largest import keep_largest_copies
from facesort.sorting.run import new_run_id
from facesort.state import State
from facesort.state.models import MediaFile

pytestmark = pytest.mark.slow

# Sorted largest first, two to a batch: [alex, 1080p] and [720p, 480p]. The second
# batch's worker reaches the 720p copy while the first is still on alex's photo.
STAGED = ("alex_lacamoire1.jpg", "obama-1080p.jpg", "obama-720p.jpg", "obama-480p.jpg")


def split_copies(make_workspace, photos, **settings):
    settings = {"batch_size": 2, "workers": 2, **settings}
    ws = make_workspace(stage=(), extras=False, settings=settings)
    for name in STAGED:
        shutil.copyfile(photos / "incoming" / name, ws.staging / name)
    return ws


def records(ws) -> dict[str, MediaFile]:
    with State(ws.config().database_url) as state, state.session() as session:
        return {os.path.basename(m.source_path): m for m in session.scalars(sa.select(MediaFile))}


def assert_largest_kept(ws):
    files = ws.files()
    assert files["obama-1080p.jpg"] == "library/obama"
    assert files["obama-720p.jpg"] == files["obama-480p.jpg"] == "review/duplicates"
    assert files["alex_lacamoire1.jpg"] == "library/alex_lacamoire"
    assert not list(ws.staging.iterdir())
    by_name = records(ws)
    kept = by_name["obama-1080p.jpg"]
    assert kept.is_original and kept.people == ["obama"] and kept.duplicate_of_id is None
    for name in ("obama-720p.jpg", "obama-480p.jpg"):
        copy = by_name[name]
        assert not copy.is_original and copy.duplicate_of_id == kept.id
        assert str(ws.library / "obama" / "obama-1080p.jpg") in copy.reason["summary"]


def test_two_workers_keep_the_largest_copy_as_the_dry_run_says(make_workspace, photos):
    ws = split_copies(make_workspace, photos)
    dry = facesort("run", "--dry-run", "--json", "--config", ws.config_path)
    assert dry.returncode == 0, dry.stderr
    predicted = {os.path.basename(r["source"]): r for r in json.loads(dry.stdout)}
    real = facesort("run", "--json", "--config", ws.config_path, "--workers", "2")
    assert real.returncode == 0, real.stderr
    done = {os.path.basename(r["source"]): r for r in json.loads(real.stdout)}
    assert {n: r["folder"] for n, r in done.items()} == {
        n: r["folder"] for n, r in predicted.items()
    }
    assert_largest_kept(ws)
    for name in ("obama-720p.jpg", "obama-480p.jpg"):
        # Both name the kept copy by its file: where it is now, or will be.
        assert "#" not in predicted[name]["summary"] and "#" not in done[name]["summary"]
        assert f"{ws.staging}/obama-1080p.jpg " in predicted[name]["summary"]
        assert f"{ws.library}/obama/obama-1080p.jpg " in done[name]["summary"]
        assert done[name]["destination"] == str(ws.review / "duplicates" / name)


def sort_second_batch_first(ws) -> str:
    """Sort the run's batches in reverse order: the 720p copy is kept, deterministically."""
    config = ws.config()
    run_id = new_run_id("test")
    with State(config.database_url) as state:
        _, batches = scan_and_plan(state, config, run_id, actor="test", min_batches=2)
        assert len(batches) == 2
        for batch_id in reversed(batches):
            process_batch(state, config, batch_id, actor="test", group_id=run_id)
    files = ws.files()
    assert files["obama-720p.jpg"] == "library/obama"
    assert files["obama-1080p.jpg"] == "review/duplicates"
    return run_id


SWAP = """
import sys
from facesort.config import load_config
from facesort.sorting.largest import keep_largest_copies
from facesort.state import State
config = load_config(sys.argv[1])
with State(config.database_url) as state:
    keep_largest_copies(state, config, sys.argv[2], actor="test")
"""


@pytest.mark.parametrize("crash", ["journal.linked#1", "journal.linked#2"])
def test_the_swap_survives_a_crash_and_undoes_with_its_run(make_workspace, photos, crash):
    ws = split_copies(make_workspace, photos)
    run_id = sort_second_batch_first(ws)
    # Killed in the middle of the swap: the kept copy (#1) or the replaced one (#2) is
    # under two names.
    env = cli_env() | {"FACESORT_CRASH_AT": crash}
    killed = subprocess.run(
        [sys.executable, "-c", SWAP, str(ws.config_path), run_id], env=env, check=False
    )
    assert killed.returncode == -9
    config = ws.config()
    with State(config.database_url) as state:
        recover_transfers(state, lease_s=config.claim_lease_seconds, force=True)
        keep_largest_copies(state, config, run_id, actor="test")
        assert_largest_kept(ws)
        # Nothing left to do: a further call moves nothing.
        assert keep_largest_copies(state, config, run_id, actor="test") == []
        # The swap is part of the run: undoing the run puts every file back in staging.
        report = undo_named_group(state, run_id, actor="test undo", lease_s=60)
    assert sorted(p.name for p in ws.staging.iterdir()) == sorted(STAGED), report.skipped
    assert ws.files() == {}


@pytest.mark.airflow
def test_the_ingest_dag_steps_swap_too_and_log_progress(make_workspace, photos, capsys):
    from facesort.airflow import ingest
    from facesort.airflow.step import TaskRun

    ws = split_copies(make_workspace, photos)
    run = TaskRun(dag_id="facesort_ingest", run_id="manual__1", config_path=str(ws.config_path))
    batches = ingest.scan_staging(run)
    assert len(batches) == 2
    for batch_id in reversed(batches):  # as two workers may finish them
        ingest.sort_batch(run, batch_id)
    assert ws.files()["obama-720p.jpg"] == "library/obama"
    summary = ingest.where_files_went(run)
    assert_largest_kept(ws)
    assert summary["folders"] == {
        "library/alex_lacamoire": 1,
        "library/obama": 1,
        "review/duplicates": 2,
    }
    assert summary["to_library"] == 2
    assert ingest.files_sorted_into_library(summary) == 2
    logged = capsys.readouterr().out
    for batch_id in batches:  # each sort_batch task's log ends with its progress
        assert f"batch {batch_id}: 2/2 files (100%)" in logged, logged


@pytest.mark.postgres
def test_the_swap_on_postgresql(make_workspace, photos, pg_url):
    ws = split_copies(make_workspace, photos, state_url=pg_url)
    run_id = sort_second_batch_first(ws)
    config = ws.config()
    with State(config.database_url) as state:
        moved = keep_largest_copies(state, config, run_id, actor="test")
    assert {os.path.basename(r.source) for r in moved} == {
        "obama-1080p.jpg",
        "obama-720p.jpg",
        "obama-480p.jpg",
    }
    assert_largest_kept(ws)
