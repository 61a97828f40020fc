"""Reference photos: ``<references_dir>/<Person Name>/*.jpg|png|heic...``.

The folder name is the person's name and, made safe, the name of their library
folder. Every usable photo of a person is kept (matching uses the nearest one). A photo
with several faces contributes its largest face; one with no face is reported and
skipped.

Encodings are cached in the state database by the photo's SHA-256 (and the detector
settings used), and the hash itself by path, size, mtime and inode, so a run with
unchanged references neither hashes nor decodes them. On a cold start the worker
processes of a run share the work: each photo is encoded by the first process to
claim it (a lock file per photo), the others take the next unclaimed photo and read
the claimed ones from the database when they are done.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from facesort.config import Config, MatchingSettings
from facesort.errors import FacesortError
from facesort.faces import encoding_from_bytes, encoding_to_bytes, find_faces, largest_face
from facesort.faults import crashpoint
from facesort.files.hashing import sha256_file
from facesort.files.journal import fsync_dir
from facesort.matching import ReferenceSet
from facesort.media import UnreadableMedia, open_image, sniff
from facesort.names import (
    UnsafeNameError,
    numbered,
    person_key,
    safe_file_name,
    safe_folder_name,
)
from facesort.state import State
from facesort.state.models import FileIndexEntry, ReferenceEncoding
from facesort.vocab import IndexState, Kind, ReferenceStatus

log = logging.getLogger(__name__)

REFERENCE = IndexState.REFERENCE


class ReferencesError(FacesortError):
    """The reference photos cannot be used as they are (a folder missing or unreadable,
    two folders for one person). A problem of the whole run, never of the photo being
    sorted: sorting stops, and no photo's attempts are used up by it."""


def settings_key(settings: MatchingSettings) -> str:
    return (
        f"{settings.detector}/u{settings.upsample}/d{settings.detect_max_side}"
        f"/e{settings.encode_max_side}/j{settings.num_jitters}"
    )


@dataclass(frozen=True)
class ReferencePhoto:
    person: str
    path: Path

    @property
    def label(self) -> str:
        """How the photo is named in reasons: ``Person/photo.jpg``."""
        return f"{self.person}/{self.path.name}"


def _listing(folder: Path, what: str) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except PermissionError:
        raise ReferencesError(
            f"The reference folder {folder} cannot be read (permission denied): give the "
            f"user facesort runs as read access to it (chmod -R u+rX or a+rX {folder}), or "
            f"move it out of the references folder. No photo was sorted; {what}."
        ) from None
    except OSError as exc:
        raise ReferencesError(
            f"The reference folder {folder} cannot be read ({exc.strerror}): check the disk "
            f"or share it is on. No photo was sorted; {what}."
        ) from None


RETRY = "the next run sorts them once this is fixed"


def person_folders(references_dir: Path) -> dict[str, Path]:
    """Person name -> folder; two names that would share a library folder are an error.
    A missing references folder has nobody in it (see :func:`require_references_dir`)."""
    if not references_dir.is_dir():
        return {}
    folders: dict[str, Path] = {}
    keys: dict[str, str] = {}
    for entry in _listing(references_dir, RETRY):
        if entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
            continue
        name = entry.name
        try:
            key = person_key(name)
        except UnsafeNameError:
            log.warning("reference folder %s has no usable name; skipped", entry)
            continue
        if key in keys:
            raise ReferencesError(
                f"Reference folders {keys[key]!r} and {name!r} in {references_dir} would share "
                f"the library folder {safe_folder_name(name)!r}: merge them into one folder or "
                f"rename one. No photo was sorted; {RETRY}."
            )
        keys[key] = name
        folders[name] = entry
    return folders


def require_references_dir(references_dir: Path) -> None:
    """Local matching without the references folder would call everyone unknown: a
    missing folder (an unmounted share) stops sorting instead."""
    if not references_dir.is_dir():
        raise ReferencesError(
            f"The references folder {references_dir} (references_dir) does not exist: mount "
            "the share it is on, create it, or point references_dir at your reference "
            f"photos. No photo was sorted; {RETRY}."
        )


def reference_photos(references_dir: Path) -> list[ReferencePhoto]:
    photos = []
    for person, folder in person_folders(references_dir).items():
        for path in _listing(folder, RETRY):
            if path.name.startswith(".") or not path.is_file() or path.is_symlink():
                continue
            photos.append(ReferencePhoto(person, path))
    return photos


