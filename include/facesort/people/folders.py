"""Which person name owns which library folder.

A person's folder is their name made safe (names.safe_folder_name). Two *different*
names can make the same folder: "Anna/Maria" and "Anna_Maria", or the full-width
"Ｏｂａｍａ" and "Obama" (NFKC), or "obama" and "Obama" on a case-insensitive disk. Names
come from reference folders, from Immich and from the review page, so such a clash is
possible; facesort never resolves it by putting two people in one folder. The first
name that used a folder keeps it; a photo decided for another name with the same
folder identity (names.person_key) goes to review instead, saying what clashes.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from facesort.names import UnsafeNameError, person_key
from facesort.state import State
from facesort.state.models import MediaFile
from facesort.vocab import Place


class PersonFolders:
    """Owners of library folders: reference names first, then names already sorted."""

    def __init__(self, reference_people: Iterable[str], state: State | None = None):
        self._owner: dict[str, str] = {}
        for name in reference_people:
            self._claim(name)
        if state is not None:
            with state.session() as session:
                rows = session.execute(
                    sa.select(MediaFile.people)
                    .where(MediaFile.place == Place.LIBRARY, MediaFile.people.is_not(None))
                    .order_by(MediaFile.decided_at, MediaFile.id)
                ).scalars()
                for people in rows:
                    for name in people or ():
                        self._claim(name)

    def _claim(self, name: str) -> None:
        try:
            self._owner.setdefault(person_key(name), name)
        except UnsafeNameError:
            pass

    def clash(self, name: str) -> str | None:
        """The other name that already owns this name's folder, if any."""
        try:
            owner = self._owner.get(person_key(name))
        except UnsafeNameError:
            return None
        return owner if owner is not None and owner != name else None

    def taken(self, name: str) -> None:
        """``name`` now has its folder (a file was sorted there)."""
        self._claim(name)
