"""Reference photos learnt from sure matches (``matching.learning``, off by default).

References follow a person over the years only if someone keeps adding photos; with
learning on, facesort adds some itself. After a run, a photo it sorted into a person's
library folder as a sure match (one face) becomes a reference photo of that person when
its face is

- far inside the sure distance: at most ``max_distance`` (and the person's own sure
  distance) from the person's nearest reference, and
- not a near copy of one: at least ``min_novelty`` from every reference of the person
  (those learnt in the same pass included), the most different first,

up to ``max_per_person`` learnt references per person. The photo is copied, through the
journal, to ``references/<person>/learnt-<name>`` (the prefix marks it as learnt), each
copy a journal group of its own: :func:`learnt_references` lists them with their group,
and undoing that group (``facesort undo GROUP``, or :func:`forget_learnt_reference` by
the photo's path) removes the copy; a file once learnt is never learnt again, so a
removed one stays removed.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from facesort.config import Config
from facesort.names import person_key
from facesort.state import State
from facesort.state.models import Face, MediaFile, Transfer
from facesort.vocab import EventAction, FileStatus, Place, TransferAction, TransferOp, TransferState

log = logging.getLogger(__name__)

LEARNT_PREFIX = "learnt-"
LEARNT_RULES = {"sure_match"}  # one face, a sure match: the photo shows that person


@dataclass(frozen=True)
class LearntReference:
    person: str
    path: str  # the reference photo
    file_id: int  # the sorted file it was learnt from
    source: str  # where that file was when it was learnt
    distance: float  # its face's distance to the person's nearest reference then
    group_id: str  # `facesort undo GROUP` removes it
    at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "at": self.at.isoformat() if self.at else None}


@dataclass
class _Candidate:
    media: MediaFile
    person: str
    encoding: object  # numpy (128,)
    novelty: float  # distance to the person's nearest reference (and those learnt now)


def learn_references(
    state: State, config: Config, *, actor: str, group_id: str | None = None
) -> list[LearntReference]:
    """Learn reference photos from the sure matches a run (``group_id``: its journal
    group) sorted into the library, or from the whole library (None); returns what
    was learnt. Does nothing unless ``matching.learning.enabled``."""
    from facesort.files.recovery import recover_transfers

    settings = config.matching.learning
    if not settings.enabled:
        return []
    from facesort.thresholds import with_stored_thresholds

    recover_transfers(state, lease_s=config.claim_lease_seconds)  # finish a killed pass
    config = with_stored_thresholds(config, state)  # a person's own sure distance caps it
    candidates = _candidates(state, config, group_id)
    if not candidates:
        return []
    learnt_count = _learnt_count(config)
    learnt: list[LearntReference] = []
    for person, of_person in sorted(_by_person(candidates).items()):
        room = settings.max_per_person - learnt_count.get(person, 0)
        for candidate in _most_varied(of_person, room, settings.min_novelty):
            added = _copy(state, config, candidate, actor)
            if added is not None:
                learnt.append(added)
    return learnt


def _candidates(state: State, config: Config, group_id: str | None) -> list[_Candidate]:
    """Sure matches in the library near enough to their person, never learnt before,
    with their distance to the person's nearest reference today."""
    import numpy as np

    from facesort.faces import encoding_from_bytes
    from facesort.references import ReferenceLoader

    settings = config.matching.learning
    with state.session() as session:
        query = sa.select(MediaFile).where(
            MediaFile.status == FileStatus.DONE,
            MediaFile.place == Place.LIBRARY,
            MediaFile.current_path.is_not(None),
        )
        if group_id is not None:
            routed = sa.select(Transfer.file_id).where(
                Transfer.group_id == group_id, Transfer.state == TransferState.DONE
            )
            query = query.where(MediaFile.id.in_(routed))
        files = [m for m in session.scalars(query) if (m.reason or {}).get("rule") in LEARNT_RULES]
        ever_learnt = set(
            session.scalars(
                sa.select(Transfer.file_id).where(Transfer.action == TransferAction.LEARN_REFERENCE)
            )
        )
        faces = {
            face.file_id: face
            for face in session.scalars(
                sa.select(Face).where(Face.file_id.in_([m.id for m in files]))
            )
        }
    references = ReferenceLoader(state, config).load()
    folders = {_key(p): p for p in references.people}  # name -> reference folder
    found = []
    for media in files:
        face = faces.get(media.id)
        person = folders.get(_key((media.people or [""])[0]))
        if media.id in ever_learnt or face is None or face.encoding is None or not person:
            continue  # learnt before (maybe removed since), or no reference folder
        if not os.path.isfile(media.current_path or ""):
            continue
        rows = references.encodings[references.owners == references.people.index(person)]
        encoding = encoding_from_bytes(face.encoding)
        novelty = float(np.min(np.linalg.norm(rows - encoding, axis=1)))
        near_enough = min(
            settings.max_distance, config.matching.thresholds_for(person).sure_distance
        )
        if settings.min_novelty <= novelty <= near_enough:
            found.append(_Candidate(media, person, encoding, novelty))
    return found


