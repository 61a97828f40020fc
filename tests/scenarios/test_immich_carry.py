"""Names carried over (issue 13): a photo named in Immich and moved by ``facesort run``
into a folder an Immich library imports keeps its person on its NEW asset, against the
Immich double that trashes a moved file's asset as v1.137.3 does. With machine learning
on (Immich's detected face is given the person) and off (facesort creates the face);
the person stays listed and their references stay; undo takes back what facesort wrote;
what Immich was not ready for is finished by a later run; a missing permission is said
once and the files are sorted as before; ``carry_names: false``; the warning about
destinations no library imports. Every face write is checked against Immich's OpenAPI
file."""

from __future__ import annotations

import logging
import shutil
import time

import pytest
import sqlalchemy as sa
from conftest import IMMICH_PHOTOS, PHOTOS, configure_immich
from test_immich_contract import SPEC, _validate, openapi  # noqa: F401 (the fixture)

from facesort.immich.carry import carry_until_done
from facesort.immich.endpoint import endpoint_from_config
from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import Event, ImmichCarry
from facesort.vocab import CarryStatus, EventAction

pytestmark = pytest.mark.slow

LIN = "lin-manuel-miranda.png"
NEW_LIN = f"{IMMICH_PHOTOS}/library/lin-manuel-miranda/{LIN}"
# A scoped key with what a sorting pass needs, and the face writes.
SORTING = {"library.read", "library.update", "job.read", "job.create", "asset.read",
           "face.read", "person.read"}  # fmt: skip
CARRYING = SORTING | {"face.create", "face.update", "face.delete"}


def _short_sleep(_seconds: float) -> None:
    time.sleep(0.01)


def _workspace(make_workspace, *names: str, name: str = "ws"):
    ws = make_workspace(stage=(), extras=False, name=name)
    for photo in names:
        shutil.copyfile(next(PHOTOS.rglob(photo)), ws.staging / photo)
    return ws


def _carries(ws) -> list[ImmichCarry]:
    state = State(ws.config().database_url)
    try:
        with state.session() as session:
            rows = session.scalars(sa.select(ImmichCarry).order_by(ImmichCarry.id)).all()
            session.expunge_all()
            return list(rows)
    finally:
        state.dispose()


def _events(ws, action: str) -> list[Event]:
    state = State(ws.config().database_url)
    try:
        with state.session() as session:
            rows = session.scalars(sa.select(Event).where(Event.action == action)).all()
            session.expunge_all()
            return list(rows)
    finally:
        state.dispose()


def _people_on(double, path: str) -> list[tuple[str | None, str]]:
    asset = double.asset_at(path)
    assert asset is not None, f"Immich has no live asset at {path}"
    return [(face.person, face.source) for face in asset.faces]


def _check_contract(request, double) -> None:
    """Every face write facesort sent is valid for Immich v1.137.3's OpenAPI file (and
    so are the double's answers to it)."""
    if not SPEC.is_file():
        return
    spec = request.getfixturevalue("openapi")
    writes = [e for e in double.exchanges if e.path.startswith("/faces")]
    assert any(e.method in {"PUT", "POST", "DELETE"} for e in writes)
    for exchange in writes:
        _validate(spec, exchange)


