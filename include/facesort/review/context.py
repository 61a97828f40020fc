"""What every review verb acts with: the config, the state database, the person doing
it (``actor``), their reference photos, and the gate before an action's first move.

:class:`ReviewContext` is what the verb modules (:mod:`~facesort.review.naming`,
:mod:`~facesort.review.keep_instead`, :mod:`~facesort.review.not_duplicate`,
:mod:`~facesort.review.not_person`) take; :class:`facesort.review.actions.Reviewer` is
one, with the verbs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from facesort.config import Config
from facesort.review.intent import (
    ActionKey,
    Intent,
    begin,
    done_so_far,
    find_retry,
    recover_first,
)
from facesort.review.reference_photos import ReferencePhotos
from facesort.review.targets import files_of, queue_files
from facesort.state import State
from facesort.state.models import MediaFile, ReviewAction


class ReviewContext:
    """One person (``actor``) reviewing: what each of their actions acts with."""

    def __init__(self, config: Config, state: State, actor: str):
        self.config = config
        self.state = state
        self.actor = actor
        self.photos = ReferencePhotos(config, state, actor)

    def gate(
        self,
        kind: str,
        person: str | None,
        file_ids: Iterable[int],
        *,
        categories: Sequence[str] | None = None,
        queue: bool = True,
    ) -> tuple[list[MediaFile], ReviewAction | None, Intent]:
        """Recover first, then the files of the action: checked to be in the queue,
        except those an earlier, killed try of the same action already moved."""
        ids = list(dict.fromkeys(int(i) for i in file_ids))
        recover_first(self.state, self.config)
        retry = find_retry(self.state, ActionKey(kind, person, ids))
        prior = done_so_far(self.state, retry)
        todo = [i for i in ids if i not in prior.moved]
        if queue and todo:
            queue_files(self.state, todo, categories)
        return files_of(self.state, ids), retry, prior

    def begin(
        self, kind: str, person: str | None, files: list[MediaFile], retry: ReviewAction | None
    ) -> Intent:
        """Record the action before its first move (or take over the killed try)."""
        key = ActionKey(kind, person, [m.id for m in files])
        return begin(self.state, self.config, self.actor, key, retry=retry)
