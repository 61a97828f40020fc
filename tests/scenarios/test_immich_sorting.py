"""Sorting with Immich (the test double) on the fixture photos, through ``facesort run``:
Immich's named people decide, the rest is matched locally, and Immich being down, slow
or misconfigured still sorts every file, with the reason saying which path decided."""

from __future__ import annotations

import json
import socket

import pytest
import sqlalchemy as sa
from conftest import configure_immich

from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import ImmichFile, MediaFile

pytestmark = pytest.mark.slow


def _reasons(ws) -> dict[str, dict]:
    state = State(ws.config().database_url)
    try:
        with state.session() as session:
            return {
                f.source_path.rsplit("/", 1)[-1]: f.reason
                for f in session.scalars(sa.select(MediaFile))
            }
    finally:
        state.dispose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_named_people_decide_and_the_rest_is_matched_locally(make_workspace, immich_double):
    ws = make_workspace()
    # A v2 server (queues at /api/queues); obama3.jpg is excluded from the library.
    double = immich_double(ws, flavour="v2", exclude=["*/obama3.jpg"])
    configure_immich(ws, double.url)

    summary = run_once(ws.config(), workers=1, sleep=lambda _: None)

    files = ws.files()
    reasons = _reasons(ws)
    # Only Immich knows lin-manuel-miranda: without it this photo is unidentified.
    assert files["lin-manuel-miranda.png"] == "library/lin-manuel-miranda"
    assert reasons["lin-manuel-miranda.png"]["decided_by"] == "immich"
    for name in ("obama1.jpg", "obama_small.jpg", "32bit.png", "obama_partial_face2.jpg"):
        assert files[name] == "library/obama", name
        assert reasons[name]["decided_by"] == "immich", name
        assert "[decided by Immich]" in reasons[name]["summary"]
    # Unnamed cluster, hidden person, no face, no asset: matched locally, and said why.
    local = {
        "johnsnow_test1.jpg": ("library/kit_harington", "0 named"),
        "obama_partial_face.jpg": ("library/obama", "0 named"),
        "alex_lacamoire1.jpg": ("library/alex_lacamoire", "Immich found no face"),
        "obama3.jpg": ("library/obama", "Immich has no asset for this file"),
    }
    for name, (folder, why) in local.items():
        assert files[name] == folder, name
        assert reasons[name]["decided_by"] == "local", name
        assert why in reasons[name]["summary"], reasons[name]["summary"]
    # Some faces named, the others matched locally: still several faces.
    for name in ("two_people.jpg", "kit_with_rose.jpg", "obama_and_biden.jpg"):
        assert files[name] == "review/multiple_faces"
        assert reasons[name]["decided_by"] == "immich+local"
    faces = reasons["two_people.jpg"]["faces"]
    assert {(f.get("person"), f["source"]) for f in faces} == {
        ("obama", "immich"),
        ("biden", "local"),
    }
    assert not list(ws.staging.iterdir())
    assert summary.immich["status"] == "ok" and summary.immich["wait"] == "ready"
    assert summary.immich["rescan"] == "scan queued for 2 libraries"
    # Learnt from Immich: the feature face of each named person is a reference now.
    assert list((ws.references / "lin-manuel-miranda").glob("immich-*.jpg"))
    # Immich was only read, its queues polled through /api/queues, scans queued twice;
    # the only other writes gave the moved files' new assets their names back.
    writes = [(e.method, e.path) for e in double.exchanges if e.method != "GET"]
    assert {m for m, p in writes if p != "/search/metadata" and not p.startswith("/faces")} == {
        "POST"
    }
    assert sum(1 for _, p in writes if p.endswith("/scan")) == 3  # 1 before, 2 after
    assert any(e.path == "/queues" for e in double.exchanges)
    assert not double.violations
    # Searched by folder, a page at a time, never per file: one probe of the key, then
    # readiness checks once the queues are quiet (one per poll while excluded obama3.jpg
    # is missing) and one read; each asks every visibility, as obama3.jpg is never found.
    searches = [json.loads(e.body) for e in double.exchanges if e.path == "/search/metadata"]
    searches = [s for s in searches if not s["originalPath"].startswith("/mnt/photos/library")]
    assert {s["originalPath"] for s in searches} == {"/mnt/downloads"}
    assert [s["size"] for s in searches if not s.get("withPeople")] == [1]  # the probe
    named = [s for s in searches if s.get("withPeople")]
    assert [s["visibility"] for s in named[:3]] == ["timeline", "archive", "hidden"]
    assert len(named) == 4 * 3 < len(files)


