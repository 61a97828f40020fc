"""Rough edges of the file lifecycle (issue 12): a state database that goes away or is
damaged, a library that refuses a file, batches of a dead run, a lost state database.
Each ends in one message (exit 2) or in every file sorted once, never a traceback or a
file filed twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import paths
import pytest
from lifecycle import (
    assert_lifecycle_holds,
    file_id,
    make_space,
    records,
    status_json,
    without_dac_override,
)

pytestmark = pytest.mark.slow

STAGED = {"obama1.jpg": "incoming/obama1.jpg", "kit.jpg": "incoming/johnsnow_test1.jpg"}


@pytest.mark.parametrize("keep_bytes", [50, 4096], ids=["not-a-database", "malformed"])
def test_a_truncated_sqlite_state_is_one_message(tmp_path, photos, keep_bytes):
    space = make_space(tmp_path / "ws", photos, STAGED, people=("obama",))
    space.run()
    database = space.root / "facesort-state.db"
    for suffix in ("-wal", "-shm"):
        (space.root / f"facesort-state.db{suffix}").unlink(missing_ok=True)
    with open(database, "r+b") as handle:
        handle.truncate(keep_bytes)
    for command in (["status"], ["run", "--workers", "1"], ["review", "list"]):
        failed = space.facesort(*command)
        assert failed.returncode == 2, failed.stdout + failed.stderr
        assert "Traceback" not in failed.stderr
        assert failed.stderr.count("facesort:") == 1
        assert f"state database sqlite:///{database} is damaged" in failed.stderr
        assert "restore it from a backup, or move it away" in failed.stderr


@pytest.mark.postgres
def test_postgresql_going_away_mid_run_is_one_message_and_nothing_is_lost(
    tmp_path, photos, pg_server, make_pg_database
):
    import psycopg2

    host, port, user = pg_server
    name = make_pg_database("facesort_lifecycle")
    url = f"postgresql+psycopg2://{user}@{host}:{port}/{name}"
    staged = {f"obama{i}.jpg": f"incoming/{n}" for i, n in enumerate(
        ["obama1.jpg", "johnsnow_test1.jpg", "two_people.jpg", "lin-manuel-miranda.png",
         "obama_and_biden.jpg", "alex-lacamoire.png", "kit_with_rose.jpg"])}  # fmt: skip
    space = make_space(
        tmp_path / "ws", photos, staged, people=("obama",), settings={"state_url": url}
    )
    expected = space.contents()
    admin = psycopg2.connect(host=host, port=port, user=user, dbname="postgres")
    admin.autocommit = True
    env = {k: v for k, v in os.environ.items() if k != "FACESORT_CRASH_AT"}
    include = str(paths.INCLUDE)
    env["PYTHONPATH"] = include
    command = [sys.executable, "-m", "facesort.cli", "--config", str(space.config_path)]
    run = subprocess.Popen(
        [*command, "run", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (space.library.exists() or space.review.exists()):
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with admin.cursor() as cur:  # the server goes away: no connections, none allowed
            cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        out, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2, out + err
    assert "Traceback" not in err and err.count("facesort:") == 1, err
    assert f"Lost the state database postgresql+psycopg2://{user}@{host}:{port}/{name}" in err
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    admin.close()
    space.run()
    assert_lifecycle_holds(space, expected)
    assert not any(space.staging.iterdir())


def test_approving_into_a_library_that_refuses_the_file_is_one_message(tmp_path, photos):
    space = make_space(tmp_path / "ws", photos, {"obama1.jpg": "incoming/obama1.jpg"}, people=())
    space.run()
    expected = space.contents()
    photo = file_id(space, "obama1.jpg")
    (space.library / "obama").mkdir(parents=True)
    (space.library / "obama").chmod(0o555)  # a full or read-only disk refuses alike
    try:
        failed = space.facesort("review", "approve", "obama", photo, prefix=without_dac_override())
    finally:
        (space.library / "obama").chmod(0o755)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr and failed.stderr.count("facesort:") == 1
    assert str(space.library / "obama") in failed.stderr
    assert space.where() == {"obama1.jpg": "review/unidentified"}
    assert_lifecycle_holds(space, expected)


def test_the_batches_of_a_killed_run_are_taken_at_once(tmp_path, photos):
    space = make_space(
        tmp_path / "ws", photos, STAGED, people=("obama",), settings={"batch_size": 1}
    )
    expected = space.contents()
    killed = space.facesort("run", "--workers", "1", crash_at="sort.decided#1")
    assert killed.returncode == -9
    # Nothing is "being sorted" once its process is dead.
    assert status_json(space)["staging"] == {"waiting to be sorted": 2}
    space.run()
    assert status_json(space)["staging"] == {}
    assert {m.status for m in records(space)} == {"done"}
    assert_lifecycle_holds(space, expected)


def test_after_the_state_is_lost_the_library_is_indexed_before_sorting(tmp_path, photos):
    space = make_space(tmp_path / "ws", photos, {"obama1.jpg": "incoming/obama1.jpg"})
    space.run()
    assert space.where() == {"obama1.jpg": "library/obama"}
    for path in space.root.glob("facesort-state.db*"):
        path.unlink()
    shutil.copyfile(photos / "incoming" / "obama1.jpg", space.staging / "obama1.jpg")
    again = space.run()
    assert "indexing the library" in again.stdout + again.stderr
    assert sorted(str(p.relative_to(space.root)) for p in space.all_files()) == [
        "library/obama/obama1.jpg",  # the one in the library stays
        "review/duplicates/obama1.jpg",  # the download is a duplicate of it
    ]
    (again_record,) = [m for m in records(space) if m.category == "duplicates"]
    assert again_record.reason["duplicate_of_path"] == str(space.library / "obama" / "obama1.jpg")
