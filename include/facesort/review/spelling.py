"""Is a person's name as typed a new person, or a typo of someone facesort knows?

A name nobody has yet makes a new person folder. When it is also close to a known name
("obma" beside "obama"), it is most likely a typo, so the action asks to be confirmed
(:class:`NewPersonUnconfirmed`) before anything moves; a name that is new and close to
nobody, or a known one, goes ahead.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from facesort.config import Config
from facesort.names import person_key
from facesort.review.results import ReviewError
from facesort.state import State

# How alike two names must be (difflib's ratio of their folded spellings) to ask: high
# enough that different people ("Ann", "Dan") rarely ask, low enough that one missing,
# extra or swapped letter in a short name does ("obma": 0.89 beside "obama").
CLOSE_RATIO = 0.8


class NewPersonUnconfirmed(ReviewError):
    """A new person's name close to a known one: confirm it (``confirm_new_person``)."""

    def __init__(self, person: str, did_you_mean: list[str]):
        self.person = person
        self.did_you_mean = did_you_mean
        super().__init__(
            f"new person {person!r}? did you mean "
            + " or ".join(repr(name) for name in did_you_mean)
            + "? Nothing was changed: confirm the new name to go ahead (on the command line:"
            " --new-person)."
        )


def close_names(name: str, known: list[str]) -> list[str]:
    """The known names ``name`` is probably a typo of, the closest first."""
    folded = person_key(name)
    scored = []
    for other in known:
        ratio = SequenceMatcher(None, folded, person_key(other)).ratio()
        if ratio >= CLOSE_RATIO:
            scored.append((-ratio, other.casefold(), other))
    return [other for *_, other in sorted(scored)[:3]]


def check_new_person(state: State, config: Config, person: str, *, confirmed: bool) -> None:
    """Refuse a new ``person`` close to a known one unless ``confirmed``."""
    if confirmed:
        return
    from facesort.review.queue import people_names

    known = people_names(state, config)
    keys = {person_key(name) for name in known}
    if person_key(person) in keys:
        return  # a known person
    close = close_names(person, known)
    if close:
        raise NewPersonUnconfirmed(person, close)
