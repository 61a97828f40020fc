"""Matching face encodings against every reference photo of every person.

For each face the nearest reference of each person is found; the best person, the
distance, the margin to the next person and the reference photo that matched are kept
as the reason. The match is *sure* within ``sure_distance`` with a margin of at least
``min_margin``, *uncertain* within ``review_distance``, and *unknown* beyond; a person
with their own distances (``matching.people``, or set on the people page) is judged by
those, and the reason names them.

One person is in a photo at most once: ``assign_people`` gives the faces of one photo
their people jointly, the nearest (face, person) pairs first. A face whose nearest
person went to a nearer face is judged against its next person, as if the taken one
had no references; faces whose person is fixed (named in Immich, confirmed in review)
keep it and take that person first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

    from facesort.config import MatchingSettings
    from facesort.config.people import Thresholds

Confidence = Literal["sure", "uncertain", "unknown"]

# How many of each face's nearest people are kept for the joint assignment: a photo
# rarely has more faces than that, and a face that lost that many is unknown anyway.
CANDIDATES = 8


@dataclass(frozen=True)
class Candidate:
    person: str
    distance: float
    reference: str  # the person's nearest reference photo


@dataclass
class ReferenceSet:
    """Encodings of all usable reference photos, grouped by person."""

    people: list[str]  # sorted person names (reference folder names)
    encodings: np.ndarray  # (n, 128), rows grouped by person in ``people`` order
    owners: np.ndarray  # (n,) index into ``people`` of each row
    sources: list[str]  # reference photo of each row, relative to references_dir
    problems: list[str] = field(default_factory=list)  # photos that gave no encoding

    @classmethod
    def empty(cls) -> ReferenceSet:
        import numpy as np

        return cls([], np.zeros((0, 128)), np.zeros(0, dtype=int), [])

    @classmethod
    def build(cls, rows: list[tuple[str, str, np.ndarray]]) -> ReferenceSet:
        """From (person, source, encoding) rows in any order."""
        import numpy as np

        if not rows:
            return cls.empty()
        rows = sorted(rows, key=lambda r: (r[0], r[1]))
        people = sorted({r[0] for r in rows})
        index = {p: i for i, p in enumerate(people)}
        return cls(
            people=people,
            encodings=np.vstack([r[2] for r in rows]),
            owners=np.array([index[r[0]] for r in rows], dtype=int),
            sources=[r[1] for r in rows],
        )

    def __len__(self) -> int:
        return len(self.sources)

    def count_by_person(self) -> dict[str, int]:
        import numpy as np

        counts = np.bincount(self.owners, minlength=len(self.people))
        return {p: int(counts[i]) for i, p in enumerate(self.people)}


@dataclass(frozen=True)
class FaceMatch:
    """Who a face is, how sure, and why."""

    person: str | None  # best candidate (also when not sure); None without references
    confidence: Confidence
    distance: float | None = None
    runner_up: str | None = None
    runner_up_distance: float | None = None
    reference: str | None = None  # which reference photo matched
    source: str = "local"  # 'local' (dlib) or 'immich'
    # the person this face was nearest to, who is another face of the same photo
    instead_of: str | None = None
    instead_of_distance: float | None = None
    # the face's nearest people and the thresholds it was judged by, for the joint
    # assignment (empty for faces whose person is fixed)
    candidates: tuple[Candidate, ...] = field(default=(), compare=False, repr=False)
    settings: MatchingSettings | None = field(default=None, compare=False, repr=False)
    # set when the person has their own sure/review distances (matching.people)
    thresholds: Thresholds | None = None

    @property
    def margin(self) -> float | None:
        if self.distance is None or self.runner_up_distance is None:
            return None
        return self.runner_up_distance - self.distance

    @property
    def sure_person(self) -> str | None:
        return self.person if self.confidence == "sure" else None

    def as_reason(self) -> dict[str, Any]:
        reason: dict[str, Any] = {"confidence": self.confidence, "source": self.source}
        if self.person is not None:
            reason["person"] = self.person
        if self.distance is not None:
            reason["distance"] = round(self.distance, 4)
        if self.reference is not None:
            reason["reference"] = self.reference
        if self.runner_up is not None:
            reason["runner_up"] = self.runner_up
            reason["runner_up_distance"] = round(self.runner_up_distance or 0.0, 4)
            reason["margin"] = round(self.margin or 0.0, 4)
        if self.instead_of is not None:
            reason["instead_of"] = self.instead_of
            reason["instead_of_distance"] = round(self.instead_of_distance or 0.0, 4)
        if self.thresholds is not None:
            reason["thresholds"] = self.thresholds.as_reason()
        return reason

    def describe(self) -> str:
        if self.source == "immich":
            return f"{self.person} (named in Immich)" if self.person else "unnamed face in Immich"
        taken = ""
        if self.instead_of is not None:
            taken = (
                f"; nearer to {self.instead_of} ({self.instead_of_distance:.2f}), who is "
                "another face of this photo"
            )
        if self.person is None or self.distance is None:
            if taken:
                return f"unknown face{taken}"
            return "unknown face (no reference photos)"
        text = f"{self.person} at {self.distance:.2f}"
        if self.reference:
            text += f" ({self.reference})"
        if self.runner_up is not None:
            text += f", next {self.runner_up} at {self.runner_up_distance:.2f}"
        if self.thresholds is not None:
            text += f"; {self.thresholds.describe()}"
        return text + taken


def classify(
    distance: float, margin: float | None, settings: MatchingSettings, person: str | None = None
) -> Confidence:
    """Sure, uncertain or unknown, by ``person``'s own thresholds where they have them."""
    judged = settings.thresholds_for(person)
    if distance <= judged.sure_distance and (margin is None or margin >= settings.min_margin):
        return "sure"
    if distance <= judged.review_distance:
        return "uncertain"
    return "unknown"


