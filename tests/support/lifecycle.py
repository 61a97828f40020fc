"""Helpers of the file-lifecycle tests (issue 12): small workspaces (a
:class:`workspace.Workspace`, whose ``facesort`` and ``task`` run the command and DAG
steps in a subprocess, killed with ``FACESORT_CRASH_AT``), and the check that every file
exists exactly once and the database agrees with the disk.

Everything goes through public entry points (the command line, the task functions,
the state database), so the tests hold whatever the modules behind them are called.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
import yaml
from workspace import Workspace, digest, run_subprocess

# Crash points every command passes when it moves a file: planned (intent written,
# nothing moved), linked (the file under both names), moved (source gone, journal not
# done), done (journal done, the command's own bookkeeping not yet).
MOVE_POINTS = ("journal.planned#1", "journal.linked#1", "journal.moved#1", "journal.done#1")
# `make crash-test` runs every point of every command; `make test` one each.
ALL_POINTS = os.environ.get("FACESORT_LIFECYCLE_CRASH_POINTS") == "all"

NUMBERED = re.compile(r" \(\d+\)(\.[^.]*)?$")


def crash_points(default: str, *more: str) -> list[str]:
    return [default, *more] if ALL_POINTS else [default]


def without_dac_override() -> list[str]:
    """A command prefix under which mode 000 denies reading even to root (the tests run
    as root in the containers): drop the capabilities that bypass file permissions."""
    if os.getuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        import pytest

        pytest.skip("running as root without setpriv: mode 000 cannot deny reading")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def run_python(
    code: str, *args: str, env: dict[str, str] | None = None, crash_at: str | None = None
) -> subprocess.CompletedProcess:
    """``python -c CODE ARGS`` with this repository's package (killed at ``crash_at``)."""
    return run_subprocess([sys.executable, "-c", code, *args], crash_at, env)


def make_space(
    root: Path,
    photos: Path,
    staged: dict[str, str],
    *,
    people: tuple[str, ...] = ("obama", "biden"),
    settings: dict | None = None,
) -> Workspace:
    """A workspace with ``staged`` (staging name -> bundled photo) and the reference
    photos of ``people`` only (fewer references: quicker runs)."""
    space = Workspace(root)
    space.staging.mkdir(parents=True)
    for name, relative in staged.items():
        shutil.copyfile(photos / relative, space.staging / name)
    space.references.mkdir()
    for person in people:
        shutil.copytree(photos / "known" / person, space.references / person)
    config = {
        "staging_dirs": ["staging"],
        "library_dir": "library",
        "review_dir": "review",
        "references_dir": "references",
        "trash_dir": "trash",
        "scan": {"stable_seconds": 0},
        "workers": 1,
    }
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    space.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return space


def records(space: Workspace) -> list:
    from facesort.state.models import MediaFile

    state = space.state()
    try:
        with state.session() as session:
            return list(session.scalars(sa.select(MediaFile).order_by(MediaFile.id)))
    finally:
        state.dispose()


def open_transfers(space: Workspace) -> list:
    from facesort.state.models import Transfer

    state = space.state()
    try:
        with state.session() as session:
            return list(session.scalars(sa.select(Transfer).where(Transfer.state == "planned")))
    finally:
        state.dispose()


def file_id(space: Workspace, name: str) -> int:
    found = [m.id for m in records(space) if os.path.basename(m.source_path) == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def assert_lifecycle_holds(space: Workspace, expected: Counter) -> None:
    """Every file exists exactly once by content (as many times as it was staged), no
    file has a second name, no journal row is open, and the database agrees with the
    disk: each record's current path is its file with its content, and nothing on disk
    lacks a record."""
    on_disk = space.all_files()
    leftovers = [p for p in on_disk if p.name.startswith(".facesort-")]
    assert not leftovers, f"temporary files left: {leftovers}"
    assert space.contents() == expected, f"files by content differ: {space.where()}"
    inodes = Counter((p.stat().st_dev, p.stat().st_ino) for p in on_disk)
    assert all(n == 1 for n in inodes.values()), f"a file has two names: {space.where()}"
    assert not open_transfers(space), "a journal entry is still open"
    files = records(space)
    recorded = {}
    for media in files:
        path = media.current_path or media.source_path
        assert media.status in {"done", "pending"}, f"{path}: {media.status}"
        assert os.path.isfile(path), f"{path} is recorded ({media.status}) but not on disk"
        assert digest(Path(path)) == media.sha256 or media.sha256 is None, path
        recorded[path] = media
    unrecorded = [str(p) for p in on_disk if str(p) not in recorded]
    assert not unrecorded, f"on disk without a record: {unrecorded}"


def task_result(done: subprocess.CompletedProcess):
    """What a task function returned (the last line its process printed)."""
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def status_json(space: Workspace) -> dict:
    done = space.facesort("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def no_numbered_names(space: Workspace) -> None:
    numbered = [p for p in space.all_files() if NUMBERED.search(p.name)]
    assert not numbered, f"a second name was made: {numbered}"
