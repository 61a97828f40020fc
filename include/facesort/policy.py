"""The routing policy: from the faces found to a destination, with the reason.

Pure functions, no I/O. The order of the rules matters and is documented in the README:

1. no face                                  -> review/unidentified
2. a sure match to an unwanted person       -> review/unwanted_person
3. several faces                            -> review/multiple_faces
   (or, with ``policy.multiple_faces: each_person``, a copy for each sure, known person)
   ... unless one face is a sure match and every other one is an unknown stranger in
   the background (much smaller, ``matching.background_face_ratio``, or cut by the
   picture's border): then as rule 4, the reason naming the faces left out
4. one face, sure match                     -> library/<person>
   ... unless ``policy.wanted_people`` is set and does not name them -> review/unidentified
5. one face, uncertain match                -> review/low_confidence
6. one face, unknown                        -> review/unidentified

Before the rules, the faces of a photo get their people jointly (one person at most
once per photo, ``facesort.matching.assign_people``).

Videos are decided by votes over sampled frames, never from one frame.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from facesort.config import PolicySettings, VideoSettings
from facesort.matching import FaceMatch, assign_people
from facesort.names import UnsafeNameError, person_key, safe_folder_name
from facesort.vocab import Category, Confidence, Place
from facesort.words import plural

if TYPE_CHECKING:
    from facesort.config import MatchingSettings
    from facesort.config.people import Thresholds
    from facesort.faces import DetectedFace

LIBRARY = Place.LIBRARY
REVIEW = Place.REVIEW


@dataclass(frozen=True)
class Decision:
    """Where a file goes and why."""

    category: str | None  # review category, or None for the library
    rule: str  # short identifier of the rule that decided
    summary: str  # one line for people
    people: tuple[str, ...] = ()  # library people; the first holds the file itself
    details: dict[str, Any] = field(default_factory=dict)
    duplicate_of: int | None = None

    @property
    def place(self) -> str:
        return REVIEW if self.category else LIBRARY

    @property
    def folder(self) -> str:
        """``library/<person's folder>`` or ``review/<category>``, for messages."""
        if self.category:
            return f"{REVIEW}/{self.category}"
        return library_folder(self.people[0])

    def reason(self) -> dict[str, Any]:
        return {"rule": self.rule, "summary": self.summary, **self.details}

    @classmethod
    def review(cls, category: str, rule: str, summary: str, **details: Any) -> Decision:
        return cls(category=category, rule=rule, summary=summary, details=details)


def library_folder(person: str) -> str:
    """``library/<folder>`` as it is on disk (the raw name if it cannot be a folder)."""
    try:
        return f"{LIBRARY}/{safe_folder_name(person)}"
    except UnsafeNameError:
        return f"{LIBRARY}/{person}"


def _keys(names: list[str]) -> set[str]:
    return {person_key(n) for n in names}


def _unwanted(people: list[str], policy: PolicySettings) -> list[str]:
    unwanted = _keys(policy.unwanted_people)
    return sorted({p for p in people if person_key(p) in unwanted})


def _wanted(person: str, policy: PolicySettings) -> bool:
    return not policy.wanted_people or person_key(person) in _keys(policy.wanted_people)


def _not_wanted(person: str, faces: list[dict[str, Any]]) -> Decision:
    return Decision.review(
        Category.UNIDENTIFIED, "not_wanted", f"{person} is not on policy.wanted_people", faces=faces
    )


def _faces_detail(matches: list[FaceMatch]) -> list[dict[str, Any]]:
    return [m.as_reason() for m in matches]


# A face box within this fraction of the picture's edge is cut by the border.
BORDER = 0.002


def _cut_by_border(box: tuple[float, float, float, float]) -> bool:
    left, top, right, bottom = box
    return min(left, top) <= BORDER or max(right, bottom) >= 1 - BORDER


