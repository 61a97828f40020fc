"""Indexing the library when the state database is new.

Duplicates are found by the records of the files facesort sorted. After the state
database is lost (or facesort is pointed at an existing library), there are none, and a
photo downloaded again would be filed into the library a second time. So before the
first sort with an empty state, every photo and video already in the library is
recorded, by its content (SHA-256), as an original that new files are compared with.
"""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.hashing import sha256_file
from facesort.media import sniff
from facesort.state import State
from facesort.state.models import MediaFile, utcnow
from facesort.vocab import FileStatus, Kind, Place

log = logging.getLogger(__name__)

PROGRESS_EVERY = 500


def index_library_if_new(state: State, config: Config) -> int:
    """Record the library's files when the state has no file at all; how many."""
    library = config.library_dir
    with state.session() as session:
        if session.scalar(sa.select(MediaFile.id).limit(1)) is not None:
            return 0
    paths = [
        os.path.join(folder, name)
        for folder, dirs, names in os.walk(library)
        for name in sorted(names)
        if not name.startswith(".")
    ]
    if not paths:
        return 0
    log.warning(
        "indexing the library %s: %d files (the state database is new; photos already in "
        "the library are then recognised when they are downloaded again)",
        library,
        len(paths),
    )
    indexed = 0
    for number, path in enumerate(paths, 1):
        try:
            media = sniff(path)
            if media is None or media.kind not in {Kind.IMAGE, Kind.VIDEO}:
                continue
            st = os.stat(path)
            sha = sha256_file(path)
        except OSError as exc:
            log.warning("not indexed: %s (%s)", path, exc.strerror)
            continue
        person = os.path.relpath(os.path.dirname(path), library).split(os.sep)[0]
        with state.session() as session:
            session.add(
                MediaFile(
                    source_path=path,
                    staging_dir=str(library),
                    size=st.st_size,
                    mtime_ns=st.st_mtime_ns,
                    kind=media.kind,
                    file_type=media.extension,
                    sha256=sha,
                    status=FileStatus.DONE,
                    is_original=True,
                    current_path=path,
                    place=Place.LIBRARY,
                    people=[person] if person != "." else [],
                    reason={"summary": "found in the library when the state database was new"},
                    decided_at=utcnow(),
                )
            )
        indexed += 1
        if number % PROGRESS_EVERY == 0:
            log.warning("indexing the library: %d of %d files", number, len(paths))
    log.warning("indexing the library: done, %d photos and videos recorded", indexed)
    return indexed
