"""Reference photos learnt from sure matches (matching.learning) on real photos: which
sure matches are learnt (far inside the sure distance, not near copies, capped per
person), marked and listed, removed and put back through the journal, and a pass
killed mid-copy that the next one finishes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml
from paths import INCLUDE

# Distances to the person's nearest reference (tests/fixtures/faces/known): obama1.jpg
# 0.34, obama3.jpg 0.32, obama-480p.jpg 0.07 (a near copy of obama/obama.jpg),
# alex_lacamoire1.jpg 0.36; two_people.jpg has two faces.
STAGED = {"incoming": ("obama1.jpg", "obama-480p.jpg", "alex_lacamoire1.jpg", "two_people.jpg"),
          "edge": ("obama3.jpg",)}  # fmt: skip
LEARNING = {"enabled": True, "max_distance": 0.4, "min_novelty": 0.2, "max_per_person": 1}


def _stage(ws, photos) -> None:
    for folder, names in STAGED.items():
        for name in names:
            (ws.staging / name).write_bytes((photos / folder / name).read_bytes())


def _learnt(ws) -> dict[str, list[str]]:
    return {
        person.name: sorted(p.name for p in person.iterdir() if p.name.startswith("learnt-"))
        for person in sorted(ws.references.iterdir())
        if any(p.name.startswith("learnt-") for p in person.iterdir())
    }


def _set_learning(ws, learning: dict) -> None:
    data = yaml.safe_load(ws.config_path.read_text())
    data.setdefault("matching", {})["learning"] = learning
    ws.config_path.write_text(yaml.safe_dump(data))


def test_a_run_learns_varied_sure_matches_lists_them_and_a_removal_sticks(
    make_workspace, photos, facesort_cli
):
    from facesort.sorting.run import run_once

    ws = make_workspace(stage=(), extras=False, settings={"matching": {"learning": LEARNING}})
    _stage(ws, photos)

    run_once(ws.config(), workers=1)

    files = ws.files()
    assert files["obama1.jpg"] == files["obama3.jpg"] == "library/obama"
    # One per person (the cap): of obama's, the one furthest from his references;
    # never the near copy, never the photo of two people.
    assert _learnt(ws) == {"alex_lacamoire": ["learnt-alex_lacamoire1.jpg"],
                           "obama": ["learnt-obama1.jpg"]}  # fmt: skip
    learnt_obama = ws.references / "obama" / "learnt-obama1.jpg"
    assert learnt_obama.read_bytes() == (ws.library / "obama" / "obama1.jpg").read_bytes()

    code, out, err = facesort_cli("--config", ws.config_path, "references", "learnt", "--json")
    assert code == 0, err
    listed = {item["person"]: item for item in json.loads(out)}
    assert sorted(listed) == ["alex_lacamoire", "obama"]
    assert listed["obama"]["path"] == str(learnt_obama)
    assert 0.3 < listed["obama"]["distance"] < 0.36

    # Removing one is an undo of its journal group; it is not learnt again.
    alex = listed["alex_lacamoire"]["path"]
    code, out, err = facesort_cli("--config", ws.config_path, "references", "forget", alex)
    assert code == 0, err
    assert not os.path.exists(alex)
    code, _, err = facesort_cli("--config", ws.config_path, "references", "learn")
    assert code == 0, err
    assert _learnt(ws) == {"obama": ["learnt-obama1.jpg"]}
    # Undoing obama's group (listed with it) removes his too.
    code, _, err = facesort_cli("--config", ws.config_path, "undo", listed["obama"]["group_id"])
    assert code == 0, err
    assert _learnt(ws) == {}
    assert ws.files() == files  # the library never moved


def test_learning_is_off_by_default(make_workspace, photos):
    from facesort.sorting.run import run_once

    ws = make_workspace(stage=(), extras=False)
    for name in ("obama1.jpg", "alex_lacamoire1.jpg"):
        (ws.staging / name).write_bytes((photos / "incoming" / name).read_bytes())

    run_once(ws.config(), workers=1)

    assert ws.files()["obama1.jpg"] == "library/obama"
    assert _learnt(ws) == {}


def test_a_learning_pass_killed_mid_copy_is_finished_by_the_next(make_workspace, photos):
    from facesort.sorting.run import run_once

    ws = make_workspace(stage=(), extras=False)
    _stage(ws, photos)
    run_once(ws.config(), workers=1)  # sorted without learning
    _set_learning(ws, {**LEARNING, "max_per_person": 2})
    include = str(INCLUDE)

    def learn(crash_at: str | None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "FACESORT_CRASH_AT"}
        env["PYTHONPATH"] = include
        if crash_at:
            env["FACESORT_CRASH_AT"] = crash_at
        command = [sys.executable, "-m", "facesort.cli", "--config", str(ws.config_path),
                   "references", "learn"]  # fmt: skip
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    killed = learn("journal.planned#2")  # the second copy's intent recorded, then killed

    assert killed.returncode == -9, killed.stderr[-2000:]
    assert sum(len(v) for v in _learnt(ws).values()) == 1
    finished = learn(None)
    assert finished.returncode == 0, finished.stderr[-2000:]
    # Recovery finished the killed copy; nothing was learnt twice.
    assert _learnt(ws) == {"alex_lacamoire": ["learnt-alex_lacamoire1.jpg"],
                           "obama": ["learnt-obama1.jpg", "learnt-obama3.jpg"]}  # fmt: skip
    assert not [p for p in ws.references.rglob("*") if p.name.startswith(".")]