class ReferenceLoader:
    """Builds the ReferenceSet, reusing cached hashes and encodings."""

    def __init__(self, state: State, config: Config):
        self.state = state
        self.config = config
        self.key = settings_key(config.matching)
        # claims are per state database: processes of one run share one
        self.claims = _claims_dir(config.database_url)

    def load(self) -> ReferenceSet:
        """Raises ReferencesError when the folder is missing or cannot be read."""
        require_references_dir(self.config.references_dir)
        photos = reference_photos(self.config.references_dir)
        root = str(self.config.references_dir)
        with self.state.session() as session:
            index = {
                e.path: e
                for e in session.scalars(
                    sa.select(FileIndexEntry).where(
                        FileIndexEntry.root == root, FileIndexEntry.state == REFERENCE
                    )
                )
            }
        found: dict[Path, ReferenceEncoding | str] = {}
        claimed_elsewhere = []
        for photo in photos:
            try:
                sha = self._hash(photo.path, index.get(str(photo.path)), root)
                cached = self._encoding(photo.path, sha, wait=False)
            except OSError as exc:
                found[photo.path] = f"{photo.label}: cannot be read ({exc.strerror})"
                continue
            if cached is None:
                claimed_elsewhere.append((photo, sha))
            else:
                found[photo.path] = cached
        for photo, sha in claimed_elsewhere:
            try:
                found[photo.path] = self._encoding(photo.path, sha, wait=True)
            except OSError as exc:
                found[photo.path] = f"{photo.label}: cannot be read ({exc.strerror})"
        rows = []
        problems = []
        for photo in photos:
            cached = found[photo.path]
            if isinstance(cached, str):
                problems.append(cached)
                continue
            if cached.status != ReferenceStatus.FACE or cached.encoding is None:
                problems.append(f"{photo.label}: {cached.detail or cached.status}")
                continue
            rows.append((photo.person, photo.label, encoding_from_bytes(cached.encoding)))
        references = ReferenceSet.build(rows)
        references.problems = problems
        for problem in problems:
            log.warning("reference photo skipped: %s", problem)
        return references

    def _hash(self, path: Path, entry: FileIndexEntry | None, root: str) -> str:
        st = path.stat()
        if (
            entry is not None
            and entry.sha256
            and (entry.size, entry.mtime_ns, entry.inode)
            == (
                st.st_size,
                st.st_mtime_ns,
                st.st_ino,
            )
        ):
            return entry.sha256
        sha = sha256_file(path)
        if not self.state.readonly:
            values = {
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "inode": st.st_ino,
                "sha256": sha,
                "state": REFERENCE,
            }
            try:
                with self.state.session() as session:
                    if entry is None:
                        session.execute(
                            sa.delete(FileIndexEntry).where(FileIndexEntry.path == str(path))
                        )
                        session.add(FileIndexEntry(path=str(path), root=root, **values))
                    else:
                        session.execute(
                            sa.update(FileIndexEntry)
                            .where(FileIndexEntry.id == entry.id)
                            .values(**values)
                        )
            except IntegrityError:
                pass  # another worker indexed the same photo at the same moment
        return sha

    def _cached(self, sha: str) -> ReferenceEncoding | None:
        with self.state.session() as session:
            cached = session.get(ReferenceEncoding, sha)
        return cached if cached is not None and cached.settings_key == self.key else None

    def _encoding(self, path: Path, sha: str, *, wait: bool) -> ReferenceEncoding | None:
        """The photo's encoding, from the cache or computed; None (only when not
        ``wait``) while another process is computing it."""
        cached = self._cached(sha)
        if cached is not None or self.state.readonly:
            return cached or compute_reference_encoding(path, sha, self.config)
        with _claimed(self.claims, f"{sha}-{self.key}", wait=wait) as mine:
            if not mine:
                return None
            cached = self._cached(sha)  # computed by another process while we waited
            if cached is not None:
                return cached
            return self._compute(path, sha)

    def _compute(self, path: Path, sha: str) -> ReferenceEncoding:
        result = compute_reference_encoding(path, sha, self.config)
        if not self.state.readonly:
            try:
                with self.state.session() as session:
                    session.merge(result)
            except IntegrityError:
                pass  # another worker cached the same photo at the same moment
        return result


def _claims_dir(database_url: str) -> Path:
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "facesort-reference-claims" / digest


