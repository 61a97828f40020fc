"""Counted words in messages: ``plural(1, "file")`` is "1 file", ``plural(2, "file")``
"2 files". Every message that puts a number before a noun goes through here, so none
says "1 files" or "1 file are".

    plural(3, "cluster")                         "3 clusters"
    plural(1, "person", "people")                "1 person"
    plural(2, "file is", "files are")            "2 files are"  (the verb agrees too)
    form(n, "is not a duplicate", "are not duplicates")   the words alone, no number
"""

from __future__ import annotations

from collections.abc import Sized


def form(count: int | Sized, singular: str, many: str | None = None) -> str:
    """``singular`` for one, else ``many`` (default: ``singular`` + "s"); ``count`` may
    be a collection (its length counts)."""
    number = count if isinstance(count, int) else len(count)
    if number == 1:
        return singular
    return many if many is not None else singular + "s"


def plural(count: int | Sized, singular: str, many: str | None = None) -> str:
    """The number and the word that agrees with it: "1 file", "0 files", "2 people"."""
    number = count if isinstance(count, int) else len(count)
    return f"{number} {form(number, singular, many)}"
