"""Workers fork from one forkserver that loaded their code and models once
(sorting/workers.py, sorting/worker_start.py). A server outlives the run that started
it, so a later run's workers must still see that run's environment: here a crash point
set after the server started reaches them, and the retry finishes the job."""

from __future__ import annotations

import shutil
from concurrent.futures.process import BrokenProcessPool

import pytest

from facesort import faults
from facesort.sorting.run import run_once
from facesort.sorting.workers import start_worker_server

pytestmark = pytest.mark.slow

FIRST = ("alex_lacamoire1.jpg", "obama1.jpg")
LATER = ("johnsnow_test1.jpg", "obama_and_biden.jpg")


def test_later_workers_take_the_parents_environment(make_workspace, photos, monkeypatch):
    ws = make_workspace(stage=(), extras=False, settings={"batch_size": 1, "workers": 2})
    for name in FIRST:
        shutil.copyfile(photos / "incoming" / name, ws.staging / name)
    start_worker_server()  # the server starts with no crash point in its environment
    run_once(ws.config(), workers=2)
    assert ws.files() == {
        "alex_lacamoire1.jpg": "library/alex_lacamoire",
        "obama1.jpg": "library/obama",
    }

    for name in LATER:
        shutil.copyfile(photos / "incoming" / name, ws.staging / name)
    monkeypatch.setenv(faults.ENV, "journal.linked")
    with pytest.raises(BrokenProcessPool):
        run_once(ws.config(), workers=2)  # a worker kills itself between link and unlink
    monkeypatch.delenv(faults.ENV)
    run_once(ws.config(), workers=2)  # recovery finishes the interrupted move
    assert ws.files() == {
        "alex_lacamoire1.jpg": "library/alex_lacamoire",
        "obama1.jpg": "library/obama",
        "johnsnow_test1.jpg": "library/kit_harington",
        "obama_and_biden.jpg": "review/multiple_faces",
    }
    assert not list(ws.staging.iterdir())
