"""Renaming a person, killed (SIGKILL) mid-way and retried: nothing lost, no file under
two names, the database agrees with the disk, and undo puts everything back.

The rename runs in a fresh process (``facesort.people.rename.rename_person``, as the
people page calls it) killed at a crash point, then the same call again, as anyone does
after a crash. By default it is killed with a library file under both names
(``journal.linked#1``) and with a reference photo under both names (``journal.linked#3``:
the two library files come first); ``make crash-test`` adds the other points.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import sqlalchemy as sa
from lifecycle import (
    ALL_POINTS,
    assert_lifecycle_holds,
    digest,
    make_space,
    no_numbered_names,
    run_python,
)

pytestmark = pytest.mark.slow

STAGED = {"obama1.jpg": "incoming/obama1.jpg", "obama3.jpg": "edge/obama3.jpg"}
POINTS = ["journal.linked#1", "journal.linked#3"] + (
    [
        "journal.planned#1",
        "journal.moved#1",
        "journal.done#2",
        "journal.moved#3",
        "journal.linked#4",
    ]
    if ALL_POINTS
    else []
)
CALL = (
    "import json, sys\n"
    "from facesort.config import load_config\n"
    "from facesort.state import State\n"
    "from facesort.people.{module} import {function}\n"
    "config = load_config(sys.argv[1])\n"
    "result = {function}(config, State(config.database_url), 'test', *sys.argv[2:])\n"
    "print(json.dumps(result.as_dict()))\n"
)


def _call(space, module, function, *args, crash_at=None):
    code = CALL.format(module=module, function=function)
    return run_python(code, str(space.config_path), *args, crash_at=crash_at)


def _references(space) -> dict[str, Counter]:
    return {
        folder.name: Counter(digest(p) for p in folder.iterdir())
        for folder in space.references.iterdir()
    }


@pytest.mark.parametrize("crash_at", POINTS)
def test_rename_killed_and_retried(tmp_path, photos, crash_at):
    space = make_space(tmp_path / "ws", photos, STAGED, people=("obama",))
    space.run()
    expected, references = space.contents(), _references(space)
    args = ("obama", "Barack Obama")
    crashed = _call(space, "rename", "rename_person", *args, crash_at=crash_at)
    assert crashed.returncode == -9, f"not killed at {crash_at}: {crashed.stdout}{crashed.stderr}"
    retried = _call(space, "rename", "rename_person", *args)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    result = json.loads(retried.stdout.strip().splitlines()[-1])
    assert "renamed Barack Obama" in result["summary"]

    assert space.where() == {name: "library/Barack Obama" for name in STAGED}
    assert _references(space) == {"Barack Obama": references["obama"]}
    assert not any(p.name.startswith(".") for p in (space.references / "Barack Obama").iterdir())
    assert not (space.library / "obama").exists()
    assert_lifecycle_holds(space, expected)
    no_numbered_names(space)
    # One action, done: the retry continued the killed one.
    from facesort.state.models import ReviewAction

    state = space.state()
    with state.session() as session:
        actions = session.execute(sa.select(ReviewAction.kind, ReviewAction.state)).all()
    state.dispose()
    assert actions == [("rename_person", "done")]

    undone = space.facesort("people", "undo", result["group_id"])
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert space.where() == {name: "library/obama" for name in STAGED}
    assert _references(space) == references
    assert_lifecycle_holds(space, expected)
    if crash_at == POINTS[0]:
        # Undoing the undo (`facesort undo GROUP`) renames again; the last undo is undone.
        undo_group = undone.stdout.split("[group ")[-1].split("]")[0]
        redone = space.facesort("undo", undo_group)
        assert redone.returncode == 0 and "redo" in redone.stdout, redone.stdout + redone.stderr
        assert space.where() == {name: "library/Barack Obama" for name in STAGED}
        assert space.facesort("people", "undo").returncode == 0
        assert _references(space) == references
        assert_lifecycle_holds(space, expected)


def test_rename_killed_then_undone_instead_of_retried(tmp_path, photos):
    """Killed with a reference photo under both names, then undone (not retried): the
    killed rename is what `people undo` undoes, and everything is back, once."""
    space = make_space(tmp_path / "ws", photos, STAGED, people=("obama",))
    space.run()
    expected, references = space.contents(), _references(space)
    crashed = _call(space, "rename", "rename_person", "obama", "Barack Obama", crash_at=POINTS[1])
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    undone = space.facesort("people", "undo")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert space.where() == {name: "library/obama" for name in STAGED}
    assert _references(space) == references
    assert not (space.references / "Barack Obama").exists()
    assert_lifecycle_holds(space, expected)
    no_numbered_names(space)
