"""The facesort command: one pass, dry runs, status, history, references, errors."""

from __future__ import annotations

import json
import os
import shutil

import pytest

pytestmark = pytest.mark.slow


def snapshot(root):
    return sorted(
        (str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")
    )


def test_dry_run_prints_decisions_and_touches_nothing(make_workspace, facesort_cli):
    ws = make_workspace(stage=("incoming",))
    before = snapshot(ws.root)
    code, out, err = facesort_cli("--config", ws.config_path, "run", "--dry-run")
    assert code == 0, err
    assert snapshot(ws.root) == before  # no file moved, no state database created
    assert not (ws.root / "facesort-state.db").exists()
    assert f"-> {ws.library}/obama/obama1.jpg" in out
    assert f"-> {ws.review}/multiple_faces/two_people.jpg" in out
    assert "sure match: obama at" in out
    code, out, _ = facesort_cli("--config", ws.config_path, "run", "--dry-run", "--json")
    decisions = {os.path.basename(d["source"]): d["folder"] for d in json.loads(out)}
    assert decisions["obama-1080p.jpg"] == "library/obama"
    assert decisions["obama-240p.jpg"] == "review/duplicates"  # duplicates within the dry run
    assert decisions["truncated.jpg"] == "review/unreadable"


def test_run_status_and_history(make_workspace, facesort_cli, tmp_path):
    ws = make_workspace(stage=("incoming",))
    code, out, err = facesort_cli("--config", ws.config_path, "run", "--workers", "1")
    assert code == 0, err
    assert "15 new, 0 already handled" in out.splitlines()[0]

    code, out, _ = facesort_cli("--config", ws.config_path, "status", "--json")
    counts = json.loads(out)
    assert counts["library"]["obama"] == 3
    assert counts["review"]["duplicates"] == 4 and counts["review"]["multiple_faces"] == 3

    code, out, _ = facesort_cli("--config", ws.config_path, "status", "--files")
    listing = {
        line.split()[0]: line.split()[-1]
        for line in out.splitlines()
        if " " not in line.split("  ")[0]
    }
    assert listing["two_people.jpg"] == f"{ws.review}/multiple_faces/two_people.jpg"

    # History by the path it had in staging, by where it is now, or by a copy elsewhere.
    now = ws.review / "multiple_faces" / "two_people.jpg"
    copy = tmp_path / "somewhere" / "copy.jpg"
    copy.parent.mkdir()
    shutil.copyfile(now, copy)
    for query in (ws.staging / "two_people.jpg", now, copy):
        code, out, _ = facesort_cli("--config", ws.config_path, "history", query)
        assert code == 0
        assert "discovered" in out and "routed" in out and "2 faces: " in out
    code, out, _ = facesort_cli("--config", ws.config_path, "history", tmp_path / "never.jpg")
    assert code == 1 and "no record" in out


def test_references_add_and_list(make_workspace, facesort_cli, photos, tmp_path):
    ws = make_workspace(stage=(), extras=False)
    photo = photos / "incoming" / "lin-manuel-miranda.png"
    code, out, err = facesort_cli(
        "--config", ws.config_path, "references", "add", "../Lin/Manuel", photo
    )
    assert code == 0, err
    assert (ws.references / "_Lin_Manuel" / "lin-manuel-miranda.png").exists()
    assert "stored as '_Lin_Manuel'" in out
    assert "_Lin_Manuel                    1 usable of 1 photo" in out
    not_a_photo = tmp_path / "notes.txt"
    not_a_photo.write_text("hello")
    code, _, err = facesort_cli("--config", ws.config_path, "references", "add", "x", not_a_photo)
    assert code == 2 and "is not a photo facesort can read" in err


def test_user_errors_exit_2_with_one_message(tmp_path, facesort_cli):
    bad = tmp_path / "bad.yaml"
    bad.write_text("staging_dirs: []\nlibrary_dir: l\nreview_dir: r\nreferences_dir: f\n")
    code, _, err = facesort_cli("--config", bad, "run")
    assert code == 2 and "staging_dirs: List should have at least 1 item" in err
    assert "Traceback" not in err
    good = tmp_path / "good.yaml"
    good.write_text("staging_dirs: [missing]\nlibrary_dir: l\nreview_dir: r\nreferences_dir: f\n")
    code, _, err = facesort_cli("--config", good, "run")
    assert code == 2 and f"Staging folder {tmp_path / 'missing'} does not exist" in err


def test_db_commands(make_workspace, facesort_cli):
    ws = make_workspace(stage=(), extras=False)
    code, out, _ = facesort_cli("--config", ws.config_path, "db", "upgrade")
    assert code == 0 and "is at schema" in out
    code, out, _ = facesort_cli("--config", ws.config_path, "db", "current")
    assert code == 0 and "facesort needs" in out
    code, out, _ = facesort_cli("--config", ws.config_path, "recover")
    assert code == 0 and "0 finished" in out
