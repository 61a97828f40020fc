"""Clusters of unknown faces: stable from night to night, and naming one.

Real faces: the shared photos sorted without obama's reference photos, so his faces
are the unknown faces to cluster.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from review_helpers import (
    OBAMA_UNIDENTIFIED,
    OBAMA_WITH_OTHERS,
    file_id,
    queue_without_obama,
    record,
)

from facesort.references import ReferenceLoader
from facesort.review.actions import Reviewer
from facesort.review.clustering import recluster, stable_ids
from facesort.review.results import ReviewError
from facesort.sample import stage_files
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import Router
from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import Face, FaceCluster, MediaFile
from facesort.vocab import Confidence

CONFIRMED = Confidence.CONFIRMED

pytestmark = pytest.mark.slow


def _clusters(state) -> dict[int, set[str]]:
    """Active cluster id -> names of the files of its faces."""
    with state.session() as session:
        rows = session.execute(
            sa.select(Face.cluster_id, MediaFile.source_path)
            .join(MediaFile, MediaFile.id == Face.file_id)
            .join(FaceCluster, FaceCluster.id == Face.cluster_id)
            .where(FaceCluster.status == "active")
        ).all()
    clusters: dict[int, set[str]] = {}
    for cluster_id, path in rows:
        clusters.setdefault(cluster_id, set()).add(os.path.basename(path))
    return clusters


def _membership(state) -> dict[int, int | None]:
    with state.session() as session:
        return dict(session.execute(sa.select(Face.id, Face.cluster_id)).all())


def test_clusters_stay_stable_across_nights(make_workspace, photos):
    ws = make_workspace(stage=("incoming",), extras=False)
    state = queue_without_obama(ws)
    config = ws.config()
    incoming_obama = {"obama1.jpg", "obama_small.jpg", "obama-1080p.jpg", *OBAMA_WITH_OTHERS}

    first = recluster(state, config)  # night 1

    clusters = _clusters(state)
    assert list(clusters.values()) == [incoming_obama]
    (obama_cluster,) = clusters
    assert (first.new, first.kept, first.clusters) == (1, 0, 1)
    membership = _membership(state)

    again = recluster(state, config)  # the same night again: nothing changes
    assert (again.new, again.kept, again.dissolved) == (0, 1, 0)
    assert _membership(state) == membership

    # Day 2: more photos of him arrive and are sorted; night 2.
    stage_files(ws.root, photos, ["edge"])
    run_once(config, workers=1)
    second = recluster(state, config)

    assert _clusters(state) == {obama_cluster: OBAMA_UNIDENTIFIED | OBAMA_WITH_OTHERS}
    assert (second.new, second.kept, second.dissolved) == (0, 1, 0)
    # Faces that were in it stay in it, under the same id.
    now = _membership(state)
    assert all(now[face] == cluster for face, cluster in membership.items() if cluster)
    with state.session() as session:
        cluster = session.get(FaceCluster, obama_cluster)
        assert (cluster.face_count, cluster.file_count) == (9, 9)
        assert len(set(cluster.representative_face_ids)) == config.review.cluster_shown_faces

    # Day 3: a person names one of his faces in review; night 3: it leaves the cluster.
    reviewer = Reviewer(config, state, "tester")
    reviewer.approve([file_id(state, "obama1.jpg")], "obama")
    recluster(state, config)
    assert _clusters(state) == {
        obama_cluster: (OBAMA_UNIDENTIFIED | OBAMA_WITH_OTHERS) - {"obama1.jpg"}
    }
    state.dispose()


def test_stable_ids_follow_the_largest_overlap():
    previous = np.array([7, 7, 7, 7, 9, 9, 9, -1, -1])
    # Same groups, labels numbered differently by tonight's run.
    assert stable_ids(np.array([1, 1, 1, 1, 0, 0, 0, -1, -1]), previous) == {1: 7, 0: 9}
    # Cluster 7 split: its larger part keeps the id, the smaller part is new.
    assert stable_ids(np.array([0, 0, 0, 2, 1, 1, 1, -1, -1]), previous) == {0: 7, 1: 9}
    # 7 and 9 merged: the merged cluster keeps the id it shares the most faces with.
    assert stable_ids(np.array([0, 0, 0, 0, 0, 0, 0, 0, -1]), previous) == {0: 7}
    # Nothing shared: all new.
    assert stable_ids(np.array([0, 0, 0]), np.array([-1, -1, -1])) == {}


def test_a_video_counts_as_one_sighting(make_workspace, photos):
    # lin-manuel-miranda is unknown: the clip's frames give a dozen faces of him, and one
    # photo gives one more. That is two sightings, not a dozen similar faces.
    ws = make_workspace(stage=("video",), extras=False)
    shutil.copy(photos / "incoming" / "lin-manuel-miranda.png", ws.staging)
    run_once(ws.config(), workers=1)
    state = State(ws.config().database_url)
    with state.session() as session:
        video_faces = session.scalar(
            sa.select(sa.func.count()).select_from(Face).where(Face.frame.is_not(None))
        )
    assert video_faces >= 6

    assert recluster(state, ws.config()).clusters == 0  # needs 3 sightings

    two = ws.config().model_copy(
        update={"review": ws.config().review.model_copy(update={"cluster_min_faces": 2})}
    )
    report = recluster(state, two)
    # One cluster: his track in the clip and his photo (another face in the clip is not him).
    assert report.clusters == 1 and video_faces // 2 < report.clustered < report.faces
    assert list(_clusters(state).values()) == [
        {"short_hamilton_clip.mp4", "lin-manuel-miranda.png"}
    ]
    state.dispose()


def test_naming_a_cluster_makes_references_and_routes_its_photos(make_workspace, photos):
    ws = make_workspace(settings={"review": {"cluster_reference_faces": 4}})
    state = queue_without_obama(ws)
    config = ws.config()
    recluster(state, config)
    ((cluster_id, _),) = _clusters(state).items()
    reviewer = Reviewer(config, state, "tester")

    result = reviewer.name_cluster(cluster_id, "Barack Obama")

    # Up to cluster_reference_faces of its faces, from different photos, are references.
    references = sorted(os.listdir(ws.references / "Barack Obama"))
    assert len(references) == 4 and len({r.rsplit(" face ", 1)[0] for r in references}) == 4
    loaded = ReferenceLoader(state, config).load()
    assert loaded.count_by_person()["Barack Obama"] == 4 and not loaded.problems
    # Its photos of him alone go to his folder; group photos stay for a person to decide.
    files = ws.files()
    assert {
        name for name, folder in files.items() if folder == "library/Barack Obama"
    } == OBAMA_UNIDENTIFIED
    assert all(files[name] == "review/multiple_faces" for name in OBAMA_WITH_OTHERS)
    assert len(result.moved) == len(OBAMA_UNIDENTIFIED)
    with state.session() as session:
        cluster = session.get(FaceCluster, cluster_id)
        assert (cluster.status, cluster.person) == ("named", "Barack Obama")
        labels = session.scalars(sa.select(Face.person).where(Face.cluster_id == cluster_id)).all()
        confirmed = session.scalars(sa.select(Face).where(Face.confidence == CONFIRMED)).all()
    assert set(labels) == {"Barack Obama"} and len(confirmed) == 9
    # The cluster is not offered again.
    recluster(state, config)
    assert _clusters(state) == {}
    with pytest.raises(ReviewError, match="is named"):
        reviewer.name_cluster(cluster_id, "someone else")

    # facesort learnt: a new photo of him is sorted straight into his folder.
    # (A new framing of one of his photos: not a duplicate of anything kept.)
    with Image.open(photos / "incoming" / "obama1.jpg") as picture:
        width, height = picture.size
        picture.crop((width // 5, 0, width, height)).save(ws.staging / "new_obama.jpg")
    run_once(config, workers=1)
    assert ws.files()["new_obama.jpg"] == "library/Barack Obama"

    # Undo: photos back in the queue, references gone, the cluster offered again.
    reviewer.undo(result.group_id)
    files = ws.files()
    assert all(files[name] == "review/unidentified" for name in OBAMA_UNIDENTIFIED)
    assert not (ws.references / "Barack Obama").exists()  # emptied by the undo: removed
    with state.session() as session:
        assert session.get(FaceCluster, cluster_id).status == "active"
        assert not session.scalars(sa.select(Face).where(Face.confidence == CONFIRMED)).all()
    assert record(state, file_id(state, "obama1.jpg")).category == "unidentified"
    state.dispose()


def test_rerouting_keeps_face_rows_clusters_and_confirmed_labels(make_workspace):
    ws = make_workspace()
    state = queue_without_obama(ws)
    config = ws.config()
    recluster(state, config)
    crowd = file_id(state, "obama_and_biden.jpg")
    # A person says face 3 of the group photo is "Stranger" (it stays in the queue).
    Reviewer(config, state, "tester").add_reference([crowd], "Stranger", face=3)
    before = {f.id: (f.cluster_id, f.person, f.confidence) for f in _faces_of(state, crowd)}

    # The file is decided again and re-routed (as a re-sort does), with the same faces.
    router = Router(config, state, actor="resort", group_id="resort-1")
    media = record(state, crowd)
    evaluation = Evaluator(config, state).reevaluate(media)
    router.route_decision(media, evaluation.decision, action="resort", found=evaluation)

    after = {f.id: (f.cluster_id, f.person, f.confidence) for f in _faces_of(state, crowd)}
    assert after.keys() == before.keys()  # the same rows: ids (and clusters) kept
    assert [a[0] for a in after.values()] == [b[0] for b in before.values()]
    third = list(after)[2]
    assert after[third][1:] == ("Stranger", CONFIRMED)  # a person's word beats the match
    state.dispose()


def _faces_of(state, id_):
    with state.session() as session:
        return list(session.scalars(sa.select(Face).where(Face.file_id == id_).order_by(Face.id)))