def test_machine_learning_on_the_detected_face_gets_the_person(
    make_workspace, immich_double, facesort_cli, caplog, request
):
    ws = _workspace(make_workspace, LIN)
    double = immich_double(ws, seeded=False)
    configure_immich(ws, double.url)
    caplog.set_level(logging.WARNING, logger="facesort")

    summary = run_once(ws.config(), workers=1, sleep=_short_sleep)

    assert ws.files()[LIN] == "library/lin-manuel-miranda"
    # The old asset is trashed with the name; the new one has Immich's detected face,
    # given the same person by facesort (not a second face).
    old = double.asset_at(f"/mnt/downloads/{LIN}", with_deleted=True)
    assert old.trashed and [f.person for f in old.faces] == ["lin-manuel-miranda"]
    assert _people_on(double, NEW_LIN) == [("lin-manuel-miranda", "machine-learning")]
    assert [w.action for w in double.face_writes] == ["assign"]
    assert summary.immich["carry_names"]["counts"] == {"carried": 1}
    (row,) = _carries(ws)
    assert row.status == CarryStatus.CARRIED and row.face_id == double.face_writes[0].face_id
    # The person is still listed, so their reference learnt from Immich stays.
    assert "lin-manuel-miranda" in double.listed_people()
    code, out, _ = facesort_cli("--config", ws.config_path, "references", "sync-immich")
    assert code == 0, out
    assert list((ws.references / "lin-manuel-miranda").glob("immich-*.jpg"))
    # Journaled: the write is in the file's history.
    moved = ws.library / "lin-manuel-miranda" / LIN
    code, out, _ = facesort_cli("--config", ws.config_path, "history", moved)
    assert code == 0 and "immich_named" in out and "given lin-manuel-miranda" in out
    # review/ is imported by no library: said once, at the start of the run.
    warnings = [r.getMessage() for r in caplog.records if "drops the names" in r.getMessage()]
    assert len(warnings) == 1 and "transfer_mode: copy" in warnings[0]
    assert "/mnt/photos/review" in warnings[0]
    assert not double.violations
    _check_contract(request, double)


def test_machine_learning_off_a_face_is_created_and_undo_removes_it(
    make_workspace, immich_double, facesort_cli, request
):
    ws = _workspace(make_workspace, LIN)
    double = immich_double(ws, seeded=False)
    configure_immich(ws, double.url)
    # Named while machine learning worked; then ML goes away before the move.
    double.scan_now()
    double.settle()
    double.machine_learning = False

    summary = run_once(ws.config(), workers=1, sleep=_short_sleep)

    assert ws.files()[LIN] == "library/lin-manuel-miranda"
    assert _people_on(double, NEW_LIN) == [("lin-manuel-miranda", "manual")]
    assert [w.action for w in double.face_writes] == ["create"]
    (face,) = double.asset_at(NEW_LIN).faces
    old_face = double.asset_at(f"/mnt/downloads/{LIN}", with_deleted=True).faces[0]
    # At the same place, in the same coordinates.
    assert face.size == old_face.size
    assert all(abs(a - b) <= 1 for a, b in zip(face.box, old_face.box, strict=True))
    assert "lin-manuel-miranda" in double.listed_people()
    assert summary.immich["carry_names"]["counts"] == {"created": 1}

    code, out, err = facesort_cli("--config", ws.config_path, "undo", summary.run_id)

    assert code == 0, out + err
    assert (ws.staging / LIN).exists()
    assert "was removed" in out
    assert [w.action for w in double.face_writes] == ["create", "delete"]
    assert double.face_writes[1].face_id == face.id
    assert double.asset_at(NEW_LIN).faces == []  # only the face facesort created is gone
    assert old_face.person == "lin-manuel-miranda"  # the user's name, on the old asset
    (row,) = _carries(ws)
    assert row.status == CarryStatus.UNDONE
    assert len(_events(ws, EventAction.IMMICH_UNNAMED)) == 1
    _check_contract(request, double)


def test_what_immich_was_not_ready_for_is_finished_by_a_later_run_and_undone(
    make_workspace, immich_double, facesort_cli
):
    ws = _workspace(make_workspace, LIN)
    double = immich_double(ws, seeded=False)
    # No rescan after routing: Immich does not know the new path in this run (the wait
    # for it stops after twice the quiet looks, well before max_wait_seconds).
    configure_immich(ws, double.url, rescan_after_routing=False, wait={"max_wait_seconds": 30})
    double.scan_now()
    double.settle()

    first = run_once(ws.config(), workers=1, sleep=_short_sleep)

    assert ws.files()[LIN] == "library/lin-manuel-miranda"
    assert first.immich["carry_names"]["waiting"] == 1
    assert [r.status for r in _carries(ws)] == [CarryStatus.PENDING]
    assert not double.face_writes
    # Immich's own scan finds the file; recognition clusters its face into an unnamed
    # person (as it does with several moved photos of one person).
    double.scan_now()
    double.settle()
    (new_face,) = double.asset_at(NEW_LIN).faces
    double.name_face(new_face.id, "unnamed-cluster")

    second = run_once(ws.config(), workers=1, sleep=_short_sleep)

    assert second.immich["carry_names"]["counts"] == {"carried": 1}
    assert _people_on(double, NEW_LIN) == [("lin-manuel-miranda", "machine-learning")]
    (row,) = _carries(ws)
    assert row.previous_person_id == double.person_id("unnamed-cluster")

    code, out, err = facesort_cli("--config", ws.config_path, "undo", first.run_id)

    assert code == 0, out + err
    assert "went back to the unnamed person" in out
    assert _people_on(double, NEW_LIN) == [("unnamed-cluster", "machine-learning")]
    assert [w.action for w in double.face_writes] == ["assign", "assign"]


