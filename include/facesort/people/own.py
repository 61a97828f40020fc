"""A person's own sureness on the people page: the sure/review distances they are
judged by (and where those come from), and the reference photos facesort learnt for
them from sure matches (``matching.learning``), each one removable.

Storing and learning are :mod:`facesort.thresholds` and :mod:`facesort.learning`; this
module only puts them the way a person's page shows them, and finds a learnt photo by
the plain name the page sends (never a path from the request).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from facesort.config import Config
from facesort.config.people import FROM_CONFIG, FROM_PEOPLE_PAGE
from facesort.names import person_key
from facesort.state import State

SHARED = "shared"  # the source of a distance nobody set for this person


@dataclass(frozen=True)
class OwnThresholds:
    person: str
    sure_distance: float
    review_distance: float
    sure_source: str  # FROM_PEOPLE_PAGE, FROM_CONFIG or SHARED
    review_source: str
    shared_sure: float
    shared_review: float
    set_by: str | None = None  # who stored them on the page
    set_at: str | None = None

    @property
    def stored(self) -> bool:
        return FROM_PEOPLE_PAGE in (self.sure_source, self.review_source)

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "stored": self.stored}


def own_thresholds(state: State, config: Config, name: str) -> OwnThresholds:
    """The distances a face of ``name`` is judged by, each with where it comes from: the
    page's stored value wins over the config's ``matching.people``, else the shared one."""
    from facesort.thresholds import stored_person_thresholds

    matching = config.matching
    key = person_key(name)
    stored = next((s for p, s in stored_person_thresholds(state).items() if person_key(p) == key),
                  None)  # fmt: skip
    in_config = next((t for p, t in matching.people.items() if person_key(p) == key), None)
    if stored is not None:
        own = (stored.sure_distance, stored.review_distance)
        source = FROM_PEOPLE_PAGE
    elif in_config is not None:
        own = (in_config.sure_distance, in_config.review_distance)
        source = FROM_CONFIG
    else:
        own, source = (None, None), SHARED
    sure, review = own
    return OwnThresholds(
        person=name,
        sure_distance=sure if sure is not None else matching.sure_distance,
        review_distance=review if review is not None else matching.review_distance,
        sure_source=source if sure is not None else SHARED,
        review_source=source if review is not None else SHARED,
        shared_sure=matching.sure_distance,
        shared_review=matching.review_distance,
        set_by=stored.set_by if stored else None,
        set_at=stored.set_at.isoformat(timespec="seconds") if stored else None,
    )


def learnt_names(state: State, config: Config, name: str) -> set[str]:
    """Plain names of the photos in ``name``'s reference folder that facesort learnt."""
    return {os.path.basename(r.path) for r in _learnt_of(state, config, name)}


def forget_learnt(state: State, config: Config, actor: str, name: str, photo: str):
    """Remove ``name``'s learnt reference photo ``photo`` (a plain name) by undoing the
    journal group that copied it; returns the undo's report."""
    from facesort.learning import forget_learnt_reference
    from facesort.review.results import ReviewError

    for learnt in _learnt_of(state, config, name):
        if os.path.basename(learnt.path) == photo:
            return forget_learnt_reference(state, config, learnt.path, actor=actor)
    raise ReviewError(f"{photo!r} is not a reference photo facesort learnt for {name}.")


def _learnt_of(state: State, config: Config, name: str):
    from facesort.learning import learnt_references

    folder = os.path.abspath(config.references_dir / name)
    return [
        r
        for r in learnt_references(state, config)
        if os.path.dirname(os.path.abspath(r.path)) == folder
    ]
