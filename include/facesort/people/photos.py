"""A person's reference photos: which there are, which files each one matched, and
removing a wrong one (to the trash, undoable).

Which reference matched a file is recorded already: each face of a decision's reason
keeps the nearest reference photo as ``Person/photo.jpg`` (``reason.faces[].reference``,
:class:`facesort.matching.FaceMatch`), so the files a photo matched are read from the
records; nothing new is stored for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.recovery import recover_transfers
from facesort.names import person_key
from facesort.people import plain_moves
from facesort.people.follow import mentions
from facesort.people.intent import adopt, find_open, open_action
from facesort.people.known import known_person
from facesort.people.plain_moves import PlainMove
from facesort.review.record import record_action
from facesort.review.results import ActionResult, ReviewError
from facesort.state import State
from facesort.state.models import MediaFile
from facesort.vocab import FileStatus, Place, ReviewKind

# Where removed reference photos wait (a plain folder of the trash: the nightly purge
# deletes only files with a record, so these stay until someone deletes them).
TRASH_FOLDER = "references"


@dataclass
class MatchedFile:
    id: int
    name: str
    folder: str
    distance: float | None


@dataclass
class ReferenceView:
    name: str  # the photo's file name in the person's reference folder
    label: str  # Person/photo.jpg, as reasons name it
    matched: list[MatchedFile] = field(default_factory=list)


def photo_files(config: Config, person: str) -> list[Path]:
    folder = config.references_dir / person
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and p.is_file() and not p.is_symlink()
    )


def photo_path(config: Config, person: str, name: str) -> Path:
    """A reference photo by its plain name (never a path from outside the folder)."""
    for path in photo_files(config, person):
        if path.name == name:
            return path
    raise ReviewError(f"{person} has no reference photo {name!r}.")


def reference_views(state: State, config: Config, person: str) -> list[ReferenceView]:
    """The person's reference photos, each with the sorted files it was the match of."""
    views = {
        f"{person}/{p.name}": ReferenceView(p.name, f"{person}/{p.name}")
        for p in photo_files(config, person)
    }
    with state.session() as session:
        rows = session.scalars(
            sa.select(MediaFile)
            .where(
                MediaFile.status == FileStatus.DONE,
                MediaFile.place.in_((Place.LIBRARY, Place.REVIEW)),
                mentions(MediaFile.reason, person),
            )
            .order_by(MediaFile.id)
        ).all()
    for media in rows:
        for face in (media.reason or {}).get("faces") or []:
            view = views.get(face.get("reference")) if isinstance(face, dict) else None
            if view is None or face.get("person") != person:
                continue
            folder = (
                f"library/{(media.people or ['?'])[0]}"
                if media.place == Place.LIBRARY
                else f"review/{media.category}"
            )
            view.matched.append(
                MatchedFile(
                    media.id,
                    os.path.basename(media.current_path or media.source_path),
                    folder,
                    face.get("distance"),
                )
            )
    return list(views.values())


def remove_reference(
    config: Config, state: State, actor: str, person: str, name: str
) -> ActionResult:
    """Move one reference photo of ``person`` to the trash; undo brings it back."""
    person = known_person(state, config, person)
    recover_transfers(state, lease_s=config.claim_lease_seconds)
    retry = find_open(
        state,
        (ReviewKind.REMOVE_REFERENCE,),
        lambda row: row.person == person and (row.details or {}).get("photo") == name,
    )
    if retry is not None:
        adopt(state, config, retry)
        group = retry.group_id
        moves = [PlainMove.from_json(m) for m in (retry.details or {}).get("plain_moves") or []]
    else:
        source = photo_path(config, person, name)
        trash = config.trash_path / TRASH_FOLDER / person
        moves = [plain_moves.plan_one(str(source), str(trash), name, set())]
        details = {"photo": name, "plain_moves": [m.as_json() for m in moves]}
        group = open_action(state, config, actor, ReviewKind.REMOVE_REFERENCE, person, [], details)
    result = ActionResult(group, ReviewKind.REMOVE_REFERENCE, "")
    for move in moves:
        outcome = plain_moves.finish(move)
        if outcome == "changed":
            result.skipped.append(f"{move.src}: changed since it was chosen; left where it is")
        elif outcome != "gone":
            result.references.append(move.dst)
    left = len(photo_files(config, person))
    result.summary = (
        f"reference photo {name} of {person} moved to the trash ({left} left)"
        if result.references
        else f"reference photo {name} of {person} was not removed"
    )
    record_action(state, result, actor, [], person, None)
    return result


def same_person(a: str, b: str) -> bool:
    return person_key(a) == person_key(b)
