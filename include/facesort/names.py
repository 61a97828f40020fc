"""Safe names for folders and files facesort creates.

A person's name comes from a reference folder, from Immich or from the review page;
it must never become a path outside ``library/`` and two different people must never
share a folder by accident. Names are NFKC-normalised (so Unicode look-alikes such as
full-width letters fold to the same text), stripped of separators and control
characters, and limited in length. :func:`person_key` is the identity used to detect
two names that would land in the same folder.
"""

from __future__ import annotations

import os
import re
import unicodedata

MAX_NAME_BYTES = 120  # leaves room under NAME_MAX (255) for " (123)" and extensions
MAX_FILE_NAME_BYTES = 240

_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_SPACES = re.compile(r"\s+")


class UnsafeNameError(ValueError):
    """A name that cannot be made into a folder name (empty after cleaning)."""


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def safe_folder_name(name: str) -> str:
    """The folder name for a person. Raises UnsafeNameError when nothing usable is left."""
    text = unicodedata.normalize("NFKC", name)
    # Format characters (zero-width joiners, bidi overrides) make look-alike names.
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cc", "Cs", "Co"})
    text = _UNSAFE_CHARS.sub("_", text)
    text = _SPACES.sub(" ", text).strip()
    text = text.lstrip(".").rstrip(". ")
    text = _truncate_utf8(text, MAX_NAME_BYTES).strip().rstrip(".")
    if not text or set(text) <= {"_", " "}:
        raise UnsafeNameError(f"{name!r} is not usable as a person's name")
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = f"_{text}"
    return text


def person_key(name: str) -> str:
    """Identity of a person's name: two names with the same key share a folder."""
    return safe_folder_name(name).casefold()


def safe_file_name(name: str) -> str:
    """A file name safe to create: no separators or control characters, bounded length."""
    text = unicodedata.normalize("NFC", name)
    text = _UNSAFE_CHARS.sub("_", text).strip()
    if text in {"", ".", ".."}:
        text = "unnamed"
    if text.startswith("."):
        # Hidden files would be skipped by every later scan of the folder.
        text = "_" + text[1:]
    stem, ext = os.path.splitext(text)
    ext = _truncate_utf8(ext, 16)
    stem = _truncate_utf8(stem, MAX_FILE_NAME_BYTES - len(ext.encode("utf-8")))
    return (stem or "unnamed") + ext


def display_file_name(path: str | bytes) -> str:
    """A file's base name as text, replacing bytes that are not UTF-8."""
    raw = os.fsencode(path)
    return os.path.basename(raw).decode("utf-8", errors="replace")


def numbered(name: str, number: int) -> str:
    """``photo.jpg`` -> ``photo (2).jpg``."""
    if number == 0:
        return name
    stem, ext = os.path.splitext(name)
    suffix = f" ({number})"
    stem = _truncate_utf8(stem, MAX_FILE_NAME_BYTES - len((suffix + ext).encode("utf-8")))
    return f"{stem}{suffix}{ext}"
