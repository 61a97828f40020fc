"""Records that follow a person's new name: face labels, the audit trail's events, named
clusters, and the files outside their folder that name them (a copy's record, a
reason). Each change keeps what was there before, in the action's record, in the
transaction that makes it, so that undo puts exactly that back.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from facesort.names import person_key
from facesort.review.intent import note_details
from facesort.state import State
from facesort.state.models import Event, FaceCluster, MediaFile, PersonThreshold
from facesort.state.models import Face as FaceRow

# The keys in review_action.details (distinct from the review actions' own "faces",
# "cluster", "references": the review page's generic redo must not misread them).
FACE_KEY, EVENT_KEY, CLUSTER_KEY, FILE_KEY, THRESHOLD_KEY = (
    "renamed_faces",
    "renamed_events",
    "renamed_clusters",
    "renamed_files",
    "renamed_thresholds",
)


def renamed_list(names: list[str] | None, old: str, new: str) -> list[str]:
    """``names`` with ``old`` replaced by ``new`` (once: a merge may make them one)."""
    out: list[str] = []
    for name in names or []:
        name = new if name == old else name
        if name not in out:
            out.append(name)
    return out


def renamed_reason(
    reason: dict[str, Any] | None, old: str, new: str, photos: dict[str, str]
) -> dict[str, Any] | None:
    """A decision's reason with the person's new name, and the reference photos that
    matched under their new names (``photos``: old label -> new label)."""
    if not reason:
        return reason
    out = copy.deepcopy(reason)
    for face in out.get("faces") or []:
        if not isinstance(face, dict):
            continue
        for key in ("person", "runner_up"):
            if face.get(key) == old:
                face[key] = new
        label = face.get("reference")
        if isinstance(label, str):
            if label in photos:
                face["reference"] = photos[label]
            elif label.startswith(f"{old}/"):
                face["reference"] = f"{new}/{label[len(old) + 1 :]}"
    votes = out.get("sure_votes")
    if isinstance(votes, dict) and old in votes:
        votes[new] = votes.get(new, 0) + votes.pop(old)
    if isinstance(out.get("people"), list):
        out["people"] = renamed_list(out["people"], old, new)
    return out


def mentions(column, name: str):
    """A cheap SQL filter for JSON holding ``name`` (checked exactly in Python after)."""
    return sa.cast(column, sa.Text).like(f"%{json.dumps(name)[1:-1]}%")


def follow(
    state: State, group_id: str, old: str, new: str, photos: dict[str, str], skip: set[int]
) -> dict[str, int]:
    """Rename ``old`` to ``new`` in every record but those of the files the journal moved
    (``skip``: their records changed with their move). Returns counts of what changed."""
    counts = dict.fromkeys(("faces", "events", "clusters", "files"), 0)
    with state.session() as session:
        faces: dict[str, str] = {}
        for row in session.scalars(sa.select(FaceRow).where(FaceRow.person == old)):
            faces[str(row.id)] = row.person
            row.person = new
        events: dict[str, list[str]] = {}
        for row in session.scalars(sa.select(Event).where(mentions(Event.people, old))):
            if old in (row.people or []):
                events[str(row.id)] = list(row.people)
                row.people = renamed_list(row.people, old, new)
        clusters: dict[str, str] = {}
        for row in session.scalars(sa.select(FaceCluster).where(FaceCluster.person == old)):
            clusters[str(row.id)] = row.person
            row.person = new
        files: dict[str, list[Any]] = {}
        query = sa.select(MediaFile).where(
            sa.or_(mentions(MediaFile.people, old), mentions(MediaFile.reason, old))
        )
        for row in session.scalars(query):
            if row.id in skip:
                continue
            people = renamed_list(row.people, old, new) if row.people is not None else None
            reason = renamed_reason(row.reason, old, new, photos)
            if people == row.people and reason == row.reason:
                continue
            files[str(row.id)] = [row.people, row.reason]
            row.people, row.reason = people, reason
        thresholds = _threshold_rows(session, old, new)
        from facesort.thresholds import move_thresholds_in

        move_thresholds_in(session, old, new)
        note_details(
            session,
            group_id,
            **{FACE_KEY: faces, EVENT_KEY: events, CLUSTER_KEY: clusters, FILE_KEY: files},
            **{THRESHOLD_KEY: thresholds},
        )
    counts.update(faces=len(faces), events=len(events), clusters=len(clusters), files=len(files))
    return counts


def unfollow(state: State, details: dict[str, Any]) -> None:
    """Put back what :func:`follow` changed (undo)."""
    with state.session() as session:
        for face_id, person in (details.get(FACE_KEY) or {}).items():
            row = session.get(FaceRow, int(face_id))
            if row is not None:
                row.person = person
        for event_id, people in (details.get(EVENT_KEY) or {}).items():
            row = session.get(Event, int(event_id))
            if row is not None:
                row.people = people
        for cluster_id, person in (details.get(CLUSTER_KEY) or {}).items():
            row = session.get(FaceCluster, int(cluster_id))
            if row is not None:
                row.person = person
        for file_id, (people, reason) in (details.get(FILE_KEY) or {}).items():
            row = session.get(MediaFile, int(file_id))
            if row is not None:
                row.people, row.reason = people, reason
        for key, stored in (details.get(THRESHOLD_KEY) or {}).items():
            row = session.get(PersonThreshold, key)
            if row is not None:
                session.delete(row)
                session.flush()
            if stored is not None:
                person, sure, review, set_by, set_at = stored
                session.add(
                    PersonThreshold(person_key=key, person=person, sure_distance=sure,
                                    review_distance=review, set_by=set_by,
                                    set_at=datetime.fromisoformat(set_at))
                )  # fmt: skip


def _threshold_rows(session, old: str, new: str) -> dict[str, list | None]:
    """Both people's own thresholds as they are before the rename (None: none stored)."""
    rows: dict[str, list | None] = {}
    for key in {person_key(old), person_key(new)}:
        row = session.get(PersonThreshold, key)
        rows[key] = None if row is None else [
            row.person, row.sure_distance, row.review_distance, row.set_by,
            row.set_at.isoformat(),
        ]  # fmt: skip
    return rows
