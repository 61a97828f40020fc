"""Which queued files match a search, and in what order?

The review page's filters (file name, person suggested, date, folder) and sorts
(oldest, newest, nearest match), applied to the queue's query in SQL so that "select
all" can act on every matching file, not only the page shown.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

import sqlalchemy as sa

from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile


class QueueSort(StrEnum):
    OLDEST = "oldest"  # first in the queue first (the default)
    NEWEST = "newest"
    NEAREST = "nearest"  # the closest match of any face first: the quickest to decide


@dataclass(frozen=True)
class QueueSearch:
    """What the person searched for; empty fields match everything."""

    name: str = ""  # part of the file name
    person: str = ""  # a person suggested for one of its faces (nearest or named)
    since: date | None = None  # in the queue since (the day it was sorted there) ...
    until: date | None = None  # ... up to this day, inclusive
    folder: str = ""  # part of the folder it came from (its staging sub-folder)
    sort: QueueSort = QueueSort.OLDEST

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "sort")

    def as_params(self) -> dict[str, str]:
        """The search as the page's query string (to keep it across pages)."""
        params = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: str(v) for k, v in params.items() if v and not (k == "sort" and v == "oldest")}

    def filter(self, query: sa.Select) -> sa.Select:
        if self.name:
            # In the file's name: the text, and no separator after it.
            name = "%" + _escape(self.name.strip().casefold()) + "%"
            path = sa.func.lower(MediaFile.current_path)
            query = query.where(path.like(name, escape="\\"), ~path.like(name + "/%", escape="\\"))
        if self.person:
            faces = sa.select(FaceRow.file_id).where(
                sa.func.lower(FaceRow.person) == self.person.strip().casefold()
            )
            query = query.where(MediaFile.id.in_(faces))
        if self.since:
            query = query.where(MediaFile.decided_at >= _day_start(self.since))
        if self.until:
            query = query.where(MediaFile.decided_at < _day_start(self.until + timedelta(days=1)))
        if self.folder:
            # The folder part of the path: the text, then at least one more separator.
            folder = self.folder.strip().strip("/").casefold()
            pattern = "%" + _escape(folder) + "%/%"
            query = query.where(sa.func.lower(MediaFile.source_path).like(pattern, escape="\\"))
        return query

    def order(self, query: sa.Select) -> sa.Select:
        if self.sort == QueueSort.NEWEST:
            return query.order_by(MediaFile.decided_at.desc(), MediaFile.id.desc())
        if self.sort == QueueSort.NEAREST:
            nearest = (
                sa.select(sa.func.min(FaceRow.distance))
                .where(FaceRow.file_id == MediaFile.id)
                .scalar_subquery()
            )
            # Files without a measured face last.
            return query.order_by(
                sa.case((nearest.is_(None), 1), else_=0),
                nearest,
                MediaFile.decided_at,
                MediaFile.id,
            )
        return query.order_by(MediaFile.decided_at, MediaFile.id)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
