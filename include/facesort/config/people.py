"""Settings about single people: their own sure/review distances
(``matching.people``), and learning reference photos from sure matches
(``matching.learning``).

A person's own thresholds are for people the shared ones do not fit: siblings or twins
(stricter), a child growing up (looser). The config file sets them; the people page can
store them in the state database too (:mod:`facesort.thresholds`), which wins over the
file. Matching asks :meth:`MatchingSettings.thresholds_for` which distances a face of a
person is judged by, and the reason of each decision names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from facesort.config.values import Count, Distance, DistanceMargin

# Where a person's own thresholds come from, as the reasons name it.
FROM_CONFIG = "matching.people"
FROM_PEOPLE_PAGE = "the people page"


class PersonThresholds(BaseModel):
    """One person's own distances; an empty one is the shared value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sure_distance: Distance | None = Field(
        None, description="This person's sure distance (empty: matching's)."
    )
    review_distance: Distance | None = Field(
        None, description="This person's review distance (empty: matching's)."
    )
    # Not a key: set when the values were read from the state database.
    _source: str = PrivateAttr(FROM_CONFIG)

    @property
    def source(self) -> str:
        return self._source

    def from_people_page(self) -> PersonThresholds:
        copy = self.model_copy()
        copy._source = FROM_PEOPLE_PAGE
        return copy


@dataclass(frozen=True)
class Thresholds:
    """The distances a face is judged by: the shared ones, or a person's own."""

    sure_distance: float
    review_distance: float
    person: str | None = None  # set: this person's own thresholds
    source: str | None = None  # FROM_CONFIG or FROM_PEOPLE_PAGE

    @property
    def personal(self) -> bool:
        return self.person is not None

    def as_reason(self) -> dict[str, object]:
        return {
            "person": self.person,
            "sure_distance": self.sure_distance,
            "review_distance": self.review_distance,
            "source": self.source,
        }

    def describe(self) -> str:
        return (
            f"{self.person}'s own thresholds: sure {self.sure_distance:.2f}, review "
            f"{self.review_distance:.2f} ({self.source})"
        )


class LearningSettings(BaseModel):
    """Reference photos learnt from sure matches (off by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        False,
        description="Add a photo sorted as a sure match far inside the sure distance to "
        "the person's reference photos (as learnt-*.jpg), so references follow a person "
        "over the years.",
    )
    max_distance: Distance = Field(
        0.4,
        description="Only a face at most this far from the person's nearest reference "
        "(and within their sure distance) is learnt.",
    )
    min_novelty: DistanceMargin = Field(
        0.2,
        description="...and at least this far from every reference of the person: a near "
        "copy of one adds nothing.",
    )
    max_per_person: Count = Field(
        10, le=1000, description="At most this many learnt references per person."
    )


def person_thresholds_problem(
    people: dict[str, PersonThresholds], sure: float, review: float
) -> str | None:
    """Why ``matching.people`` cannot work with the shared ``sure``/``review``, or None."""
    from facesort.names import UnsafeNameError, person_key

    keys: dict[str, str] = {}
    for name, own in people.items():
        try:
            key = person_key(name)
        except UnsafeNameError as exc:
            return f"people: {name!r} is not a usable name ({exc})"
        if key in keys:
            return f"people: {keys[key]!r} and {name!r} are the same person: keep one"
        keys[key] = name
        own_sure = own.sure_distance if own.sure_distance is not None else sure
        own_review = own.review_distance if own.review_distance is not None else review
        if own_review < own_sure:
            return (
                f"people.{name}: review_distance must be at least sure_distance "
                f"(got {own_review} < {own_sure})"
            )
    return None


def thresholds_for(
    people: dict[str, PersonThresholds], sure: float, review: float, person: str | None
) -> Thresholds:
    """The distances a face of ``person`` is judged by."""
    if person and people:
        from facesort.names import person_key

        try:
            key = person_key(person)
        except ValueError:
            key = person
        for name, own in people.items():
            if person_key(name) == key:
                return Thresholds(
                    own.sure_distance if own.sure_distance is not None else sure,
                    own.review_distance if own.review_distance is not None else review,
                    person=person,
                    source=own.source,
                )
    return Thresholds(sure, review)