def _own_thresholds(settings: MatchingSettings | None, person: str | None) -> Thresholds | None:
    if settings is None or not settings.people:
        return None
    judged = settings.thresholds_for(person)
    return judged if judged.personal else None


def match_encodings(
    encodings: np.ndarray, references: ReferenceSet, settings: MatchingSettings
) -> list[FaceMatch]:
    """One FaceMatch per row of ``encodings`` (shape (k, 128))."""
    import numpy as np

    encodings = np.atleast_2d(np.asarray(encodings, dtype=np.float64))
    if encodings.shape[0] == 0 or encodings.size == 0:
        return []
    if len(references) == 0:
        return [FaceMatch(person=None, confidence="unknown") for _ in range(encodings.shape[0])]
    # (k, n) distances, then the nearest reference of each person: rows are grouped by
    # person, so reduceat over each person's block gives the per-person minimum.
    diffs = encodings[:, None, :] - references.encodings[None, :, :]
    distances = np.sqrt(np.einsum("knd,knd->kn", diffs, diffs))
    starts = np.flatnonzero(np.r_[True, references.owners[1:] != references.owners[:-1]])
    per_person = np.minimum.reduceat(distances, starts, axis=1)  # (k, people)
    block_people = references.owners[starts]
    results = []
    for row in range(encodings.shape[0]):
        order = np.argsort(per_person[row])
        best_block = order[0]
        best = float(per_person[row, best_block])
        begin = starts[best_block]
        end = starts[best_block + 1] if best_block + 1 < len(starts) else distances.shape[1]
        ref_index = begin + int(np.argmin(distances[row, begin:end]))
        runner_up = runner_up_distance = None
        if len(order) > 1:
            runner_up = references.people[block_people[order[1]]]
            runner_up_distance = float(per_person[row, order[1]])
        margin = None if runner_up_distance is None else runner_up_distance - best
        candidates = []
        for block in order[:CANDIDATES]:
            begin = starts[block]
            end = starts[block + 1] if block + 1 < len(starts) else distances.shape[1]
            nearest = begin + int(np.argmin(distances[row, begin:end]))
            candidates.append(
                Candidate(
                    references.people[block_people[block]],
                    float(per_person[row, block]),
                    references.sources[nearest],
                )
            )
        person = references.people[block_people[best_block]]
        results.append(
            FaceMatch(
                person=person,
                confidence=classify(best, margin, settings, person),
                distance=best,
                runner_up=runner_up,
                runner_up_distance=runner_up_distance,
                reference=references.sources[ref_index],
                candidates=tuple(candidates),
                settings=settings,
                thresholds=_own_thresholds(settings, person),
            )
        )
    return results


def assign_people(matches: list[FaceMatch]) -> list[FaceMatch]:
    """The matches of one photo's faces with each person given to one face at most.

    Faces with a fixed person (no candidates: named in Immich or confirmed in review)
    keep it. The others take their people nearest pair first; a face whose nearer
    people all went to other faces is judged against the next one (its margin to the
    next person still free), or is unknown when none is left. Faces that keep their
    nearest person and runner-up come back unchanged.
    """
    from facesort.names import person_key

    def key(person: str) -> str:
        try:
            return person_key(person)
        except ValueError:
            return person

    taken: dict[str, int] = {}  # person key -> face that has them
    for index, match in enumerate(matches):
        if not match.candidates and match.person and match.confidence == "sure":
            taken.setdefault(key(match.person), index)
    pairs = sorted(
        (c.distance, index, c.person)
        for index, match in enumerate(matches)
        for c in match.candidates
    )
    given: dict[int, str] = {}
    for _, index, person in pairs:
        if index not in given and key(person) not in taken:
            given[index] = person
            taken[key(person)] = index
    out = []
    for index, match in enumerate(matches):
        if not match.candidates:
            out.append(match)
            continue
        others = {k for k, owner in taken.items() if owner != index}
        free = [c for c in match.candidates if key(c.person) not in others]
        if [c.person for c in free[:2]] == [c.person for c in match.candidates[:2]]:
            out.append(match)  # nothing of this face was taken
            continue
        out.append(_judged_without_taken(match, free))
    return out


def _judged_without_taken(match: FaceMatch, free: list[Candidate]) -> FaceMatch:
    lost = match.candidates[0]
    if not free:
        return FaceMatch(
            person=None,
            confidence="unknown",
            instead_of=lost.person,
            instead_of_distance=lost.distance,
            source=match.source,
        )
    best = free[0]
    runner_up = free[1] if len(free) > 1 else None
    margin = runner_up.distance - best.distance if runner_up else None
    confidence: Confidence = (
        classify(best.distance, margin, match.settings, best.person)
        if match.settings
        else "uncertain"
    )
    return FaceMatch(
        person=best.person,
        confidence=confidence,
        distance=best.distance,
        runner_up=runner_up.person if runner_up else None,
        runner_up_distance=runner_up.distance if runner_up else None,
        reference=best.reference,
        source=match.source,
        instead_of=lost.person if lost.person != best.person else None,
        instead_of_distance=lost.distance if lost.person != best.person else None,
        candidates=match.candidates,
        settings=match.settings,
        thresholds=_own_thresholds(match.settings, best.person),
    )
