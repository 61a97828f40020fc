"""Many workers, one staging folder: every file is sorted exactly once.

Real photos (the fixture set), a real state database (PostgreSQL, as in the compose
deployment; SQLite too for the workers), real processes started at the same moment:

- several ``facesort run`` commands on the same staging folder (a cron job and a manual
  run, or the CLI next to the DAG);
- several workers going through the same list of claimed batches in different orders,
  as Celery workers running ``sort_batch`` tasks (and their retries) do.

"Exactly once" is checked on the disk (every staged file is in one place, none left,
none twice, nothing lost) and in the state database (one registration, one routing
decision and one finished move per file, every batch owned by one worker).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from facesort.state import State
from facesort.state.models import Batch, Event, MediaFile, Transfer

pytestmark = pytest.mark.slow

FACESORT = str(Path(sys.executable).parent / "facesort")


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def state_url(request, tmp_path):
    if request.param == "sqlite":
        return None  # the workspace's default: a SQLite file beside its config
    return request.getfixturevalue("pg_url")


def _staged_names(ws) -> list[str]:
    return sorted(p.name for p in ws.staging.iterdir())


def assert_each_file_sorted_once(ws, staged: list[str]) -> dict[int, str]:
    """Disk and database agree that every staged file was sorted exactly once."""
    assert list(ws.staging.iterdir()) == [], "files left in staging"
    placed = ws.files()  # fails if a name is in two places
    assert sorted(placed) == staged, "files lost or made up"
    assert len(ws.all_files()) == len(staged), "extra copies"
    config = ws.config()
    state = State(config.database_url)
    try:
        with state.session() as session:
            files = session.execute(sa.select(MediaFile.id, MediaFile.status)).all()
            events = session.execute(sa.select(Event.file_id, Event.action)).all()
            transfers = session.execute(
                sa.select(Transfer.file_id, Transfer.state, Transfer.owner)
            ).all()
    finally:
        state.dispose()
    assert len(files) == len(staged), "a file was registered twice"
    assert {status for _, status in files} == {"done"}
    per_action = Counter((file_id, action) for file_id, action in events)
    for file_id, _ in files:
        assert per_action[(file_id, "discovered")] == 1, file_id
        assert per_action[(file_id, "routed")] == 1, file_id
    assert not [e for e in events if e[1] in {"failed", "vanished", "changed"}], events
    done = Counter(file_id for file_id, state_, _ in transfers if state_ == "done")
    assert set(done.values()) == {1}, done
    return {file_id: owner for file_id, state_, owner in transfers if state_ == "done"}


@pytest.mark.postgres
def test_concurrent_facesort_runs_sort_each_file_once(make_workspace, pg_url):
    """Three `facesort run` commands started together on one staging folder."""
    ws = make_workspace(settings={"state_url": pg_url, "batch_size": 2, "workers": 1})
    staged = _staged_names(ws)
    # Migrate once up front, so the three runs race on files, not on the schema.
    State(pg_url).dispose()
    command = [FACESORT, "--config", str(ws.config_path), "run", "--json"]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        outputs = [run.communicate(timeout=600) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    results = [json.loads(out) for out, _ in outputs]
    sorted_by = Counter(Path(r["source"]).name for result in results for r in result)
    assert sorted(sorted_by) == staged
    assert set(sorted_by.values()) == {1}, "a file was sorted by two runs"
    assert_each_file_sorted_once(ws, staged)


def _batch_worker(config_path: str, batch_ids: list[int], index: int, start, results) -> None:
    from facesort.config import load_config
    from facesort.sorting.batches import BatchTaken, process_batch

    config = load_config(config_path)
    state = State(config.database_url)
    # Each worker starts on another batch and then tries every batch, as retried and
    # duplicated task instances would.
    order = batch_ids[index:] + batch_ids[:index]
    sorted_ids: list[int] = []
    taken = 0
    start.wait()
    try:
        for batch_id in order:
            try:
                report = process_batch(state, config, batch_id, actor=f"worker-{index}")
            except BatchTaken:
                taken += 1
                continue
            sorted_ids.extend(r.file_id for r in report.results)
        results.put((index, os.getpid(), sorted_ids, taken))
    finally:
        state.dispose()


def test_workers_sharing_batches_sort_each_file_once(make_workspace, state_url):
    """Three workers try every batch of a run at the same time (PostgreSQL and SQLite)."""
    from facesort.sorting.batches import scan_and_plan

    settings = {"batch_size": 2}
    if state_url:
        settings["state_url"] = state_url
    ws = make_workspace(settings=settings)
    staged = _staged_names(ws)
    config = ws.config()
    state = State(config.database_url)
    _, batch_ids = scan_and_plan(state, config, "run-1", actor="test")
    state.dispose()
    assert len(batch_ids) >= 6
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(3), ctx.Queue()
    workers = [
        ctx.Process(
            target=_batch_worker,
            args=(str(ws.config_path), batch_ids, i * len(batch_ids) // 3, start, results),
        )
        for i in range(3)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=600) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    everything = [file_id for _, _, ids, _ in outcomes for file_id in ids]
    assert len(everything) == len(set(everything)) == len(staged), outcomes
    busy = [pid for _, pid, ids, _ in outcomes if ids]
    assert len(busy) >= 2, f"only one worker sorted anything: {outcomes}"
    owners = assert_each_file_sorted_once(ws, staged)
    # Each file was moved by the process whose batch it was in.
    state = State(config.database_url)
    try:
        with state.session() as session:
            batches = session.execute(sa.select(Batch.id, Batch.status, Batch.owner)).all()
            batch_of = dict(session.execute(sa.select(MediaFile.id, MediaFile.batch_id)).all())
    finally:
        state.dispose()
    assert {status for _, status, _ in batches} == {"done"}
    owner_of_batch = {batch_id: owner for batch_id, _, owner in batches}
    for file_id, owner in owners.items():
        assert owner_of_batch[batch_of[file_id]] == owner, file_id
    worker_pids = {str(pid) for _, pid, _, _ in outcomes}
    assert {owner.split("/")[1] for owner in owner_of_batch.values()} <= worker_pids
