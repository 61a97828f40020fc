"""Names carried over for moves made after the ingest run (issue 13): a photo named in
Immich, sent to review (a folder no library imports, so its name could not be carried
there), then approved from review into the library under an import path, gets its name
on the new asset from the next ``facesort run``, which says so in one line. Against the
Immich double that trashes a moved file's asset as v1.137.3 does. The carry-over is
recorded with the move, in the journal's gate: an approval killed mid-move and retried
records it once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from conftest import IMMICH_PHOTOS, PHOTOS, configure_immich

from facesort.immich.carry import summary_line
from facesort.review.actions import Reviewer
from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import ImmichCarry, MediaFile
from facesort.vocab import CarryStatus

pytestmark = pytest.mark.slow

TWO = "two_people.jpg"


def _short_sleep(_seconds: float) -> None:
    time.sleep(0.01)


def _carries(state: State) -> list[tuple[str, str, str]]:
    with state.session() as session:
        return [
            (r.group_id, r.person_name, r.status)
            for r in session.scalars(sa.select(ImmichCarry).order_by(ImmichCarry.id))
        ]


def test_a_file_approved_from_review_gets_its_name_carried_by_the_next_run(
    make_workspace, immich_double, facesort_cli
):
    ws = make_workspace(stage=(), extras=False)
    shutil.copyfile(next(PHOTOS.rglob(TWO)), ws.staging / TWO)
    double = immich_double(ws, seeded=False)
    configure_immich(ws, double.url)

    first = run_once(ws.config(), workers=1, sleep=_short_sleep)

    # Obama is named in Immich, the other face is not: several faces go to review,
    # which no library imports (the name is not carried there).
    assert ws.files()[TWO] == "review/multiple_faces"
    assert first.immich["carry_names"]["counts"] == {"not_seen": 1}
    config = ws.config()
    with State(config.database_url) as state:
        with state.session() as session:
            file_id = session.scalar(
                sa.select(MediaFile.id).where(MediaFile.source_path.like(f"%{TWO}"))
            )
        approved = Reviewer(config, state, "reviewer").approve([file_id], "obama", face=1)
        # The move recorded the carry-over (the hook in the journal's gate), in the
        # approval's group, from what facesort stored: no Immich call.
        assert _carries(state)[-1] == (approved.group_id, "obama", CarryStatus.PENDING)
    new_path = f"{IMMICH_PHOTOS}/library/obama/{TWO}"
    assert ws.files()[TWO] == "library/obama"
    assert not double.face_writes

    code, out, err = facesort_cli("--config", ws.config_path, "run")

    assert code == 0, out + err
    # The next run rescanned (no new file, but a moved one), waited for Immich's
    # detection, and gave its face at the same place the person.
    people = {face.person for face in double.asset_at(new_path).faces}
    assert "obama" in people, people
    assert [w.action for w in double.face_writes] == ["assign"]
    assert "Immich: names carried to 1 file (1 assigned)" in out
    assert "nothing to do" not in err
    with State(config.database_url) as state:
        assert _carries(state)[-1] == (approved.group_id, "obama", CarryStatus.CARRIED)

    # Immich's API cannot take a detected face back from a person: undoing the approval
    # moves the file back and leaves the face named (the asset goes offline).
    code, out, err = facesort_cli("--config", ws.config_path, "review", "undo", approved.group_id)
    assert code == 0, out + err
    assert ws.files()[TWO] == "review/multiple_faces"


def test_an_approval_undone_before_the_next_run_carries_nothing(make_workspace, immich_double):
    ws = make_workspace(stage=(), extras=False)
    shutil.copyfile(next(PHOTOS.rglob(TWO)), ws.staging / TWO)
    double = immich_double(ws, seeded=False)
    configure_immich(ws, double.url)
    run_once(ws.config(), workers=1, sleep=_short_sleep)
    config = ws.config()
    with State(config.database_url) as state:
        reviewer = Reviewer(config, state, "reviewer")
        with state.session() as session:
            file_id = session.scalar(sa.select(MediaFile.id))
        approved = reviewer.approve([file_id], "obama", face=1)
        reviewer.undo(approved.group_id)
        # The file is back in review: its carry-over is closed, not left waiting.
        assert _carries(state)[-1] == (approved.group_id, "obama", CarryStatus.NOT_MOVED)

    second = run_once(config, workers=1, sleep=_short_sleep)

    assert second.immich["carry_names"]["waiting"] == 0
    assert not double.face_writes


def test_the_summary_line_counts_files_and_says_what_waits():
    assert summary_line(None) is None
    assert summary_line({"counts": {"not_seen": 2}, "files": 0, "waiting": 0}) is None
    carried = {"counts": {"carried": 2, "created": 1}, "files": 3, "waiting": 1}
    assert summary_line(carried) == (
        "Immich: names carried to 3 files (2 assigned, 1 created), 1 waiting"
    )
    assert summary_line({"counts": {"created": 1}, "files": 1, "waiting": 0}) == (
        "Immich: names carried to 1 file (1 created)"
    )
    assert summary_line({"counts": {}, "files": 0, "waiting": 2}) == (
        "Immich: names carried to 0 files, 2 waiting"
    )


@pytest.mark.parametrize("point", ["journal.linked"])  # recovery finishes the move
def test_an_approval_killed_mid_move_and_retried_records_its_carry_once(
    make_workspace, immich_double, point
):
    ws = make_workspace(stage=(), extras=False)
    shutil.copyfile(next(PHOTOS.rglob(TWO)), ws.staging / TWO)
    double = immich_double(ws, seeded=False)
    configure_immich(ws, double.url)
    run_once(ws.config(), workers=1, sleep=_short_sleep)
    config = ws.config()
    with State(config.database_url) as state, state.session() as session:
        file_id = session.scalar(sa.select(MediaFile.id))
    approve = [sys.executable, "-m", "facesort.cli", "--config", str(ws.config_path),
               "review", "approve", "obama", str(file_id), "--face", "1"]  # fmt: skip

    killed = subprocess.run(
        approve, env={**os.environ, "FACESORT_CRASH_AT": point}, capture_output=True, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    retried = subprocess.run(approve, capture_output=True, text=True, check=False)
    assert retried.returncode == 0, retried.stderr

    assert ws.files()[TWO] == "library/obama"
    with State(config.database_url) as state:
        pending = [c for c in _carries(state) if c[2] == CarryStatus.PENDING]
    assert [c[1] for c in pending] == ["obama"]  # recorded with the move, once
    second = run_once(config, workers=1, sleep=_short_sleep)
    assert second.immich["carry_names"]["counts"] == {"carried": 1}
    assert [w.action for w in double.face_writes] == ["assign"]


def test_a_file_never_carried_for_takes_its_names_from_what_immich_said(
    make_workspace, immich_double
):
    """Sorted while ``carry_names`` was off (or before facesort carried names): a later
    move records the named faces Immich had on the file when facesort read it."""
    from facesort.immich.carry_moves import moves_to_look_at, record_move
    from facesort.state.models import ImmichFile, Transfer
    from facesort.vocab import TransferAction, TransferOp

    ws = make_workspace(stage=(), extras=False)
    shutil.copyfile(next(PHOTOS.rglob("lin-manuel-miranda.png")), ws.staging / "lin.png")
    double = immich_double(ws, seeded=False)
    configure_immich(ws, double.url, carry_names=False)
    run_once(ws.config(), workers=1, sleep=_short_sleep)
    config = ws.config()
    with State(config.database_url) as state:
        assert not _carries(state)
        with state.session() as session:
            read = session.scalars(sa.select(ImmichFile)).one()

            def moved(action: TransferAction) -> int:
                move = Transfer(
                    file_id=read.file_id, action=action, op=TransferOp.MOVE,
                    src="/a/lin.png", dst="/b/lin.png", group_id="g", actor="t",
                )  # fmt: skip
                return record_move(session, move)

            assert moved(TransferAction.ROUTE) == 0  # the run's own: recorded by the run
            assert moved(TransferAction.RESORT) == 1
            session.flush()
            assert moved(TransferAction.RESORT) == 0  # it waits already: nothing new
            (row,) = session.scalars(sa.select(ImmichCarry)).all()
            assert (row.old_asset_id, row.person_name) == (read.asset_id, "lin-manuel-miranda")
        # Off: the pass would not look, so the run queues no rescan for it.
        assert moves_to_look_at(state, config) == 0
