"""A file's status is what the scan acts on (issue 12, item 3).

Before, "already handled" was decided by the staging index (path, size, mtime, inode)
alone: a file put back in staging by `facesort undo`, a file whose staging folder
dropped away mid-run and came back, and a photo that could not be read at first were
never sorted again.
"""

from __future__ import annotations

import pytest
from lifecycle import (
    assert_lifecycle_holds,
    make_space,
    records,
    status_json,
    task_result,
    without_dac_override,
)

pytestmark = pytest.mark.slow

STAGED = {"obama1.jpg": "incoming/obama1.jpg", "kit.jpg": "incoming/johnsnow_test1.jpg"}
SORTED = {"obama1.jpg": "library/obama", "kit.jpg": "review/unidentified"}


@pytest.fixture
def space(tmp_path, photos):
    return make_space(tmp_path / "ws", photos, STAGED, people=("obama",))


def test_files_put_back_by_undo_are_sorted_by_the_next_run(space):
    expected = space.contents()
    first = space.run()
    run_id = first.stdout.split()[1].rstrip(":")
    assert space.where() == SORTED
    undone = space.facesort("undo", run_id)
    assert undone.returncode == 0, undone.stderr
    assert "Reverted 2 moves" in undone.stdout
    assert "the next run sorts them again" in undone.stdout
    assert space.where() == {"obama1.jpg": "staging", "kit.jpg": "staging"}
    assert status_json(space)["staging"] == {"waiting to be sorted": 2}
    assert {m.status for m in records(space)} == {"pending"}
    again = space.run()
    assert "2 new" in again.stdout or "0 already handled" in again.stdout, again.stdout
    assert space.where() == SORTED
    assert_lifecycle_holds(space, expected)


def test_a_staging_folder_that_drops_away_mid_run_is_sorted_when_it_is_back(space):
    """A network share drops after the scan claimed its files and comes back later."""
    expected = space.contents()
    ingest = {"dag_id": "facesort_ingest", "run_id": "scheduled__share"}
    (batch,) = task_result(space.task("ingest", "step.scan_staging(run)", **ingest))
    space.staging.rename(space.root / "share-offline")
    task_result(space.task("ingest", f"step.sort_batch(run, {batch})", **ingest))
    assert {m.status for m in records(space)} == {"left"}
    (space.root / "share-offline").rename(space.staging)
    space.run()
    assert space.where() == SORTED
    assert_lifecycle_holds(space, expected)


def test_a_photo_unreadable_at_first_is_sorted_once_it_can_be_read(space):
    expected = space.contents()
    locked = space.staging / "obama1.jpg"
    locked.chmod(0o000)
    try:
        first = space.run(prefix=without_dac_override())
        assert "cannot be read" in first.stdout
        assert space.where() == {"obama1.jpg": "staging", "kit.jpg": "review/unidentified"}
        assert not (space.review / "unreadable").exists()
    finally:
        locked.chmod(0o644)
    space.run()
    assert space.where() == SORTED
    assert_lifecycle_holds(space, expected)


def test_a_photo_that_stays_unreadable_stays_in_staging(space):
    """The other side: nothing is filed as unreadable for a permission problem."""
    locked = space.staging / "obama1.jpg"
    locked.chmod(0o000)
    try:
        for _ in range(2):
            space.run(prefix=without_dac_override())
        assert space.where()["obama1.jpg"] == "staging"
        assert not (space.review / "unreadable").exists()
    finally:
        locked.chmod(0o644)
