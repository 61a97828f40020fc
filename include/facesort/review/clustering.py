"""Clusters of unknown faces, kept stable from night to night.

A face is *unknown* when matching found no sure person for it and no person named it in
review, and its file is in the library or the review queue (not a duplicate, not in
the trash). Unknown faces are clustered like Immich does, with a density-based method
(DBSCAN, scikit-learn): a face with faces weighing at least ``review.cluster_min_faces``
(itself included) within ``review.cluster_distance`` is a *core* face; a cluster is
core faces linked through each other, plus the faces next to them; every other face is
noise (a stranger seen once). A person's faces across the sampled frames of one video
are one *sighting*, not dozens of similar faces: within each video, faces closer than
the distance limit are chained into tracks, and each track takes part in the clustering
as one face (its most central one); all its faces then join that face's cluster.

Cluster ids stay stable: each new cluster takes the id of the previous night's cluster
it shares the most faces with (largest overlaps first, each id once); a cluster with no
predecessor gets a new id, and a previous cluster left without members is dissolved.
Each cluster shows its few faces nearest its centre; naming one adds faces spread across
it as references (see :meth:`facesort.review.actions.Reviewer.name_cluster`).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import sqlalchemy as sa

from facesort.config import Config
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import FaceCluster, MediaFile, utcnow
from facesort.vocab import Category, ClusterStatus, Confidence, FileStatus, Kind, Place

if TYPE_CHECKING:
    import numpy as np

UNKNOWN_CONFIDENCES = (Confidence.UNKNOWN, Confidence.UNCERTAIN)


@dataclass
class UnknownFaces:
    """The unknown faces, in face id order, as arrays."""

    face_ids: np.ndarray  # (n,) int64
    file_ids: np.ndarray  # (n,) int64
    encodings: np.ndarray  # (n, 128) float32
    video: np.ndarray  # (n,) bool: a face in a frame of a video
    previous: np.ndarray  # (n,) int64: the face's active cluster before, or -1

    def __len__(self) -> int:
        return len(self.face_ids)


@dataclass
class ClusterReport:
    faces: int = 0  # unknown faces considered
    clustered: int = 0  # faces in a cluster
    clusters: int = 0
    new: int = 0  # clusters without a predecessor
    kept: int = 0  # clusters that kept last night's id
    dissolved: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # cluster id -> faces

    def as_dict(self) -> dict[str, int]:
        """The counts (``sizes`` left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sizes"}


def _unknown_face_query():
    return (
        sa.select(
            FaceRow.id,
            FaceRow.file_id,
            FaceRow.frame,
            FaceRow.encoding,
            FaceRow.cluster_id,
            MediaFile.kind,
        )
        .join(MediaFile, MediaFile.id == FaceRow.file_id)
        .where(
            FaceRow.confidence.in_(UNKNOWN_CONFIDENCES),
            FaceRow.encoding.is_not(None),
            MediaFile.status == FileStatus.DONE,
            MediaFile.place.in_((Place.LIBRARY, Place.REVIEW)),
            sa.or_(MediaFile.category.is_(None), MediaFile.category != Category.DUPLICATES),
        )
        .order_by(FaceRow.id)
    )


def load_unknown_faces(state: State) -> UnknownFaces:
    import numpy as np

    with state.session() as session:
        rows = session.execute(_unknown_face_query()).all()
        active = set(
            session.scalars(
                sa.select(FaceCluster.id).where(FaceCluster.status == ClusterStatus.ACTIVE)
            )
        )
    n = len(rows)
    encodings = np.empty((n, 128), dtype=np.float32)
    for i, row in enumerate(rows):
        encodings[i] = np.frombuffer(row.encoding, dtype="<f8")
    previous = np.array(
        [r.cluster_id if r.cluster_id in active else -1 for r in rows], dtype=np.int64
    )
    return UnknownFaces(
        face_ids=np.array([r.id for r in rows], dtype=np.int64),
        file_ids=np.array([r.file_id for r in rows], dtype=np.int64),
        encodings=encodings,
        video=np.array([r.kind == Kind.VIDEO for r in rows], dtype=bool),
        previous=previous,
    )


def cluster_labels(encodings: np.ndarray, *, distance: float, min_faces: int) -> np.ndarray:
    """DBSCAN labels (-1: noise) of face encodings (n, 128)."""
    import numpy as np
    from sklearn.cluster import DBSCAN

    if len(encodings) == 0:
        return np.zeros(0, dtype=np.int64)
    # Brute force (BLAS matrix products) beats tree indexes on 128-dimensional data.
    model = DBSCAN(eps=distance, min_samples=min_faces, metric="euclidean", algorithm="brute")
    return model.fit_predict(encodings).astype(np.int64)


def sightings(
    encodings: np.ndarray, file_ids: np.ndarray, video: np.ndarray, distance: float
) -> np.ndarray:
    """For each face, the face that stands for its sighting: itself for a photo's face;
    for a video's, the most central face of its track (faces of the video chained
    within ``distance``)."""
    import numpy as np

    stands_for = np.arange(len(encodings))
    for file_id in np.unique(file_ids[video]):
        faces = np.flatnonzero(file_ids == file_id)
        tracks = cluster_labels(encodings[faces], distance=distance, min_faces=1)
        for track in np.unique(tracks):
            members = faces[tracks == track]
            centre = encodings[members].mean(axis=0)
            central = members[np.argmin(np.linalg.norm(encodings[members] - centre, axis=1))]
            stands_for[members] = central
    return stands_for


def cluster_faces(faces: UnknownFaces, *, distance: float, min_faces: int) -> np.ndarray:
    """Cluster labels of the unknown faces (-1: noise), a video's track counting once."""
    import numpy as np

    stands_for = sightings(faces.encodings, faces.file_ids, faces.video, distance)
    points = np.unique(stands_for)
    labels = cluster_labels(faces.encodings[points], distance=distance, min_faces=min_faces)
    label_of = np.full(len(faces), -1, dtype=np.int64)
    label_of[points] = labels
    return label_of[stands_for]


def stable_ids(labels: np.ndarray, previous: np.ndarray) -> dict[int, int]:
    """New label -> previous cluster id it continues (largest shared faces first)."""
    overlaps = Counter(
        (int(label), int(prev))
        for label, prev in zip(labels, previous, strict=True)
        if label >= 0 and prev >= 0
    )
    continued: dict[int, int] = {}
    taken: set[int] = set()
    for (label, prev), _ in sorted(overlaps.items(), key=lambda kv: (-kv[1], kv[0])):
        if label in continued or prev in taken:
            continue
        continued[label] = prev
        taken.add(prev)
    return continued


def representatives(encodings: np.ndarray, file_ids: np.ndarray, count: int) -> list[int]:
    """Indexes of the faces nearest the cluster's centre, one per file while possible."""
    import numpy as np

    order = np.argsort(np.linalg.norm(encodings - encodings.mean(axis=0), axis=1), kind="stable")
    chosen: list[int] = []
    seen_files: set[int] = set()
    for index in order:
        if int(file_ids[index]) not in seen_files:
            chosen.append(int(index))
            seen_files.add(int(file_ids[index]))
        if len(chosen) == count:
            return chosen
    for index in order:
        if int(index) not in chosen:
            chosen.append(int(index))
        if len(chosen) == count:
            break
    return chosen


def recluster(state: State, config: Config) -> ClusterReport:
    """Cluster tonight's unknown faces and store the clusters with stable ids."""
    import numpy as np

    settings = config.review
    faces = load_unknown_faces(state)
    report = ClusterReport(faces=len(faces))
    labels = cluster_faces(
        faces, distance=settings.cluster_distance, min_faces=settings.cluster_min_faces
    )
    continued = stable_ids(labels, faces.previous)
    now = utcnow()
    with state.session() as session:
        cluster_of_label: dict[int, int] = {}
        for label in sorted(set(labels.tolist()) - {-1}):
            members = np.flatnonzero(labels == label)
            shown = representatives(
                faces.encodings[members], faces.file_ids[members], settings.cluster_shown_faces
            )
            values = {
                "status": ClusterStatus.ACTIVE,
                "face_count": len(members),
                "file_count": len(set(faces.file_ids[members].tolist())),
                "representative_face_ids": [int(faces.face_ids[members[i]]) for i in shown],
                "updated_at": now,
            }
            if label in continued:
                cluster_id = continued[label]
                session.execute(
                    sa.update(FaceCluster).where(FaceCluster.id == cluster_id).values(**values)
                )
                report.kept += 1
            else:
                cluster = FaceCluster(created_at=now, **values)
                session.add(cluster)
                session.flush()
                cluster_id = cluster.id
                report.new += 1
            cluster_of_label[label] = cluster_id
            report.sizes[cluster_id] = len(members)
        assigned = np.array(
            [cluster_of_label.get(int(label), -1) for label in labels], dtype=np.int64
        )
        changed = np.flatnonzero(assigned != faces.previous)
        if len(changed):
            session.execute(
                sa.update(FaceRow),
                [
                    {
                        "id": int(faces.face_ids[i]),
                        "cluster_id": None if assigned[i] < 0 else int(assigned[i]),
                    }
                    for i in changed
                ],
            )
        gone = session.scalars(
            sa.select(FaceCluster).where(
                FaceCluster.status == ClusterStatus.ACTIVE,
                FaceCluster.id.not_in(list(cluster_of_label.values()) or [-1]),
            )
        ).all()
        for cluster in gone:
            cluster.status = ClusterStatus.DISSOLVED
            cluster.updated_at = now
        if gone:
            session.execute(
                sa.update(FaceRow)
                .where(FaceRow.cluster_id.in_([c.id for c in gone]))
                .values(cluster_id=None)
            )
        # Faces matched or named since leave the clusters still shown.
        session.execute(
            sa.update(FaceRow)
            .where(
                FaceRow.cluster_id.in_(list(cluster_of_label.values()) or [-1]),
                FaceRow.confidence.not_in(UNKNOWN_CONFIDENCES),
            )
            .values(cluster_id=None)
        )
        report.dissolved = len(gone)
    report.clusters = len(cluster_of_label)
    report.clustered = int((labels >= 0).sum())
    return report


def cluster_members(
    state: State, cluster_id: int, *, of_files: list[int] | None = None
) -> list[tuple[FaceRow, MediaFile]]:
    """The unknown faces of a cluster whose files are on disk, in face id order. With
    ``of_files``: its faces in those files, named or not (a naming that was killed
    halfway and is run again has labelled some already)."""
    if of_files is None:
        which = FaceRow.confidence.in_(UNKNOWN_CONFIDENCES)
    else:
        which = FaceRow.file_id.in_(of_files)
    with state.session() as session:
        rows = session.execute(
            sa.select(FaceRow, MediaFile)
            .join(MediaFile, MediaFile.id == FaceRow.file_id)
            .where(
                FaceRow.cluster_id == cluster_id,
                which,
                MediaFile.status == FileStatus.DONE,
                MediaFile.place.in_((Place.LIBRARY, Place.REVIEW)),
            )
            .order_by(FaceRow.id)
        ).all()
    return [
        (face, media)
        for face, media in rows
        if media.current_path and os.path.isfile(media.current_path)
    ]


def spread_sample(
    members: list[tuple[FaceRow, MediaFile]], count: int
) -> list[tuple[FaceRow, MediaFile]]:
    """Up to ``count`` faces spread across the cluster (the most central one, then each
    time the face farthest from those chosen), from different files while possible:
    references that cover the person's looks, not ``count`` copies of one look."""
    import numpy as np

    if not members:
        return []
    encodings = np.vstack([np.frombuffer(face.encoding, dtype="<f8") for face, _ in members])
    files = [media.id for _, media in members]
    start = int(np.argmin(np.linalg.norm(encodings - encodings.mean(axis=0), axis=1)))
    chosen = [start]
    nearest = np.linalg.norm(encodings - encodings[start], axis=1)
    while len(chosen) < min(count, len(members)):
        used_files = {files[i] for i in chosen}
        candidates = [i for i in range(len(members)) if i not in chosen]
        fresh = [i for i in candidates if files[i] not in used_files]
        pool = fresh or candidates
        pick = max(pool, key=lambda i: (nearest[i], -i))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(encodings - encodings[pick], axis=1))
    return [members[i] for i in chosen]