def test_immich_unreachable_sorts_everything_locally(make_workspace):
    ws = make_workspace(stage=("incoming",), extras=False)
    url = f"http://127.0.0.1:{_closed_port()}"
    configure_immich(ws, url)

    summary = run_once(ws.config(), workers=1, sleep=lambda _: None)

    assert summary.immich["status"] == "unavailable"
    assert summary.immich["not_used"].startswith(f"Immich at {url} cannot be reached")
    files = ws.files()
    assert files["obama1.jpg"] == "library/obama"
    assert files["lin-manuel-miranda.png"] == "review/unidentified"
    assert not list(ws.staging.iterdir())
    reason = _reasons(ws)["obama1.jpg"]
    assert reason["decided_by"] == "local"
    assert "matched locally: Immich was not used in this run" in reason["summary"]


def test_face_data_not_ready_in_time_is_matched_locally(make_workspace, immich_double):
    ws = make_workspace(stage=("incoming",), extras=False)
    double = immich_double(ws, never_recognised={"obama1.jpg"})
    configure_immich(ws, double.url, wait={"max_wait_seconds": 0.5})

    summary = run_once(ws.config(), workers=1)  # real sleeps: 0.05 s polls

    assert summary.immich["wait"] == "timeout"
    assert ws.files()["obama1.jpg"] == "library/obama"
    reason = _reasons(ws)["obama1.jpg"]
    assert "Immich had not finished face detection" in reason["summary"]
    state = State(ws.config().database_url)
    try:
        with state.session() as session:
            statuses = set(session.scalars(sa.select(ImmichFile.status)))
    finally:
        state.dispose()
    assert statuses == {"not_ready"}


def test_a_wrong_key_is_one_message_and_files_are_still_sorted(
    make_workspace, immich_double, facesort_cli, monkeypatch
):
    ws = make_workspace(stage=("incoming",), extras=False)
    double = immich_double(ws)
    configure_immich(ws, double.url)
    monkeypatch.setenv("FACESORT_TEST_IMMICH_KEY", "revoked-key")

    code, _, err = facesort_cli("--config", ws.config_path, "run")

    assert code == 0  # sorted locally: the run succeeded, with a warning
    assert "facesort: warning: Immich was not used: Immich at" in err
    assert "401 Unauthorized" in err
    assert "rejected the API key from the environment variable FACESORT_TEST_IMMICH_KEY" in err
    assert "Account Settings > API Keys" in err
    assert len([line for line in err.splitlines() if "warning:" in line]) == 1
    assert not list(ws.staging.iterdir())  # sorted locally all the same
    assert ws.files()["obama1.jpg"] == "library/obama"


def test_references_sync_from_immich_teaches_local_matching(
    make_workspace, immich_double, facesort_cli
):
    ws = make_workspace(stage=(), extras=False)
    double = immich_double(ws)
    configure_immich(ws, double.url)

    code, out, _ = facesort_cli("--config", ws.config_path, "references", "sync-immich")

    assert code == 0, out
    assert "4 reference photos saved from Immich" in out
    saved = sorted(p.parent.name for p in ws.references.glob("*/immich-*.jpg"))
    assert saved == ["biden", "kit_harington", "lin-manuel-miranda", "obama"]
    code, out, _ = facesort_cli("--config", ws.config_path, "references", "list")
    assert "lin-manuel-miranda             1 usable of 1 photo" in out
    # Again: nothing changed in Immich, nothing downloaded.
    thumbnails = sum(1 for e in double.exchanges if e.path.endswith("/thumbnail"))
    code, out, _ = facesort_cli("--config", ws.config_path, "references", "sync-immich")
    assert "0 reference photos saved from Immich, 4 unchanged" in out
    assert sum(1 for e in double.exchanges if e.path.endswith("/thumbnail")) == thumbnails
