"""facesort_recluster, run with dag.test() on a review queue built from the shared photos."""

from __future__ import annotations

import paths
import pytest
import sqlalchemy as sa
from review_helpers import (
    OBAMA_UNIDENTIFIED,
    OBAMA_WITH_OTHERS,
    backdate,
    file_id,
    queue_without_obama,
)

from facesort.references import add_reference_photos
from facesort.review.actions import Reviewer
from facesort.state.models import Face, FaceCluster, MediaFile, ReviewAction

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


DAG_FILE = paths.DAGS / "facesort_recluster.py"


def _load_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("facesort_recluster")


def test_dag_file_is_thin_and_documented(airflow_db):
    dag = _load_dag()
    assert dag.doc_md and "re-check" in dag.doc_md
    assert "facesort" in dag.tags
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {t.task_id for t in dag.tasks} == {
        "recover_interrupted",
        "recheck_review_queue",
        "recluster_unknown_faces",
        "purge_trash",
        "announce_library",
    }
    assert dag.get_task("recluster_unknown_faces").pool == "facesort_cpu"


def test_nightly_run_rechecks_clusters_and_purges(make_workspace, airflow_db, monkeypatch, photos):
    ws = make_workspace()
    state = queue_without_obama(ws)
    config = ws.config()
    assert ws.files()["lin-manuel-miranda.png"] == "review/unidentified"
    # Two rejected files: one long ago (past review.trash_days), one just now.
    reviewer = Reviewer(config, state, "test")
    old, fresh = file_id(state, "truncated.jpg"), file_id(state, "obama-240p.jpg")
    reviewer.reject([old])
    reviewer.reject([fresh])
    backdate(state, old, days=config.review.trash_days + 1)
    # During the day someone adds a reference photo of lin-manuel-miranda.
    add_reference_photos(
        config, "lin-manuel-miranda", [photos / "incoming" / "lin-manuel-miranda.png"]
    )
    monkeypatch.setenv("FACESORT_CONFIG", str(ws.config_path))

    run = _load_dag().test()

    assert run.state == "success"
    files = ws.files()
    # (a) the re-check moved what now matches, and only that
    assert files["lin-manuel-miranda.png"] == "library/lin-manuel-miranda"
    assert all(files[name] == "review/unidentified" for name in OBAMA_UNIDENTIFIED)
    with state.session() as session:
        (recheck,) = session.scalars(sa.select(ReviewAction).where(ReviewAction.kind == "recheck"))
        assert recheck.group_id.startswith("recheck-")
        # (b) one cluster: obama's nine faces (seven photos alone, two with others)
        (cluster,) = session.scalars(sa.select(FaceCluster).where(FaceCluster.status == "active"))
        members = (
            session.execute(
                sa.select(MediaFile.current_path)
                .join(Face, Face.file_id == MediaFile.id)
                .where(Face.cluster_id == cluster.id)
            )
            .scalars()
            .all()
        )
    names = sorted(p.rsplit("/", 1)[1] for p in members)
    assert names == sorted(OBAMA_UNIDENTIFIED | OBAMA_WITH_OTHERS)
    assert cluster.face_count == 9 and cluster.file_count == 9
    assert len(cluster.representative_face_ids) == config.review.cluster_shown_faces
    # (c) the old rejection is purged, the fresh one waits in the trash
    trash = sorted(p.name for p in ws.root.joinpath("trash").iterdir())
    assert trash == ["obama-240p.jpg"]
    with state.session() as session:
        purged = session.get(MediaFile, old)
        assert purged.place == "deleted" and purged.current_path is None
    state.dispose()
