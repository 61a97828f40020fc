"""`facesort resort` and `facesort undo` on photos sorted by the real pipeline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import Event, MediaFile, Transfer

PHOTOS = ["obama1.jpg", "obama_small.jpg", "alex_lacamoire1.jpg", "johnsnow_test1.jpg",
          "lin-manuel-miranda.png"]  # fmt: skip


@pytest.fixture
def ws(make_workspace, photos):
    ws = make_workspace(stage=(), extras=False)
    for name in PHOTOS:
        (ws.staging / name).write_bytes((photos / "incoming" / name).read_bytes())
    run_once(ws.config(), workers=1)
    return ws


def _database(ws) -> dict[str, list]:
    """Everything a re-sort could change in the state database."""
    state = State(ws.config().database_url)
    with state.session() as session:
        snapshot = {
            "files": session.execute(sa.select(MediaFile.id, MediaFile.current_path,
                                               MediaFile.category, MediaFile.people)).all(),
            "events": session.execute(sa.select(sa.func.count()).select_from(Event)).all(),
            "transfers": session.execute(sa.select(sa.func.count()).select_from(Transfer)).all(),
        }  # fmt: skip
    state.dispose()
    return snapshot


def test_dry_run_changes_nothing_and_apply_moves_exactly_the_plan(ws, facesort_cli):
    before_files, before_db = ws.files(), _database(ws)
    assert before_files["obama1.jpg"] == "library/obama"

    # A much stricter sure_distance makes some library files uncertain.
    plan_csv = ws.root / "plan.csv"
    code, out, err = facesort_cli("--config", ws.config_path, "resort", "library",
                                  "--sure-distance", "0.3", "--plan", plan_csv)  # fmt: skip
    assert code == 0, err
    assert "Dry run: nothing was moved" in out
    assert ws.files() == before_files and _database(ws) == before_db
    with (ws.root / "plan.csv").open(newline="") as handle:
        plan = list(csv.DictReader(handle))
    assert plan, out
    assert {row["to"] for row in plan} <= {"review/low_confidence", "review/unidentified"}
    planned = {Path(row["file"]).name: row["to"] for row in plan}

    code, out, err = facesort_cli("--config", ws.config_path, "resort", "library",
                                  "--sure-distance", "0.3", "--apply", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    after = ws.files()
    moved = {name: folder for name, folder in after.items() if before_files[name] != folder}
    assert moved == planned
    group = result["group"]

    code, out, err = facesort_cli("--config", ws.config_path, "undo", group)
    assert code == 0, err
    assert f"Reverted {len(planned)} moves of {group}." in out
    assert ws.files() == before_files


def test_resort_of_one_person_after_a_new_reference(ws, facesort_cli, photos):
    code, _, err = facesort_cli("--config", ws.config_path, "references", "add", "lin",
                                photos / "incoming" / "lin-manuel-miranda.png")  # fmt: skip
    assert code == 0, err
    code, out, err = facesort_cli("--config", ws.config_path, "resort", "person",
                                  "--person", "Obama")  # fmt: skip
    assert code == 0, err
    assert "0 files would move" in out  # a new person changes nothing in obama's folder

    code, out, err = facesort_cli("--config", ws.config_path, "resort", "review",
                                  "--category", "unidentified", "--apply")  # fmt: skip
    assert code == 0, err
    assert ws.files()["lin-manuel-miranda.png"] == "library/lin"
    assert "Undo it with: facesort undo resort-" in out


def test_undo_of_an_unknown_group_says_how_to_find_one(ws, facesort_cli):
    code, _, err = facesort_cli("--config", ws.config_path, "undo", "no-such-group")
    assert code == 2
    assert "No transfers were made in group 'no-such-group'" in err
    code, out, _ = facesort_cli("--config", ws.config_path, "undo")
    assert code == 0 and "route: 5 files" in out