def background_faces(
    matches: list[FaceMatch], faces: list[DetectedFace], ratio: float
) -> tuple[int, list[tuple[int, str]]] | None:
    """(the one sure face, [(face left out, why)]) when every face but one sure match is
    an unknown stranger in the background: at most ``ratio`` of the sure face's height,
    or cut by the picture's border. None otherwise (two sure faces, an uncertain one, an
    unknown face of similar size, or a face of unknown size)."""
    sure = [i for i, m in enumerate(matches) if m.confidence == Confidence.SURE and m.person]
    if len(sure) != 1 or len(faces) != len(matches):
        return None
    (main,) = sure
    height = faces[main].height_fraction
    left_out = []
    for index, (face, match) in enumerate(zip(faces, matches, strict=True)):
        if index == main:
            continue
        size = face.height_fraction
        if match.confidence != Confidence.UNKNOWN or size <= 0 or face.box[2] <= face.box[0]:
            return None  # possibly someone known, or a face whose size is not known
        if size <= ratio * height:
            left_out.append(
                (index, f"{size / height:.2f} of the height of {matches[main].person}'s face")
            )
        elif _cut_by_border(face.box):
            left_out.append((index, "cut by the picture's border"))
        else:
            return None
    return main, left_out


def decide_photo(
    matches: list[FaceMatch],
    policy: PolicySettings,
    found: list[DetectedFace] | None = None,
    matching: MatchingSettings | None = None,
) -> Decision:
    """Route a photo from the matches of its faces (one per face ``found``, in that
    order: their sizes tell strangers in the background; without them every face
    counts)."""
    matches = assign_people(matches)
    faces = _faces_detail(matches)
    if not matches:
        return Decision.review(Category.UNIDENTIFIED, "no_face", "no face found", faces=faces)
    sure = [m for m in matches if m.confidence == Confidence.SURE and m.person]
    unwanted = _unwanted([m.person for m in sure if m.person], policy)
    if unwanted:
        return Decision.review(
            Category.UNWANTED_PERSON,
            "unwanted_person",
            f"{', '.join(unwanted)} {'is' if len(unwanted) == 1 else 'are'} on "
            "policy.unwanted_people",
            faces=faces,
        )
    strangers = None
    if len(matches) > 1 and found is not None and matching is not None:
        strangers = background_faces(matches, found, matching.background_face_ratio)
    if strangers is not None:
        main, left_out = strangers
        match = matches[main]
        if not _wanted(match.person, policy):
            return _not_wanted(match.person, faces)
        why = "; ".join(
            f"face {i + 1}, {matches[i].describe()}: {reason}" for i, reason in left_out
        )
        return Decision(
            category=None,
            rule="sure_match_background_faces",
            summary=f"sure match: {match.describe()}; left out as strangers in the background: "
            f"{why}",
            people=(match.person,),
            details={"faces": faces, "left_out": [i for i, _ in left_out]},
        )
    if len(matches) > 1:
        described = "; ".join(m.describe() for m in matches)
        people = [m.person for m in sure if m.person]
        all_known = len(sure) == len(matches) and len({person_key(p) for p in people}) == len(
            people
        )
        if policy.multiple_faces == "each_person" and all_known:
            allowed = tuple(p for p in people if _wanted(p, policy))
            if allowed:
                return Decision(
                    category=None,
                    rule="each_person",
                    summary=f"{len(matches)} known people, a copy for each: {described}",
                    people=allowed,
                    details={"faces": faces},
                )
            return Decision.review(
                Category.UNIDENTIFIED,
                "not_wanted",
                f"none of {', '.join(people)} is on policy.wanted_people",
                faces=faces,
            )
        return Decision.review(
            Category.MULTIPLE_FACES,
            "multiple_faces",
            f"{len(matches)} faces: {described}",
            faces=faces,
        )
    match = matches[0]
    if match.confidence == Confidence.SURE and match.person:
        if not _wanted(match.person, policy):
            return _not_wanted(match.person, faces)
        return Decision(
            category=None,
            rule="sure_match",
            summary=f"sure match: {match.describe()}",
            people=(match.person,),
            details={"faces": faces},
        )
    if match.confidence == Confidence.UNCERTAIN:
        return Decision.review(
            Category.LOW_CONFIDENCE,
            "uncertain_match",
            f"uncertain match: {match.describe()}",
            faces=faces,
        )
    return Decision.review(
        Category.UNIDENTIFIED, "unknown_face", f"unknown face: {match.describe()}", faces=faces
    )


