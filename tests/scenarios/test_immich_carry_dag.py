"""``dag.test()`` of facesort_ingest against the Immich double: the file Immich named is
moved into the library, Immich makes a new asset of it without the name, and the
``immich_carry_names`` task defers while Immich works (or, without a triggerer,
reschedules), resumes, and gives the person back to the new asset's face."""

from __future__ import annotations

import shutil

import pytest
from conftest import IMMICH_PHOTOS, PHOTOS, configure_immich
from test_immich_dag import _dag, _task_states, _xcom

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

LIN = "lin-manuel-miranda.png"


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "rescheduled"])
def test_the_ingest_dag_carries_the_name_to_the_new_asset(
    deferrable, airflow_db, make_workspace, immich_double, monkeypatch
):
    monkeypatch.setenv("FACESORT_IMMICH_DEFERRABLE", str(deferrable).lower())
    ws = make_workspace(stage=(), extras=False)
    shutil.copyfile(next(PHOTOS.rglob(LIN)), ws.staging / LIN)
    double = immich_double(ws, seeded=False)
    configure_immich(ws, "http://immich.invalid:2283")
    dag = _dag(monkeypatch, ws.config_path, double.port)

    dag_run = dag.test()

    states = _task_states(dag_run)
    assert dag_run.state == "success", states
    assert states["immich_carry_names"] == "success"
    carried = _xcom(dag_run, "immich_carry_names")
    assert carried["counts"] == {"carried": 1}, carried
    assert carried["finished"]
    assert carried.get("resumed_after_deferral", False) is deferrable
    assert ws.files()[LIN] == "library/lin-manuel-miranda"
    new = double.asset_at(f"{IMMICH_PHOTOS}/library/lin-manuel-miranda/{LIN}")
    assert [f.person for f in new.faces] == ["lin-manuel-miranda"]
    assert [w.action for w in double.face_writes] == ["assign"]
    assert "lin-manuel-miranda" in double.listed_people()
    assert not double.violations
