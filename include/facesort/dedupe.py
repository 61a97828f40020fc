"""Duplicate detection against everything facesort has ever kept.

An *original* is a file facesort kept (in the library or the review queue) that is not
itself a duplicate. A new file is

- an exact duplicate when its SHA-256 equals an original's, and
- a near-duplicate when its 64-bit perceptual hash is within
  ``duplicates.near_duplicate_distance`` bits of an original's (the same picture
  resized or re-encoded).

Deciding "duplicate, or the new original" happens under a lock (SQLite's write lock,
a PostgreSQL advisory lock), so two workers handling two copies of one picture at the
same moment cannot both keep it. Originals' perceptual hashes are appended to
``original_hash`` under that lock; each worker keeps them in a numpy array and only
reads the rows added since its last look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from facesort.config import DuplicateSettings
from facesort.state import State
from facesort.state.models import MediaFile, OriginalHash

if TYPE_CHECKING:
    import numpy as np

# Where an original is now: its place once sorted, its staging path while another worker
# is still sorting it (never an internal id: users read these names).
_where_now = sa.func.coalesce(MediaFile.current_path, MediaFile.source_path).label("where_now")


@dataclass(frozen=True)
class Duplicate:
    original_id: int
    original_path: str | None
    exact: bool
    distance: int = 0  # Hamming distance of the perceptual hashes (0 for exact)

    def describe(self, limit: int) -> str:
        where = self.original_path or f"file #{self.original_id}"
        if self.exact:
            return f"identical bytes (SHA-256) to {where}"
        return f"the same picture as {where} (perceptual hash distance {self.distance} <= {limit})"


def phash_to_int(value: str) -> int:
    """16 hex digits -> signed 64-bit integer (fits numpy int64 and SQL BIGINT)."""
    number = int(value, 16)
    return number - (1 << 64) if number >= 1 << 63 else number


class DuplicateFinder:
    """Finds duplicates and registers originals; caches original hashes per process."""

    def __init__(self, state: State, settings: DuplicateSettings, *, dry_run: bool = False):
        self.state = state
        self.settings = settings
        self.dry_run = dry_run
        self._ids: list[int] = []
        self._hashes: list[int] = []
        self._array: tuple[np.ndarray, np.ndarray] | None = None
        self._last_seq = 0
        # A dry run remembers the originals it would have registered, with ids < 0, and
        # their paths (so a duplicate names its original, not an internal id).
        self._pretend: dict[str, int] = {}
        self._pretend_paths: dict[int, str | None] = {}
        self._pretend_id = -1

    # ----------------------------------------------------------------- lookups

    # ``file_id``: the file being sorted. A try of it that was killed after it was
    # registered left it an original: it is never its own duplicate.

    def exact(self, session, sha256: str, file_id: int | None = None) -> Duplicate | None:
        if sha256 in self._pretend:
            pretend = self._pretend[sha256]
            return Duplicate(pretend, self._pretend_paths.get(pretend), exact=True)
        query = sa.select(MediaFile.id, _where_now).where(
            MediaFile.sha256 == sha256, MediaFile.is_original.is_(True)
        )
        if file_id is not None:
            query = query.where(MediaFile.id != file_id)
        row = session.execute(query.order_by(MediaFile.id).limit(1)).first()
        return Duplicate(row.id, row.where_now, exact=True) if row else None

    def near(self, session, phash: str, file_id: int | None = None) -> Duplicate | None:
        import numpy as np

        if not self.settings.near_duplicates:
            return None
        self._refresh(session)
        target = np.int64(phash_to_int(phash))
        while self._array is not None and self._array[0].size:
            ids, hashes = self._array
            # as unsigned: NumPy counts the bits of a signed number's absolute value
            differ = np.bitwise_xor(hashes, target).view(np.uint64)
            distances = np.bitwise_count(differ).astype(np.int64)
            distances[ids == (file_id or 0)] = 65  # itself: further than any 64-bit hash
            best = int(np.argmin(distances))
            distance = int(distances[best])
            if distance > self.settings.near_duplicate_distance:
                return None
            original_id = int(ids[best])
            if original_id < 0:
                where = self._pretend_paths.get(original_id)
                return Duplicate(original_id, where, exact=False, distance=distance)
            row = session.execute(
                sa.select(_where_now, MediaFile.is_original).where(MediaFile.id == original_id)
            ).first()
            if row is not None and row.is_original:
                return Duplicate(original_id, row.where_now, exact=False, distance=distance)
            self._forget(best)  # no longer an original (its processing failed)
        return None

    def _refresh(self, session) -> None:
        rows = session.execute(
            sa.select(OriginalHash.seq, OriginalHash.file_id, OriginalHash.phash)
            .where(OriginalHash.seq > self._last_seq)
            .order_by(OriginalHash.seq)
        ).all()
        for row in rows:
            self._ids.append(row.file_id)
            self._hashes.append(row.phash)
            self._last_seq = row.seq
        if rows or self._array is None:
            self._rebuild()

    def _forget(self, index: int) -> None:
        del self._ids[index]
        del self._hashes[index]
        self._rebuild()

    def _rebuild(self) -> None:
        import numpy as np

        self._array = (np.array(self._ids, dtype=np.int64), np.array(self._hashes, dtype=np.int64))

    # ----------------------------------------------------------------- decide

    def find_exact(self, sha256: str, file_id: int | None = None) -> Duplicate | None:
        with self.state.session() as session:
            return self.exact(session, sha256, file_id)

    def keep_or_find(
        self, file_id: int, sha256: str, phash: str | None, path: str | None = None
    ) -> Duplicate | None:
        """Return the original this file duplicates, or register it as an original.
        ``path``: where the file is (what a dry run's duplicates of it name)."""
        with self.state.session() as session:
            self.state.lock_for_dedupe(session)
            found = self.exact(session, sha256, file_id)
            if found is None and phash is not None:
                found = self.near(session, phash, file_id)
            if found is not None:
                return found
            if self.dry_run:
                self._pretend[sha256] = self._pretend_id
                self._pretend_paths[self._pretend_id] = path
                if phash is not None:
                    self._ids.append(self._pretend_id)
                    self._hashes.append(phash_to_int(phash))
                    self._rebuild()
                self._pretend_id -= 1
                return None
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == file_id)
                .values(is_original=True, sha256=sha256, phash=phash)
            )
            if phash is not None:
                session.execute(sa.delete(OriginalHash).where(OriginalHash.file_id == file_id))
                session.add(OriginalHash(file_id=file_id, phash=phash_to_int(phash)))
        return None


def forget_original(session, file_id: int) -> None:
    """The file is no longer an original (it was left in staging, or it will be retried)."""
    session.execute(sa.update(MediaFile).where(MediaFile.id == file_id).values(is_original=False))
    session.execute(sa.delete(OriginalHash).where(OriginalHash.file_id == file_id))


def register_original(session, file_id: int, sha256: str | None, phash: str | None) -> None:
    """Make a file an original that later files are compared against (a person said in
    review that it is not a duplicate)."""
    session.execute(
        sa.update(MediaFile)
        .where(MediaFile.id == file_id)
        .values(is_original=True, sha256=sha256, phash=phash)
    )
    session.execute(sa.delete(OriginalHash).where(OriginalHash.file_id == file_id))
    if phash is not None:
        session.add(OriginalHash(file_id=file_id, phash=phash_to_int(phash)))
