"""Content hashes of files: what identifies a file's bytes, wherever it lies."""

from __future__ import annotations

import hashlib
import os

CHUNK = 1024 * 1024


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while read := handle.readinto(buffer):
            digest.update(view[:read])
    return digest.hexdigest()


def content_is(path: str, expected_sha256: str | None) -> bool:
    """Whether the file at ``path`` holds exactly the expected bytes (False when it is
    gone, unreadable, or nothing was expected)."""
    if not expected_sha256:
        return False
    try:
        return sha256_file(path) == expected_sha256
    except OSError:
        return False
