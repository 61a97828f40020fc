"""A person's own sure/review distances, as the people page stores them.

The config's ``matching.people`` sets them in the file; what is stored here (the
``person_threshold`` table) wins over the file, person by person. The people page calls
:func:`set_person_thresholds` / :func:`clear_person_thresholds` (and
:func:`move_person_thresholds` when it renames or merges people); sorting, the nightly
re-check and re-sorts read them through :func:`with_stored_thresholds`, which the
:class:`~facesort.sorting.evaluate.Evaluator` applies to its config.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from facesort.config import Config
from facesort.config.people import PersonThresholds
from facesort.errors import FacesortError
from facesort.names import person_key
from facesort.state import State
from facesort.state.models import PersonThreshold


class ThresholdError(FacesortError):
    """Distances that cannot be a person's own thresholds."""


@dataclass(frozen=True)
class StoredThresholds:
    person: str
    sure_distance: float | None
    review_distance: float | None
    set_by: str | None
    set_at: datetime


def set_person_thresholds(
    state: State,
    name: str,
    *,
    sure: float | None = None,
    review: float | None = None,
    config: Config | None = None,
    actor: str | None = None,
) -> StoredThresholds | None:
    """Store ``name``'s own sure and review distances (None: the shared value); both None
    removes them. With ``config``, a pair that would not fit its shared values (review
    below sure) is refused too. Raises ThresholdError naming the fix."""
    for label, value in (("sure", sure), ("review", review)):
        if value is not None and not 0 < value <= 2:
            raise ThresholdError(f"{label} distance {value} is not a distance: give one in (0, 2]")
    shared_sure = config.matching.sure_distance if config else None
    shared_review = config.matching.review_distance if config else None
    own_sure = sure if sure is not None else shared_sure
    own_review = review if review is not None else shared_review
    if own_sure is not None and own_review is not None and own_review < own_sure:
        raise ThresholdError(
            f"{name}'s review distance ({own_review}) must be at least their sure distance "
            f"({own_sure}): raise the review distance or lower the sure one"
        )
    key = person_key(name)
    with state.session() as session:
        row = session.get(PersonThreshold, key)
        if sure is None and review is None:
            if row is not None:
                session.delete(row)
            return None
        if row is None:
            row = PersonThreshold(person_key=key, person=name)
            session.add(row)
        row.person, row.sure_distance, row.review_distance = name, sure, review
        row.set_by, row.set_at = actor, datetime.now().astimezone()
        session.flush()
        return _stored(row)


def clear_person_thresholds(state: State, name: str) -> None:
    """Judge ``name`` by the config again (``matching.people`` or the shared values)."""
    set_person_thresholds(state, name)


def move_person_thresholds(state: State, old: str, new: str) -> None:
    """After a rename (or a merge into ``new``): ``old``'s stored thresholds become
    ``new``'s, unless ``new`` has their own (a merge keeps the survivor's)."""
    with state.session() as session:
        move_thresholds_in(session, old, new)


def move_thresholds_in(session, old: str, new: str) -> None:
    """:func:`move_person_thresholds` in the caller's transaction (a rename's records)."""
    row = session.get(PersonThreshold, person_key(old))
    if row is None or person_key(old) == person_key(new):
        if row is not None:
            row.person = new
        return
    if session.get(PersonThreshold, person_key(new)) is None:
        session.add(
            PersonThreshold(person_key=person_key(new), person=new,
                            sure_distance=row.sure_distance,
                            review_distance=row.review_distance, set_by=row.set_by,
                            set_at=row.set_at)
        )  # fmt: skip
    session.delete(row)


def stored_person_thresholds(state: State) -> dict[str, StoredThresholds]:
    """Person -> what the people page stored, by name."""
    with state.session() as session:
        rows = session.scalars(sa.select(PersonThreshold).order_by(PersonThreshold.person))
        return {row.person: _stored(row) for row in rows}


def with_stored_thresholds(config: Config, state: State) -> Config:
    """``config`` with the stored thresholds over its ``matching.people``."""
    if state.readonly and not sa.inspect(state.engine).has_table(PersonThreshold.__tablename__):
        return config  # a dry run on a database not upgraded yet: nothing stored there
    stored = stored_person_thresholds(state)
    if not stored:
        return config
    people = {
        name: own
        for name, own in config.matching.people.items()
        if person_key(name) not in {person_key(p) for p in stored}
    }
    for name, row in stored.items():
        people[name] = PersonThresholds(
            sure_distance=row.sure_distance, review_distance=row.review_distance
        ).from_people_page()
    matching = config.matching.model_copy(update={"people": people})
    return config.model_copy(update={"matching": matching})


def _stored(row: PersonThreshold) -> StoredThresholds:
    return StoredThresholds(row.person, row.sure_distance, row.review_distance, row.set_by,
                            row.set_at)  # fmt: skip
