"""A problem with the reference photos is one error of the run, never a failure of the
photos being sorted (issue 12, item 4).

Before: folders ``obama`` and ``Obama``, or a reference folder facesort may not read,
failed every photo of the run; after ``limits.max_attempts`` runs good photos of other
people were in review/unreadable. A missing references folder (an unmounted share)
silently sent every known person to review/unidentified.
"""

from __future__ import annotations

import shutil

import pytest
from lifecycle import make_space, records, task_result, without_dac_override

pytestmark = pytest.mark.slow

STAGED = {"obama1.jpg": "incoming/obama1.jpg", "kit.jpg": "incoming/johnsnow_test1.jpg"}


@pytest.fixture
def space(tmp_path, photos):
    # One attempt is enough to show a photo would be given up on.
    return make_space(tmp_path / "ws", photos, STAGED, settings={"limits": {"max_attempts": 1}})


def _assert_nothing_sorted_or_counted(space) -> None:
    assert sorted(p.name for p in space.staging.iterdir()) == sorted(STAGED)
    assert not (space.review / "unreadable").exists()
    assert not space.library.exists()
    files = records(space)
    assert len(files) == len(STAGED)
    assert {m.status for m in files} == {"pending"}
    assert {m.attempts for m in files} == {0}


def test_two_folders_for_one_person_stop_the_run_once(space, photos):
    shutil.copytree(photos / "known" / "obama", space.references / "Obama")
    for _ in range(2):
        failed = space.facesort("run", "--workers", "1")
        assert failed.returncode == 2, failed.stdout + failed.stderr
        assert "Traceback" not in failed.stderr
        assert failed.stderr.count("facesort:") == 1
        assert "'Obama' and 'obama'" in failed.stderr or "'obama' and 'Obama'" in failed.stderr
        assert "merge them into one folder or rename one" in failed.stderr
        _assert_nothing_sorted_or_counted(space)
    shutil.rmtree(space.references / "Obama")
    space.run()
    assert (space.library / "obama" / "obama1.jpg").is_file()


def test_an_unreadable_reference_folder_stops_the_run_once(space):
    (space.references / "biden").chmod(0o000)
    try:
        failed = space.facesort("run", "--workers", "1", prefix=without_dac_override())
        assert failed.returncode == 2, failed.stdout + failed.stderr
        assert "Traceback" not in failed.stderr
        assert f"{space.references / 'biden'} cannot be read" in failed.stderr
        assert "read access" in failed.stderr
        _assert_nothing_sorted_or_counted(space)
    finally:
        (space.references / "biden").chmod(0o755)
    space.run()
    assert (space.library / "obama" / "obama1.jpg").is_file()


def test_a_missing_references_folder_stops_sorting_with_the_fix(space):
    moved_away = space.root / "unmounted"
    space.references.rename(moved_away)
    failed = space.facesort("run", "--workers", "1")
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr
    assert f"references folder {space.references} (references_dir) does not exist" in (
        failed.stderr
    )
    assert "mount the share" in failed.stderr
    _assert_nothing_sorted_or_counted(space)
    moved_away.rename(space.references)
    space.run()
    assert (space.library / "obama" / "obama1.jpg").is_file()


def test_sort_batch_fails_with_the_message_and_the_files_wait(space, photos):
    """Under Airflow: the sort_batch task fails with the message; its files are given
    back, unsorted and uncounted, for the next run."""
    shutil.copytree(photos / "known" / "obama", space.references / "Obama")
    ingest = {"dag_id": "facesort_ingest", "run_id": "lifecycle-run"}
    (batch,) = task_result(space.task("ingest", "step.scan_staging(run)", **ingest))
    failed = space.task("ingest", f"step.sort_batch(run, {batch})", **ingest)
    assert failed.returncode != 0
    assert "would share the library folder" in failed.stderr
    _assert_nothing_sorted_or_counted(space)
