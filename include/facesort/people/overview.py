"""Everyone facesort knows, and how much of them there is: the people page's list.

A person is a reference folder or a library folder (:func:`facesort.resort.known_people`).
For each: a face to show (one of their faces in the library, a confirmed one first, else
the nearest match), how many reference photos they have, how many files their library
folder holds, how many files in the review queue have a face whose nearest match is
them, when a file was last sorted to them, and whether Immich knows them by name (from
the faces facesort read from Immich, ``immich_file``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.people.known import immich_names, name_key
from facesort.state import State
from facesort.state.models import Event, MediaFile
from facesort.state.models import Face as FaceRow
from facesort.vocab import Confidence, EventAction, FileStatus, Place

# Events that put a file in a person's folder (a rename only moves it along).
SORTED = (
    EventAction.ROUTED,
    EventAction.APPROVED,
    EventAction.RESORTED,
    EventAction.RECHECKED,
    EventAction.NOT_DUPLICATE,
    EventAction.COPIED,
)


@dataclass
class PersonView:
    name: str
    face_id: int | None = None  # a face of theirs to show (served by the review page)
    references: int = 0
    library: int = 0
    in_review: int = 0  # files in the queue whose nearest match is them
    last_sorted: datetime | None = None
    in_immich: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_sorted"] = (
            self.last_sorted.isoformat(timespec="seconds") if self.last_sorted else None
        )
        return data


def people_overview(state: State, config: Config) -> list[PersonView]:
    from facesort.people.photos import photo_files
    from facesort.resort import known_people

    people = {name: PersonView(name) for name in known_people(state, config)}
    by_key = {name_key(n): v for n, v in people.items()}
    for view in people.values():
        view.references = len(photo_files(config, view.name))
    known_in_immich = immich_names(state)
    for key, view in by_key.items():
        view.in_immich = key in known_in_immich
    with state.session() as session:
        library = session.execute(
            sa.select(MediaFile.id, MediaFile.people).where(
                MediaFile.status == FileStatus.DONE, MediaFile.place == Place.LIBRARY
            )
        ).all()
        owner: dict[int, PersonView] = {}
        for file_id, names in library:
            view = by_key.get(name_key(names[0])) if names else None
            if view is not None:
                view.library += 1
                owner[file_id] = view
        last = session.execute(
            sa.select(Event.file_id, sa.func.max(Event.at))
            .where(Event.action.in_(SORTED), Event.file_id.in_(list(owner) or [-1]))
            .group_by(Event.file_id)
        ).all()
        for file_id, at in last:
            view = owner[file_id]
            if at is not None and (view.last_sorted is None or at > view.last_sorted):
                view.last_sorted = at
        faces = session.execute(
            sa.select(
                FaceRow.id,
                FaceRow.person,
                FaceRow.confidence,
                FaceRow.distance,
                FaceRow.box,
                MediaFile.place,
            )
            .join(MediaFile, MediaFile.id == FaceRow.file_id)
            .where(
                FaceRow.person.in_(list(people)),
                MediaFile.status == FileStatus.DONE,
                MediaFile.place.in_((Place.LIBRARY, Place.REVIEW)),
            )
        ).all()
    best: dict[str, tuple] = {}
    waiting: dict[str, set[int]] = {}
    with state.session() as session:
        review_faces = session.execute(
            sa.select(FaceRow.person, FaceRow.file_id)
            .join(MediaFile, MediaFile.id == FaceRow.file_id)
            .where(
                FaceRow.person.in_(list(people)),
                MediaFile.status == FileStatus.DONE,
                MediaFile.place == Place.REVIEW,
            )
        ).all()
    for person, file_id in review_faces:
        waiting.setdefault(person, set()).add(file_id)
    for face_id, person, confidence, distance, box, place in faces:
        if place != Place.LIBRARY or not box or box[2] <= box[0] or box[3] <= box[1]:
            continue
        rank = (
            confidence != Confidence.CONFIRMED,
            distance if distance is not None else 1.0,
            face_id,
        )
        if person not in best or rank < best[person]:
            best[person] = rank
    for name, view in people.items():
        view.in_review = len(waiting.get(name, ()))
        if name in best:
            view.face_id = best[name][2]
    return sorted(people.values(), key=lambda v: v.name.casefold())


def person_view(state: State, config: Config, name: str) -> PersonView:
    for view in people_overview(state, config):
        if view.name == name:
            return view
    from facesort.review.results import ReviewError

    raise ReviewError(f"facesort knows nobody called {name!r}.")