@contextlib.contextmanager
def _claimed(folder: Path, name: str, *, wait: bool) -> Iterator[bool]:
    """Hold the claim ``name`` among this machine's processes (an flock on a file); yields
    False when another process holds it and not ``wait``. Without a usable lock folder
    every process claims for itself: the work is then done twice, never wrongly."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / f"{name.replace('/', '_')}.lock", "a")  # noqa: SIM115
    except OSError:
        handle = None
    if handle is None:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def compute_reference_encoding(path: Path, sha: str, config: Config) -> ReferenceEncoding:
    import numpy as np

    key = settings_key(config.matching)
    try:
        decoded = open_image(
            path,
            max_side=config.matching.encode_max_side,
            max_pixels=config.limits.max_image_pixels,
        )
    except UnreadableMedia as exc:
        return ReferenceEncoding(
            sha256=sha,
            status=ReferenceStatus.UNREADABLE,
            detail=str(exc),
            settings_key=key,
            face_count=0,
        )
    faces = find_faces(np.asarray(decoded.image), config.matching)
    face = largest_face(faces)
    if face is None:
        return ReferenceEncoding(
            sha256=sha,
            status=ReferenceStatus.NO_FACE,
            detail="no face found in this reference photo",
            settings_key=key,
            face_count=0,
        )
    return ReferenceEncoding(
        sha256=sha,
        status=ReferenceStatus.FACE,
        encoding=encoding_to_bytes(face.encoding),
        box=list(face.box),
        face_count=len(faces),
        detail=None if len(faces) == 1 else f"{len(faces)} faces; the largest one is used",
        settings_key=key,
    )


def add_reference_photos(config: Config, name: str, files: list[Path]) -> tuple[str, list[Path]]:
    """Copy photos into the person's reference folder; returns (folder name, new paths).

    Each photo is written under a hidden temporary name, synced, and only then given its
    real name, so a crash or a full disk never leaves part of a photo as a reference. A
    photo whose content the folder already holds is not copied again (so running the
    command again after a crash adds nothing twice)."""
    try:
        folder_name = safe_folder_name(name)
    except UnsafeNameError as exc:
        raise FacesortError(f"{exc}: give the person a name with letters or digits.") from None
    existing = person_folders(config.references_dir)
    for other in existing:
        if person_key(other) == person_key(folder_name) and other != folder_name:
            folder_name = other  # same person, spelled differently: use their folder
    target = config.references_dir / folder_name
    added = []
    for source in files:
        if not source.is_file():
            raise FacesortError(f"{source} is not a file: give paths of photos of {name}.")
        media = sniff(source)
        if media is None or media.kind != Kind.IMAGE:
            raise FacesortError(f"{source} is not a photo facesort can read (by its content).")
    target.mkdir(parents=True, exist_ok=True)
    _remove_stale_copies(target)
    held = {sha256_file(p) for p in _listing(target, "nothing was added") if _is_photo_file(p)}
    for source in files:
        sha = sha256_file(source)
        if sha in held:
            log.warning("%s is already a reference photo of %s; not copied again", source, name)
            continue
        added.append(_copy_in(source, target, safe_file_name(source.name), sha))
        held.add(sha)
    return folder_name, added


def _is_photo_file(path: Path) -> bool:
    return not path.name.startswith(".") and path.is_file() and not path.is_symlink()


_COPY_PREFIX = ".facesort-add-"


def _remove_stale_copies(folder: Path) -> None:
    """Temporary copies left by an add that was killed (its process is gone)."""
    import psutil

    for path in folder.glob(f"{_COPY_PREFIX}*.part"):
        pid = path.name[len(_COPY_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            path.unlink(missing_ok=True)


def _copy_in(source: Path, folder: Path, name: str, sha: str) -> Path:
    tmp = folder / f"{_COPY_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}.part"
    try:
        with open(source, "rb") as src, open(tmp, "xb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, tmp)
        if sha256_file(tmp) != sha:
            raise FacesortError(f"{source} changed while it was being copied: add it again.")
        crashpoint("references.copied")
        number = 0
        while True:
            dest = folder / numbered(name, number)
            try:
                os.link(tmp, dest)  # never replaces a photo that is there
                break
            except FileExistsError:
                number += 1
        fsync_dir(folder)
    except OSError as exc:
        raise FacesortError(
            f"Cannot copy {source} into {folder}: {exc.strerror or exc}. Nothing was added "
            "for it: free space or fix the permissions, then add it again."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    crashpoint("references.added")
    return dest