def _own_thresholds(frames: list[list[FaceMatch]]) -> dict[str, Thresholds]:
    """Person -> their own thresholds, for the people of a video who have them."""
    return {m.person: m.thresholds for f in frames for m in f if m.person and m.thresholds}


def decide_video(
    frames: list[list[FaceMatch]], policy: PolicySettings, video: VideoSettings
) -> Decision:
    """Route a video from the matches of the faces in each sampled frame, by votes."""
    with_faces = [f for f in frames if f]
    sure_votes: Counter[str] = Counter()
    matched_votes: Counter[str] = Counter()
    distances: dict[str, list[float]] = {}
    for frame in with_faces:
        for person in {m.person for m in frame if m.confidence == Confidence.SURE and m.person}:
            sure_votes[person] += 1
        for m in frame:
            if (
                m.confidence in {Confidence.SURE, Confidence.UNCERTAIN}
                and m.person
                and m.distance is not None
            ):
                distances.setdefault(m.person, []).append(m.distance)
        for person in {
            m.person
            for m in frame
            if m.confidence in {Confidence.SURE, Confidence.UNCERTAIN} and m.person
        }:
            matched_votes[person] += 1
    matched_frames = sum(
        1
        for frame in with_faces
        if any(m.confidence in {Confidence.SURE, Confidence.UNCERTAIN} for m in frame)
    )
    crowded_frames = sum(1 for frame in with_faces if len(frame) > 1)
    details: dict[str, Any] = {
        "frames_sampled": len(frames),
        "frames_with_faces": len(with_faces),
        "frames_matched": matched_frames,
        "frames_with_several_faces": crowded_frames,
        "sure_votes": dict(sure_votes.most_common()),
        "matched_votes": dict(matched_votes.most_common()),
        "median_distance": {p: round(statistics.median(d), 4) for p, d in distances.items()},
    }
    if not with_faces:
        return Decision.review(
            Category.UNIDENTIFIED, "no_face", f"no face in {len(frames)} sampled frames", **details
        )
    strong = [p for p, n in sure_votes.items() if n >= video.min_sure_frames]
    unwanted = _unwanted(strong, policy)
    if unwanted:
        return Decision.review(
            Category.UNWANTED_PERSON,
            "unwanted_person",
            f"{', '.join(unwanted)} on policy.unwanted_people appear in the video",
            **details,
        )
    winners = [p for p in strong if matched_votes[p] / matched_frames >= video.min_vote_share]

    def votes(p: str) -> str:
        return f"{p} sure in {sure_votes[p]} of {plural(with_faces, 'frame')} with faces"

    if len(strong) > 1 or crowded_frames >= video.min_sure_frames:
        who = ", ".join(votes(p) for p in strong) or "unknown faces"
        return Decision.review(
            Category.MULTIPLE_FACES,
            "multiple_faces",
            f"several people in the video ({who}; {crowded_frames} frames with several faces)",
            **details,
        )
    own = _own_thresholds(with_faces)
    if own:
        details["thresholds"] = {p: t.as_reason() for p, t in own.items()}

    def judged(people: list[str]) -> str:
        return "".join(f"; {own[p].describe()}" for p in people if p in own)

    if len(winners) == 1:
        person = winners[0]
        if not _wanted(person, policy):
            return Decision.review(
                Category.UNIDENTIFIED,
                "not_wanted",
                f"{person} is not on policy.wanted_people",
                **details,
            )
        return Decision(
            category=None,
            rule="video_votes",
            summary=f"video: {votes(person)}, median distance "
            f"{details['median_distance'][person]:.2f}{judged([person])}",
            people=(person,),
            details=details,
        )
    if matched_frames:
        best = ", ".join(
            f"{p}: {sure_votes[p]} sure / {n} matched" for p, n in matched_votes.most_common(3)
        )
        return Decision.review(
            Category.LOW_CONFIDENCE,
            "uncertain_video",
            f"not enough agreeing frames ({best}; need {video.min_sure_frames} sure frames and "
            f"{video.min_vote_share:.0%} of matched frames)"
            f"{judged([p for p, _ in matched_votes.most_common(3)])}",
            **details,
        )
    return Decision.review(
        Category.UNIDENTIFIED,
        "unknown_face",
        f"only unknown faces in {plural(with_faces, 'frame')} with faces",
        **details,
    )
