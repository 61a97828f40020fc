"""Every command and task that moves a file, killed (SIGKILL) and retried (issue 12).

Each test sorts a small workspace, then runs one command killed at a crash point
(``FACESORT_CRASH_AT``: with the file under both names by default), then the same
command again, as anyone does after a crash, then ``facesort run``. Afterwards every
file exists exactly once by content, none has a second name, no journal entry is open,
the database agrees with the disk, and undoing the action undoes exactly that action.

The Airflow tasks (``sort_batch``, the re-sort's ``apply``, the nightly ``recheck``)
are run as an Airflow worker runs them: the task function in a fresh process, killed,
then the same call again (Airflow's retry).

``make test`` kills each command at one point; ``make crash-test`` sets
FACESORT_LIFECYCLE_CRASH_POINTS=all and kills each at every point it passes.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter

import paths
import pytest
from lifecycle import (
    MOVE_POINTS,
    assert_lifecycle_holds,
    crash_points,
    digest,
    file_id,
    make_space,
    no_numbered_names,
    records,
    run_python,
    task_result,
)

pytestmark = pytest.mark.slow

# obama has no reference photos at first: his photo waits in review/unidentified.
QUEUED = {"obama1.jpg": "incoming/obama1.jpg"}
UNIDENTIFIED = "review/unidentified"
OTHER_POINTS = MOVE_POINTS[:1] + MOVE_POINTS[2:]


def _queue(tmp_path, photos, staged=None, **settings):
    space = make_space(tmp_path / "ws", photos, staged or QUEUED, people=("biden",), **settings)
    space.run()
    return space


def _crash_and_retry(space, args, crash_at, *, retry_ok=(0,)):
    crashed = space.facesort(*args, crash_at=crash_at)
    assert crashed.returncode == -9, f"not killed at {crash_at}: {crashed.stdout}{crashed.stderr}"
    retried = space.facesort(*args)
    assert retried.returncode in retry_ok, retried.stdout + retried.stderr
    return retried


def _finish(space, expected: Counter) -> None:
    space.run()
    assert_lifecycle_holds(space, expected)
    no_numbered_names(space)


def _where(space, name: str) -> str:
    return space.where()[name]


def _undo_last_review_action(space) -> None:
    undone = space.facesort("review", "undo", "--last", "1")
    assert undone.returncode == 0, undone.stdout + undone.stderr


def _finish_then_undo(space, expected, name, moved_to, back_to, undo=None) -> None:
    """After the retry: the next run, ``name`` where the action put it; then the action
    undone (``undo``: a group; default the last review action): ``name`` is back, and
    every file is still there once."""
    _finish(space, expected)
    assert _where(space, name) == moved_to
    if undo is None:
        _undo_last_review_action(space)
    else:
        assert space.facesort("undo", undo).returncode == 0
    assert _where(space, name) == back_to
    assert_lifecycle_holds(space, expected)


# --------------------------------------------------------------------- review actions


# A review action on the one file queued in ``folder``: (staged, folder, the command before
# the file's id, where the action puts the file).
REVIEW_ACTIONS = [
    pytest.param(QUEUED, "review/unidentified", ("approve", "obama"), "library/obama",
                 id="approve"),
    pytest.param(QUEUED, "review/unidentified", ("reject",), "trash", id="reject"),
    pytest.param({**QUEUED, "obama1 again.jpg": "incoming/obama1.jpg"}, "review/duplicates",
                 ("not-duplicate",), "review/unidentified", id="not-duplicate"),
]  # fmt: skip


@pytest.mark.parametrize(("staged", "folder", "command", "moved_to"), REVIEW_ACTIONS)
@pytest.mark.parametrize("crash_at", crash_points("journal.linked#1", *OTHER_POINTS))
def test_review_action_killed_and_retried(
    tmp_path, photos, staged, folder, command, moved_to, crash_at
):
    space = _queue(tmp_path, photos, staged)
    expected = space.contents()
    (name,) = [name for name, where in space.where().items() if where == folder]
    _crash_and_retry(space, ["review", *command, file_id(space, name)], crash_at)
    _finish_then_undo(space, expected, name, moved_to, back_to=folder)


@pytest.mark.parametrize("crash_at", crash_points("journal.linked#1", *OTHER_POINTS))
def test_review_undo_killed_and_retried(tmp_path, photos, crash_at):
    space = _queue(tmp_path, photos)
    expected = space.contents()
    approved = space.facesort("review", "approve", "obama", file_id(space, "obama1.jpg"))
    assert approved.returncode == 0, approved.stderr
    _crash_and_retry(space, ["review", "undo", "--last", "1"], crash_at)
    _finish(space, expected)
    assert _where(space, "obama1.jpg") == "review/unidentified"
    # Exactly the approval was undone: nothing is left to undo.
    again = space.facesort("review", "undo", "--last", "1")
    assert again.returncode == 2 and "no review action to undo" in again.stderr


@pytest.mark.parametrize(
    "crash_at", crash_points("journal.linked#2", "journal.linked#1", "journal.done#3")
)
def test_review_name_cluster_killed_and_retried(tmp_path, photos, crash_at):
    staged = {**QUEUED, "obama3.jpg": "edge/obama3.jpg"}
    space = _queue(tmp_path, photos, staged, settings={"review": {"cluster_min_faces": 2}})
    expected = space.contents()
    assert space.facesort("review", "recluster").returncode == 0
    listed = space.facesort("review", "clusters", "--json")
    (cluster,) = json.loads(listed.stdout)
    _crash_and_retry(space, ["review", "name-cluster", cluster["id"], "obama"], crash_at)
    _finish(space, expected)
    assert _where(space, "obama1.jpg") == _where(space, "obama3.jpg") == "library/obama"
    crops = Counter(digest(p) for p in (space.references / "obama").iterdir())
    assert len(crops) == 2 and set(crops.values()) == {1}, "a reference crop twice"
    _undo_last_review_action(space)
    assert _where(space, "obama1.jpg") == _where(space, "obama3.jpg") == "review/unidentified"
    assert not (space.references / "obama").exists()  # emptied by the undo: removed
    assert_lifecycle_holds(space, expected)


def test_approve_with_reference_killed_before_it_is_recorded_is_what_undo_undoes(tmp_path, photos):
    """Item 2: killed after the reference copy and the move, before the action row: the
    next `review undo --last 1` must undo this approval, not the action before it."""
    space = _queue(tmp_path, photos, {**QUEUED, "kit.jpg": "incoming/johnsnow_test1.jpg"})
    expected = space.contents()
    rejected = space.facesort("review", "reject", file_id(space, "kit.jpg"))
    assert rejected.returncode == 0, rejected.stderr
    photo = file_id(space, "obama1.jpg")
    args = ["review", "approve", "obama", photo, "--add-reference"]
    # done#1: the face's crop is a reference photo; done#2: the photo is in the library.
    assert space.facesort(*args, crash_at="journal.done#2").returncode == -9
    assert _where(space, "obama1.jpg") == "library/obama"
    _undo_last_review_action(space)
    assert _where(space, "obama1.jpg") == "review/unidentified"
    assert _where(space, "kit.jpg") == "trash", "the reject before it was undone instead"
    assert not (space.references / "obama").exists()  # emptied by the undo: removed
    _finish(space, expected)


# --------------------------------------------------------------------- undo, re-sort


@pytest.mark.parametrize("crash_at", crash_points("journal.linked#1", *OTHER_POINTS))
def test_facesort_undo_of_a_run_killed_and_retried(tmp_path, photos, crash_at):
    staged = {**QUEUED, "kit.jpg": "incoming/johnsnow_test1.jpg"}
    space = make_space(tmp_path / "ws", photos, staged, people=("obama",))
    space.run()
    expected = space.contents()
    (group,) = json.loads(space.facesort("undo", "--json").stdout)
    _crash_and_retry(space, ["undo", group["group_id"]], crash_at)
    # The undo put the files back in staging, each once, and nothing anywhere else.
    assert sorted(space.where().items()) == [("kit.jpg", "staging"), ("obama1.jpg", "staging")]
    _finish(space, expected)  # ... and the next run sorts them again
    assert _where(space, "obama1.jpg") == "library/obama"
    assert _where(space, "kit.jpg") == "review/unidentified"


def _obama_known_again(space, photos) -> None:
    shutil.copytree(photos / "known" / "obama", space.references / "obama")


@pytest.mark.parametrize("crash_at", crash_points("journal.linked#1", *OTHER_POINTS))
def test_resort_apply_killed_and_retried(tmp_path, photos, crash_at):
    space = _queue(tmp_path, photos)
    expected = space.contents()
    _obama_known_again(space, photos)
    retried = _crash_and_retry(space, ["resort", "review", "--apply"], crash_at)
    group = retried.stdout.split("Undo it with: facesort undo ")[-1].split()[0]
    _finish_then_undo(space, expected, "obama1.jpg", "library/obama", UNIDENTIFIED, group)


@pytest.mark.parametrize("crash_at", crash_points("references.copied#1", "references.added#1"))
def test_references_add_killed_and_retried(tmp_path, photos, crash_at):
    space = make_space(tmp_path / "ws", photos, {}, people=("obama",))
    new = tmp_path / "obama-720p.jpg"
    shutil.copyfile(photos / "incoming" / "obama-720p.jpg", new)
    before = Counter(digest(p) for p in (space.references / "obama").iterdir())
    _crash_and_retry(space, ["references", "add", "obama", new], crash_at)
    after = Counter(digest(p) for p in (space.references / "obama").iterdir())
    assert after - before == Counter({digest(new): 1}), "the photo is not there exactly once"
    assert not [p for p in (space.references / "obama").iterdir() if p.name.startswith(".")]


# --------------------------------------------------------------------- Airflow tasks

INGEST = {"dag_id": "facesort_ingest", "run_id": "scheduled__lifecycle"}


@pytest.mark.parametrize("crash_at", crash_points("journal.linked#1", *OTHER_POINTS))
def test_sort_batch_killed_and_retried_by_airflow(tmp_path, photos, crash_at):
    staged = {**QUEUED, "kit.jpg": "incoming/johnsnow_test1.jpg"}
    space = make_space(tmp_path / "ws", photos, staged, people=("obama",))
    expected = space.contents()
    (batch,) = task_result(space.task("ingest", "step.scan_staging(run)", **INGEST))
    call = f"step.sort_batch(run, {batch})"
    assert space.task("ingest", call, crash_at=crash_at, **INGEST).returncode == -9
    task_result(space.task("ingest", call, **INGEST))  # Airflow's retry of the task
    assert _where(space, "obama1.jpg") == "library/obama"
    assert _where(space, "kit.jpg") == "review/unidentified"
    _finish(space, expected)
    assert "review/duplicates" not in space.where().values()


@pytest.mark.parametrize("crash_at", crash_points("journal.linked#1", *OTHER_POINTS))
def test_resort_apply_task_killed_and_retried_by_airflow(tmp_path, photos, crash_at):
    space = _queue(tmp_path, photos)
    expected = space.contents()
    _obama_known_again(space, photos)
    resort = {
        "dag_id": "facesort_resort",
        "run_id": "manual__lifecycle",
        "params": {"scope": "review", "dry_run": False},
    }
    planned = task_result(space.task("resort", "step.plan(run)", **resort))
    call = f"step.apply(run, {planned!r})"
    assert space.task("resort", call, crash_at=crash_at, **resort).returncode == -9
    applied = task_result(space.task("resort", call, **resort))
    assert applied["group_id"] == "manual__lifecycle"
    _finish_then_undo(
        space, expected, "obama1.jpg", "library/obama", UNIDENTIFIED, "manual__lifecycle"
    )


@pytest.mark.parametrize("crash_at", crash_points("journal.linked#1", *OTHER_POINTS))
def test_recheck_task_killed_and_retried_by_airflow(tmp_path, photos, crash_at):
    space = _queue(tmp_path, photos)
    expected = space.contents()
    _obama_known_again(space, photos)
    recluster = {"dag_id": "facesort_recluster", "run_id": "scheduled__lifecycle"}
    call = "step.recheck_review_queue(run)"
    assert space.task("recluster", call, crash_at=crash_at, **recluster).returncode == -9
    task_result(space.task("recluster", call, **recluster))
    _finish_then_undo(space, expected, "obama1.jpg", "library/obama", UNIDENTIFIED)


def test_the_workspace_helpers_see_a_second_name(tmp_path, photos):
    """The checks above can fail: a hard link under a second name is caught."""
    space = _queue(tmp_path, photos)
    expected = space.contents()
    assert_lifecycle_holds(space, expected)
    (photo,) = [m.current_path for m in records(space)]
    import os

    os.link(photo, photo.replace("obama1.jpg", "obama1 (1).jpg"))
    with pytest.raises(AssertionError, match="files by content differ"):
        assert_lifecycle_holds(space, expected)
    with pytest.raises(AssertionError, match="a second name was made"):
        no_numbered_names(space)


def test_references_add_on_a_full_disk_leaves_no_partial_photo(tmp_path, photos):
    """A write that fails halfway (here: a file size limit, as a full disk would) leaves
    neither part of the photo under its real name nor a temporary file; one message."""
    space = make_space(tmp_path / "ws", photos, {}, people=("obama",))
    new = tmp_path / "obama-720p.jpg"
    shutil.copyfile(photos / "incoming" / "obama-720p.jpg", new)
    before = sorted(p.name for p in (space.references / "obama").iterdir())
    limit = ["prlimit", f"--fsize={new.stat().st_size // 2}"]
    failed = space.facesort("references", "add", "obama", new, prefix=limit)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr and "Nothing was added" in failed.stderr
    assert sorted(p.name for p in (space.references / "obama").iterdir()) == before


@pytest.mark.airflow
def test_ingest_dag_with_its_worker_killed_while_linking(tmp_path, photos, airflow_db):
    """dag.test() runs the tasks in its own process: killed with a file under both names
    (a worker OOM-killed mid-move), then the DAG runs again: every file once."""
    staged = {**QUEUED, "kit.jpg": "incoming/johnsnow_test1.jpg"}
    space = make_space(tmp_path / "ws", photos, staged, people=("obama",))
    expected = space.contents()
    code = (
        "import sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "run = DagBag(sys.argv[1]).get_dag('facesort_ingest').test()\n"
        "print('dag run', run.state)\n"
    )
    dags = str(paths.DAGS)
    env = {"FACESORT_CONFIG": str(space.config_path)}
    killed = run_python(code, dags, env=env, crash_at="journal.linked#1")
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-3000:]
    again = run_python(code, dags, env=env)
    assert "dag run success" in again.stdout, again.stdout[-2000:] + again.stderr[-3000:]
    assert _where(space, "obama1.jpg") == "library/obama"
    assert _where(space, "kit.jpg") == "review/unidentified"
    assert_lifecycle_holds(space, expected)
    no_numbered_names(space)
