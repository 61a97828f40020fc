"""The largest groups of unknown faces waiting in the review queue (current state).

Unknown faces are rows of the ``face`` table without a sure match (no person, or only
a nearest person at an uncertain or unknown distance) that nobody named in review.
Once faces have been clustered (``face.cluster_id``, written by the nightly
facesort_recluster run), the report lists the largest clusters: naming one sorts many
photos at once. Before that, it lists the queued files with the most unknown faces.

Face rows and cluster assignments are not versioned (a re-sort rewrites a file's
faces, clustering relabels them every night), so this part of the report always shows
the state when the report is made, and says so; it is not part of a week's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from facesort.state import State
from facesort.state.models import Face, MediaFile
from facesort.vocab import Confidence, FileStatus, Place

if TYPE_CHECKING:
    import pandas as pd

EXAMPLES = 3


@dataclass
class UnknownFaces:
    as_of: datetime
    clustered: bool  # the face table has cluster ids
    unknown_faces: int  # unknown faces in files waiting in the review queue
    files: int  # files with at least one
    table: pd.DataFrame  # clusters (cluster, faces, files, examples) or files (file, ...)


def _cluster_label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # ids read back as floats next to missing ones
    return str(value)


def unknown_faces(state: State, *, limit: int, as_of: datetime) -> UnknownFaces:
    import pandas as pd

    with state.session() as session:
        rows = session.execute(
            sa.select(
                Face.id, Face.file_id, Face.cluster_id, MediaFile.current_path, MediaFile.category
            )
            .join(MediaFile, MediaFile.id == Face.file_id)
            .where(
                # not sure, and not named by a person in review (confidence "confirmed")
                Face.person.is_(None)
                | Face.confidence.not_in((Confidence.SURE, Confidence.CONFIRMED)),
                MediaFile.status == FileStatus.DONE,
                MediaFile.place == Place.REVIEW,
            )
            .order_by(Face.id)
        ).all()
    faces = pd.DataFrame.from_records(
        [tuple(r) for r in rows], columns=["face_id", "file_id", "cluster", "file", "category"]
    )
    clustered = bool(faces["cluster"].notna().any())
    files = int(faces["file_id"].nunique())
    if clustered:
        grouped = faces.dropna(subset=["cluster"]).groupby("cluster", sort=False)
        table = pd.DataFrame(
            {
                "faces": grouped.size(),
                "files": grouped["file_id"].nunique(),
                "examples": grouped["file"].agg(
                    lambda paths: "\n".join(list(dict.fromkeys(paths))[:EXAMPLES])
                ),
            }
        )
        table = table.rename_axis("cluster").reset_index()
        table["cluster"] = table["cluster"].map(_cluster_label)
    else:
        grouped = faces.groupby(["file", "category"], sort=False)
        table = grouped.size().rename("unknown_faces").reset_index()
    sort_by = "faces" if clustered else "unknown_faces"
    first = "cluster" if clustered else "file"
    table = table.sort_values([sort_by, first], ascending=[False, True], kind="stable").head(limit)
    return UnknownFaces(
        as_of=as_of,
        clustered=clustered,
        unknown_faces=len(faces),
        files=files,
        table=table.reset_index(drop=True),
    )