def _key(name: str) -> str:
    try:
        return person_key(name)
    except ValueError:
        return name


def _by_person(candidates: list[_Candidate]) -> dict[str, list[_Candidate]]:
    people: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        people.setdefault(candidate.person, []).append(candidate)
    return people


def _most_varied(candidates: list[_Candidate], room: int, floor: float) -> list[_Candidate]:
    """Up to ``room`` candidates, each time the one furthest from the person's
    references and those already chosen, while that is at least ``floor``."""
    import numpy as np

    chosen: list[_Candidate] = []
    left = sorted(candidates, key=lambda c: c.media.id)
    while left and len(chosen) < room:
        best = max(left, key=lambda c: c.novelty)
        if best.novelty < floor:
            break
        chosen.append(best)
        left.remove(best)
        for other in left:  # the chosen one is a reference from now on
            distance = float(np.linalg.norm(np.asarray(other.encoding) - best.encoding))
            other.novelty = min(other.novelty, distance)
    return chosen


def _copy(
    state: State, config: Config, candidate: _Candidate, actor: str
) -> LearntReference | None:
    from facesort.files.journal import (
        Journal,
        OutcomeEvent,
        SourceChanged,
        TransferFailed,
        TransferOutcome,
        TransferRequest,
    )
    from facesort.names import safe_file_name

    media, person = candidate.media, candidate.person
    group_id = f"learnt-{media.id}-{uuid.uuid4().hex[:8]}"
    source = media.current_path or ""
    summary = (
        f"learnt as a reference photo of {person}: a sure match at {candidate.novelty:.2f} "
        "from their nearest reference"
    )
    journal = Journal(state, actor, group_id, lease_s=config.claim_lease_seconds)
    try:
        path = journal.transfer(
            TransferRequest(
                file_id=media.id,
                src=source,
                dest_dir=str(config.references_dir / person),
                name=safe_file_name(LEARNT_PREFIX + os.path.basename(source)),
                outcome=TransferOutcome(
                    None,
                    OutcomeEvent(
                        EventAction.REFERENCE_LEARNT,
                        people=[person],
                        reason={"summary": summary, "distance": round(candidate.novelty, 4)},
                    ),
                ),
                action=TransferAction.LEARN_REFERENCE,
                op=TransferOp.COPY,
                expected_sha256=media.sha256,
            )
        )
    except SourceChanged:
        return None  # changed or moved by hand since it was sorted: not learnt
    except TransferFailed as exc:  # a read-only or full references folder: the run goes on
        log.warning("%s was not learnt as a reference photo of %s: %s", source, person, exc)
        return None
    return LearntReference(person, path, media.id, source, candidate.novelty, group_id, None)


def _learnt_count(config: Config) -> dict[str, int]:
    """Person -> learnt reference photos in their reference folder now."""
    from facesort.references import person_folders

    return {
        person: sum(1 for p in folder.iterdir() if p.name.startswith(LEARNT_PREFIX))
        for person, folder in person_folders(config.references_dir).items()
    }


def learnt_references(state: State, config: Config) -> list[LearntReference]:
    """The learnt reference photos still in the references folder, oldest first."""
    with state.session() as session:
        rows = (
            session.execute(
                sa.select(Transfer)
                .where(
                    Transfer.action == TransferAction.LEARN_REFERENCE,
                    Transfer.state == TransferState.DONE,
                )
                .order_by(Transfer.id)
            )
            .scalars()
            .all()
        )
    listed = []
    for row in rows:
        if not row.dst or not os.path.isfile(row.dst):
            continue  # removed (undone) since
        person = Path(row.dst).parent.name
        distance = ((row.outcome or {}).get("event") or {}).get("reason", {}).get("distance")
        listed.append(
            LearntReference(
                person,
                row.dst,
                row.file_id,
                row.src,
                float(distance or 0),
                row.group_id or "",
                row.finished_at,
            )
        )
    return listed


def forget_learnt_reference(state: State, config: Config, path: str, *, actor: str):
    """Remove one learnt reference photo (by its path) by undoing its journal group;
    returns the undo's report."""
    from facesort.errors import FacesortError
    from facesort.files.undo import undo_group

    wanted = os.path.abspath(path)
    for learnt in learnt_references(state, config):
        if os.path.abspath(learnt.path) == wanted:
            return undo_group(state, learnt.group_id, actor, lease_s=config.claim_lease_seconds)
    raise FacesortError(
        f"{path} is not a learnt reference photo: `facesort references learnt` lists them"
    )