def test_a_missing_permission_is_said_once_and_files_are_sorted_as_before(
    make_workspace, immich_double, caplog
):
    ws = _workspace(make_workspace, LIN, "obama1.jpg")
    double = immich_double(ws, seeded=False, permissions=SORTING)
    configure_immich(ws, double.url)
    caplog.set_level(logging.WARNING, logger="facesort")

    summary = run_once(ws.config(), workers=1, sleep=_short_sleep)

    files = ws.files()
    assert files[LIN] == "library/lin-manuel-miranda" and files["obama1.jpg"] == "library/obama"
    said = [r.getMessage() for r in caplog.records if "names were not carried" in r.getMessage()]
    assert len(said) == 1, said
    assert "'face.update'" in said[0] and "face.create" in said[0]
    assert "immich.carry_names: false" in said[0]
    assert "face.update" in summary.immich["carry_names"]["message"]
    assert not double.face_writes
    # Kept for when the key has the permission.
    assert {r.status for r in _carries(ws)} == {CarryStatus.PENDING}

    double.permissions = CARRYING
    config = ws.config()
    with State(config.database_url) as state:
        result = carry_until_done(
            state, config, endpoint_from_config(config), "test", sleep=_short_sleep
        )
    assert result.counts == {"carried": 2} and result.finished


def test_carry_names_false_writes_nothing_and_a_library_for_review_stops_the_warning(
    make_workspace, immich_double, caplog
):
    ws = _workspace(make_workspace, LIN)
    double = immich_double(ws, seeded=False)
    double.add_library([f"{IMMICH_PHOTOS}/review"])
    configure_immich(ws, double.url, carry_names=False)
    caplog.set_level(logging.WARNING, logger="facesort")

    summary = run_once(ws.config(), workers=1, sleep=_short_sleep)

    assert ws.files()[LIN] == "library/lin-manuel-miranda"
    double.settle()  # the rescan facesort queued, and Immich's jobs
    assert not double.face_writes and not _carries(ws)
    assert _people_on(double, NEW_LIN) == [(None, "machine-learning")]  # Immich's own
    assert summary.immich["carry_names"]["detail"] == "immich.carry_names is off"
    assert not [r for r in caplog.records if "drops the names" in r.getMessage()]


def test_a_destination_immich_leaves_out_does_not_hold_the_run(make_workspace, immich_double):
    ws = _workspace(make_workspace, LIN)
    double = immich_double(ws, seeded=False)
    # The library's import path covers the destination, but an exclusion pattern hides it.
    library = next(
        lib for lib in double.libraries if lib["importPaths"] == [f"{IMMICH_PHOTOS}/library"]
    )
    library["exclusionPatterns"] = ["**/lin-manuel-miranda/**"]
    configure_immich(ws, double.url, wait={"max_wait_seconds": 120})
    started = time.monotonic()

    summary = run_once(ws.config(), workers=1, sleep=_short_sleep)

    assert time.monotonic() - started < 60  # not the two minutes of max_wait_seconds
    assert ws.files()[LIN] == "library/lin-manuel-miranda"
    assert summary.immich["carry_names"]["waiting"] == 1
    assert [r.status for r in _carries(ws)] == [CarryStatus.PENDING]  # for a later run
    assert not double.face_writes
