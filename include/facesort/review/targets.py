"""Which files, faces and person a review action acts on, checked before anything moves.

An action names files by id and a person by what was typed: these functions turn them
into records (refusing files that are not in the queue, names that cannot be folders,
face numbers a file does not have), so that a refused action has changed nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from facesort.config import Config
from facesort.names import UnsafeNameError, safe_folder_name
from facesort.resort import current_folder
from facesort.review.reference_photos import file_faces
from facesort.review.results import ReviewError, file_label
from facesort.sorting.route import Router
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile
from facesort.vocab import FileStatus, Kind, Place
from facesort.words import plural


def person_name(state: State, config: Config, name: str) -> str:
    """The person's name as facesort stores it: safe as a folder name, and spelled like the
    person who already owns that folder when it is the same folder identity (case,
    width, spacing): names that would share a folder are one person."""
    from facesort.people.folders import PersonFolders
    from facesort.references import person_folders

    try:
        folder = safe_folder_name(name or "")
    except UnsafeNameError:
        raise ReviewError(
            f"{name!r} cannot be a person's name: type a name with letters or digits."
        ) from None
    owners = PersonFolders(person_folders(config.references_dir), state)
    return owners.clash(folder) or folder


def files_of(
    state: State,
    file_ids: Iterable[int],
    *,
    hint: str = "`facesort review list` shows the ids of the files in the queue",
) -> list[MediaFile]:
    """The records of ``file_ids``, in that order; ``hint`` says where the ids are found."""
    ids = list(dict.fromkeys(int(i) for i in file_ids))
    if not ids:
        raise ReviewError("No files given: name the files by id or path.")
    with state.session() as session:
        rows = {m.id: m for m in session.scalars(sa.select(MediaFile).where(MediaFile.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        unknown = ", #".join(map(str, missing))
        raise ReviewError(f"No file #{unknown} in facesort's records: {hint}.")
    return [rows[i] for i in ids]


def queue_files(
    state: State, file_ids: Iterable[int], categories: Sequence[str] | None = None
) -> list[MediaFile]:
    files = files_of(state, file_ids)
    problems = []
    for media in files:
        if media.status != FileStatus.DONE or media.place != Place.REVIEW:
            where = (
                current_folder(media)
                if media.place in {Place.LIBRARY, Place.REVIEW}
                else (media.place or "staging")
            )
            problems.append(f"{file_label(media)} is in {where}, not in the review queue")
        elif categories and media.category not in categories:
            wanted = " or ".join(f"review/{c}" for c in categories)
            problems.append(f"{file_label(media)} is in review/{media.category}, not {wanted}")
    if problems:
        raise ReviewError("; ".join(problems) + ". Nothing was changed.")
    return files


def pick_face(
    media: MediaFile, faces: list[FaceRow], face: int | None, purpose: str
) -> FaceRow | None:
    """Face number ``face`` (1-based), or the only face; None when neither applies."""
    if face is not None:
        if not 1 <= face <= len(faces):
            found = plural(faces, "face")
            raise ReviewError(
                f"{file_label(media)} has {found}: there is no face {face} to {purpose}."
            )
        return faces[face - 1]
    if len(faces) == 1:
        return faces[0]
    return None


def check_folder(router: Router, person: str) -> None:
    """Refuse a name routing would not give a folder of its own (before anything moves)."""
    problem = router.folder_problem(person)
    if problem is not None:
        raise ReviewError(f"{problem[1]}. Nothing was changed.")


def faces_to_approve(
    state: State, files: list[MediaFile], face: int | None, person: str, add_reference: bool
) -> dict[int, FaceRow | None]:
    """The face of each file to label with ``person`` (None: no single face to label)."""
    if face is not None and len(files) > 1:
        raise ReviewError("A face number can only be given for one file at a time.")
    chosen: dict[int, FaceRow | None] = {}
    for media in files:
        faces = file_faces(state, media.id)
        chosen[media.id] = pick_face(media, faces, face, "approve")
        if add_reference and chosen[media.id] is None:
            raise ReviewError(
                f"{file_label(media)} has {len(faces)} faces: say which one is {person} "
                "(face number) to add it as a reference. Nothing was changed."
                if faces
                else f"{file_label(media)} has no face to add as a reference of {person}. "
                "Nothing was changed."
            )
    return chosen


def faces_to_add(
    state: State, files: list[MediaFile], face: int | None, person: str, whole_photo: bool
) -> dict[int, FaceRow]:
    """The face of each file that becomes a reference photo of ``person``."""
    if face is not None and len(files) > 1:
        raise ReviewError("A face number can only be given for one file at a time.")
    picked: dict[int, FaceRow] = {}
    for media in files:
        if not media.current_path or not os.path.isfile(media.current_path):
            raise ReviewError(f"{file_label(media)} is not on disk any more: nothing to add.")
        faces = file_faces(state, media.id)
        chosen = pick_face(media, faces, face, "add as a reference")
        if chosen is None:
            raise ReviewError(
                f"{file_label(media)} has {len(faces)} faces: say which one is {person} "
                "(face number). Nothing was changed."
                if faces
                else f"{file_label(media)} has no face facesort found: it cannot be a "
                f"reference photo of {person}. Nothing was changed."
            )
        if whole_photo and (media.kind != Kind.IMAGE or len(faces) != 1):
            raise ReviewError(
                f"{file_label(media)} is not a photo with exactly one face: add a crop of the "
                "face instead (leave out 'whole photo'). Nothing was changed."
            )
        picked[media.id] = chosen
    return picked
