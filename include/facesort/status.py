"""Read-only views of the state: counts by place, a file's history, references."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.state import State
from facesort.state.models import Event, MediaFile
from facesort.vocab import Category, FileStatus, Place


def status_counts(config: Config, state: State | None = None) -> dict[str, Any]:
    state = state or State(config.database_url)
    library: Counter[str] = Counter()
    review: dict[str, int] = dict.fromkeys(Category, 0)
    staging: Counter[str] = Counter()
    trash = deleted = 0
    with state.session() as session:
        rows = session.execute(
            sa.select(MediaFile.status, MediaFile.place, MediaFile.category, MediaFile.people)
        ).all()
    for status, place, category, people in rows:
        if status == FileStatus.DONE and place == Place.LIBRARY:
            library[(people or ["?"])[0]] += 1
        elif status == FileStatus.DONE and place == Place.REVIEW:
            review[category] = review.get(category, 0) + 1
        elif status == FileStatus.DONE and place == Place.TRASH:
            trash += 1
        elif status == FileStatus.DONE and place == Place.DELETED:
            deleted += 1  # rejected, then purged from the trash
        else:
            staging[
                {
                    FileStatus.PENDING: "waiting to be sorted",
                    FileStatus.CLAIMED: "being sorted",
                    FileStatus.LEFT: "left in staging",
                }.get(status, status)
            ] += 1
    return {
        "library": dict(library),
        "review": review,
        "trash": trash,
        "deleted": deleted,
        "staging": dict(staging),
    }


def _record(f: MediaFile) -> dict[str, Any]:
    return {
        "id": f.id,
        "source_path": f.source_path,
        "current_path": f.current_path,
        "status": f.status,
        "place": f.place,
        "category": f.category,
        "people": f.people,
        "reason": f.reason,
        "duplicate_of": f.duplicate_of_id,
        "summary": (f.reason or {}).get("summary") or f.last_error,
    }


def file_places(config: Config, state: State | None = None) -> list[dict[str, Any]]:
    """Every file facesort took: where it came from, where it is now, and why."""
    state = state or State(config.database_url)
    with state.session() as session:
        return [_record(f) for f in session.scalars(sa.select(MediaFile).order_by(MediaFile.id))]


def _events(session, file_id: int) -> list[dict[str, Any]]:
    events = session.scalars(
        sa.select(Event).where(Event.file_id == file_id).order_by(Event.at, Event.id)
    )
    return [
        {
            "at": e.at.isoformat(timespec="seconds"),
            "action": e.action,
            "from_path": e.from_path,
            "to_path": e.to_path,
            "place": e.place,
            "category": e.category,
            "people": e.people,
            "reason": e.reason,
            "actor": e.actor,
        }
        for e in events
    ]


def file_history(config: Config, path: Path, state: State | None = None) -> list[dict[str, Any]]:
    """The records of every file that was at ``path`` or has the same content."""
    from facesort.files.hashing import sha256_file

    state = state or State(config.database_url)
    absolute = os.path.abspath(path)
    with state.session() as session:
        conditions = [MediaFile.source_path == absolute, MediaFile.current_path == absolute]
        if os.path.isfile(absolute):
            conditions.append(MediaFile.sha256 == sha256_file(absolute))
        files = session.scalars(
            sa.select(MediaFile).where(sa.or_(*conditions)).order_by(MediaFile.id)
        ).all()
        return [{**_record(f), "events": _events(session, f.id)} for f in files]


def reference_summary(config: Config, state: State | None = None) -> dict[str, Any]:
    from facesort.references import ReferenceLoader, reference_photos

    state = state or State(config.database_url)
    photos = Counter(p.person for p in reference_photos(config.references_dir))
    references = ReferenceLoader(state, config).load()
    usable = references.count_by_person()
    return {
        "people": {
            person: {"photos": n, "usable": usable.get(person, 0)}
            for person, n in sorted(photos.items())
        },
        "problems": references.problems,
    }
