"""Names carried over, killed around a face write and run again: no second face.

``facesort run`` is started in a subprocess that kills itself (``FACESORT_CRASH_AT``)
after a carry-over's write was recorded but before it was sent (``planned``), or after
Immich got it but before facesort recorded that (``sent``); then a normal run. Immich
(the double) must end with exactly one face of the person on the new asset, the write
sent once (``sent``) or once after the retry (``planned``), and the record closed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest
import sqlalchemy as sa
from conftest import IMMICH_PHOTOS, PHOTOS, configure_immich

from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import ImmichCarry
from facesort.vocab import CarryStatus

pytestmark = pytest.mark.slow

LIN = "lin-manuel-miranda.png"
NEW_LIN = f"{IMMICH_PHOTOS}/library/lin-manuel-miranda/{LIN}"


def _facesort_killed_at(config, point: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FACESORT_CRASH_AT": point}
    return subprocess.run(
        [sys.executable, "-m", "facesort.cli", "--config", str(config), "run", "--workers", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _rows(ws) -> list[ImmichCarry]:
    state = State(ws.config().database_url)
    try:
        with state.session() as session:
            rows = session.scalars(sa.select(ImmichCarry)).all()
            session.expunge_all()
            return list(rows)
    finally:
        state.dispose()


@pytest.mark.parametrize(
    ("machine_learning", "point", "write", "status"),
    [
        (False, "immich.carry.planned", "create", CarryStatus.CREATED),
        (False, "immich.carry.sent", "create", CarryStatus.CREATED),
        (True, "immich.carry.sent", "assign", CarryStatus.CARRIED),
    ],
)
def test_a_carry_killed_around_its_write_and_run_again_makes_one_face(
    machine_learning, point, write, status, make_workspace, immich_double
):
    ws = make_workspace(stage=(), extras=False)
    shutil.copyfile(next(PHOTOS.rglob(LIN)), ws.staging / LIN)
    double = immich_double(ws, seeded=False)
    configure_immich(ws, double.url)
    double.scan_now()
    double.settle()
    double.machine_learning = machine_learning

    killed = _facesort_killed_at(ws.config_path, point)

    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert ws.files()[LIN] == "library/lin-manuel-miranda"
    (row,) = _rows(ws)
    assert row.status == CarryStatus.WRITING  # recorded before it was sent
    sent_before = len(double.face_writes)
    assert sent_before == (1 if point.endswith("sent") else 0)

    run_once(ws.config(), workers=1, sleep=lambda _: None)

    source = "manual" if write == "create" else "machine-learning"
    faces = double.asset_at(NEW_LIN).faces
    assert [(f.person, f.source) for f in faces] == [("lin-manuel-miranda", source)]
    assert [w.action for w in double.face_writes] == [write]  # sent once, never twice
    (row,) = _rows(ws)
    assert row.status == status and row.face_id == faces[0].id
