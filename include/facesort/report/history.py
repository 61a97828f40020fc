"""Where every file was at any moment, rebuilt from the audit trail (the ``event`` table).

The report never reads the *current* place of a file from ``media_file``: a past week's
numbers must come out the same whether the report is made at the end of that week or
months later. So the history is loaded up to a moment (the end of the reported week)
and replayed:

- an event with a destination (``to_path``) moves the file there: its ``place``
  (library, review, or anything newer such as a trash folder), ``category`` and
  ``people`` say where that is; "copied" is the exception: it adds an extra copy in
  another person's folder and the file itself stays where it was;
- an "undo" event without a destination removed a file at ``from_path``: an extra
  copy, or, for a transfer made in copy mode, the file's own copy (it is then back in
  staging only);
- "discovered", "failed", "vanished" and the like do not move sorted files, nor do
  the names facesort carried onto Immich assets ("immich_named", "immich_unnamed"):
  those are left out when the trail is read.

Only the columns needed are loaded, into pandas frames; the rest is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from facesort.state import State
from facesort.state.models import Event
from facesort.vocab import Category, EventAction, Place

if TYPE_CHECKING:
    import pandas as pd

QUEUE = Place.REVIEW
LIBRARY = Place.LIBRARY
COPY_ACTION = EventAction.COPIED
REMOVAL_ACTION = EventAction.UNDO
# Writes to Immich, journaled per file: they never change where a file is.
IMMICH_ACTIONS = (EventAction.IMMICH_NAMED, EventAction.IMMICH_UNNAMED)


@dataclass
class History:
    """The audit trail up to ``until`` (exclusive), ready for snapshots and flows."""

    until: datetime
    # Every change of a file's own place, in order: file_id, at, id, action, path, place,
    # category, person, and the place before (prev_place, prev_category, prev_person).
    moves: pd.DataFrame
    # Extra copies in people's folders: file_id, path, person, at, removed_at (NaT: kept).
    copies: pd.DataFrame
    # First sorting decisions ("routed"): file_id, at, place, category, rule.
    routed: pd.DataFrame

    # ------------------------------------------------------------------ snapshots

    def places_at(self, moment: datetime) -> pd.DataFrame:
        """Each file's place just before ``moment``: file_id, path, place, category,
        person, at (when it got there). Files never sorted, or back in staging, have
        place None."""
        import pandas as pd

        moves = self.moves[self.moves["at"] < pd.Timestamp(moment)]
        return moves.groupby("file_id", sort=True).tail(1).reset_index(drop=True)

    def queue_at(self, moment: datetime) -> pd.DataFrame:
        """The review queue just before ``moment``, with when each item entered it."""
        import pandas as pd

        places = self.places_at(moment)
        queued = places[places["place"] == QUEUE].copy()
        entered = self.moves[
            (self.moves["at"] < pd.Timestamp(moment))
            & (self.moves["place"] == QUEUE)
            & (self.moves["prev_place"] != QUEUE)
        ]
        since = entered.groupby("file_id")["at"].max().rename("waiting_since")
        return queued.join(since, on="file_id")

    def library_at(self, moment: datetime) -> pd.DataFrame:
        """Files in people's folders just before ``moment``: file_id, person, path, and
        whether it is an extra copy."""
        import pandas as pd

        places = self.places_at(moment)
        own = places.loc[places["place"] == LIBRARY, ["file_id", "person", "path"]].assign(
            copy=False
        )
        at = pd.Timestamp(moment)
        copies = self.copies[
            (self.copies["at"] < at)
            & (self.copies["removed_at"].isna() | (self.copies["removed_at"] >= at))
        ]
        extra = copies[["file_id", "person", "path"]].assign(copy=True)
        return pd.concat([own, extra], ignore_index=True)


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=columns)
    if "at" in frame:
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def load_history(state: State, until: datetime) -> History:
    """Read the audit trail before ``until`` and replay it."""
    import pandas as pd

    selected = (Event.id, Event.file_id, Event.at, Event.action, Event.from_path,
                Event.to_path, Event.place, Event.category, Event.people)  # fmt: skip
    columns = [column.key for column in selected]
    with state.session() as session:
        rows = session.execute(
            sa.select(*selected)
            .where(Event.at < until, Event.file_id.is_not(None))
            .where(Event.to_path.is_not(None) | (Event.action == REMOVAL_ACTION))
            .where(Event.action.not_in(IMMICH_ACTIONS))
            .order_by(Event.at, Event.id)
        ).all()
        routed_rows = session.execute(
            sa.select(Event.id, Event.file_id, Event.at, Event.place, Event.category)
            .where(Event.at < until, Event.action == EventAction.ROUTED)
            .order_by(Event.at, Event.id)
        ).all()
        # The reason (with the rule) is only needed to tell exact from near duplicates.
        duplicate_rules = {
            event_id: (reason or {}).get("rule")
            for event_id, reason in session.execute(
                sa.select(Event.id, Event.reason).where(
                    Event.at < until,
                    Event.action == EventAction.ROUTED,
                    Event.category == Category.DUPLICATES,
                )
            )
        }
    events = _frame([tuple(r) for r in rows], columns)
    events["person"] = [p[0] if isinstance(p, list) and p else None for p in events["people"]]

    copy_events = events[(events["action"] == COPY_ACTION) & events["to_path"].notna()]
    removals = events[events["to_path"].isna()]
    copy_paths = set(zip(copy_events["file_id"], copy_events["to_path"], strict=True))
    is_copy_removal = pd.Series(
        [(f, p) in copy_paths for f, p in zip(removals["file_id"], removals["from_path"],
                                              strict=True)],
        index=removals.index,
        dtype=bool,
    )  # fmt: skip
    copy_removals = removals.loc[is_copy_removal]
    located = events[events["to_path"].notna() & (events["action"] != COPY_ACTION)]
    # An undo that removed the file's own copy (copy mode): it is back in staging only.
    # It counts only when it removed the path where the file was at that moment.
    candidates = removals.loc[~is_copy_removal & removals["from_path"].notna()]
    where = pd.merge_asof(
        candidates[["at", "file_id"]].reset_index().sort_values("at"),
        located[["at", "file_id", "to_path"]].sort_values("at"),
        on="at",
        by="file_id",
    ).set_index("index")
    removed_own = candidates["from_path"] == where["to_path"].reindex(candidates.index)
    own_removals = candidates.loc[removed_own].assign(
        to_path=None, place=None, category=None, person=None
    )
    moves = (
        pd.concat([located, own_removals], ignore_index=True)
        .sort_values(["file_id", "at", "id"], kind="stable")
        .rename(columns={"to_path": "path"})
    )
    moves = moves[["file_id", "at", "id", "action", "path", "place", "category", "person"]]
    moves = moves.reset_index(drop=True).astype({"place": object, "category": object})
    previous = moves.groupby("file_id")[["place", "category", "person"]].shift(1)
    moves["prev_place"] = previous["place"]
    moves["prev_category"] = previous["category"]
    moves["prev_person"] = previous["person"]

    copies = copy_events[["file_id", "to_path", "person", "at"]].rename(columns={"to_path": "path"})
    removed = (
        copy_removals.groupby(["file_id", "from_path"])["at"]
        .max()
        .rename("removed_at")
        .rename_axis(["file_id", "path"])
    )
    copies = copies.join(removed, on=["file_id", "path"]).reset_index(drop=True)
    if "removed_at" not in copies or copies.empty:
        copies["removed_at"] = pd.Series(dtype="datetime64[ns, UTC]")
    # A removal only counts for the copy it followed (a name can be reused later).
    copies.loc[copies["removed_at"] < copies["at"], "removed_at"] = pd.NaT

    routed = _frame(
        [(f, at, place, category, duplicate_rules.get(event_id))
         for event_id, f, at, place, category in routed_rows],
        ["file_id", "at", "place", "category", "rule"],
    )  # fmt: skip
    return History(until=until, moves=moves, copies=copies, routed=routed)
