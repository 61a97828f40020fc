"""The numbers of one week's report, as pandas frames, from the replayed history.

Every frame here depends only on events before the end of the reported week, so the
report of a past week made today (a backfill) equals the one made at the time.

Definitions (the README's "Reports" section repeats them for users):

- *queue size*: files whose place was the review queue at the end of a week, by category;
- *in / out* of a category: files that arrived in it / left it during the week (a move
  between two review categories counts for both); for the whole queue, only files that
  entered it from outside or left it;
- *waiting since*: when the file last entered the review queue (moving between review
  categories does not restart the clock);
- *auto-sort rate*: of the files sorted from staging during the week (their "routed"
  decision; a file counted once), the share that went straight into a person's folder;
- *duplicates caught*: files sorted into review/duplicates that week (exact copies and
  near duplicates);
- *per person*: files in each person's folder at the end of the week (extra copies of a
  photo of several people included) and how many arrived that week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from facesort.config import REVIEW_CATEGORIES
from facesort.report.history import LIBRARY, QUEUE, History, load_history
from facesort.report.weeks import ReportWeek
from facesort.state import State
from facesort.vocab import Category

if TYPE_CHECKING:
    import pandas as pd

# Age of waiting items, in days: [low, high) -> label.
AGE_BUCKETS: tuple[tuple[float, float, str], ...] = (
    (0, 1, "under 1 day"),
    (1, 7, "1-7 days"),
    (7, 28, "1-4 weeks"),
    (28, 91, "1-3 months"),
    (91, math.inf, "over 3 months"),
)


@dataclass
class WeekReport:
    """Everything the page and the CSV files show about one week."""

    week: ReportWeek
    weeks: list[ReportWeek]  # the trend window, oldest first, ending with ``week``
    summary: dict[str, Any]
    queue_trend: pd.DataFrame  # week, one column per category, total, change
    flow: pd.DataFrame  # category, in, out, net (this week); last row: the whole queue
    flow_trend: pd.DataFrame  # week, entered, left (the whole queue)
    left_to: pd.DataFrame  # where files that left the queue this week went: to, action, files
    waiting: pd.DataFrame  # file, category, waiting_since, age_days; oldest first
    age_buckets: pd.DataFrame  # category x age bucket
    auto_sort: pd.DataFrame  # week, sorted, to_library, to_review, duplicates, rates
    duplicates: pd.DataFrame  # week, exact, near, total
    people: pd.DataFrame  # person, files, extra_copies, total, added_this_week
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The frames written as CSV files, by file name (without .csv)."""
        return {
            "queue_by_category": self.queue_trend,
            "flow": self.flow,
            "flow_by_week": self.flow_trend,
            "left_queue_to": self.left_to,
            "waiting_items": self.waiting,
            "waiting_age": self.age_buckets,
            "auto_sort": self.auto_sort,
            "duplicates": self.duplicates,
            "people": self.people,
        }


def build_week_report(
    state: State, week: ReportWeek, *, trend_weeks: int = 8, now: datetime | None = None
) -> WeekReport:
    """The report of ``week`` from the history recorded before its end.

    A week not over yet (``now`` before its end) is reported up to ``now``.
    """
    until = week.end_utc if now is None else min(week.end_utc, now.astimezone(UTC))
    history = load_history(state, until)
    weeks = week.trailing(trend_weeks)
    categories = _categories(history)
    queue_trend = _queue_trend(history, weeks, categories)
    flow, left_to = _flow(history, week, categories)
    flow_trend = _flow_trend(history, weeks)
    waiting = _waiting(history, week)
    auto_sort = _auto_sort(history, weeks)
    duplicates = _duplicates(history, weeks)
    people = _people(history, week)
    this = auto_sort.iloc[-1]
    summary = {
        "week": week.label,
        "from": week.start.isoformat(),
        "to": week.end.isoformat(),
        "timezone": week.timezone,
        "complete": until == week.end_utc,
        "queue_size": int(queue_trend["total"].iloc[-1]),
        "queue_change": int(queue_trend["change"].iloc[-1]),
        "entered_queue": int(flow_trend["entered"].iloc[-1]),
        "left_queue": int(flow_trend["left"].iloc[-1]),
        "sorted": int(this["sorted"]),
        "to_library": int(this["to_library"]),
        "auto_sort_rate": None if _isnan(this["auto_sort_rate"]) else float(this["auto_sort_rate"]),
        "duplicates_caught": int(duplicates["total"].iloc[-1]),
        "oldest_waiting_days": float(waiting["age_days"].iloc[0]) if len(waiting) else None,
        "library_files": int(people["total"].sum()) if len(people) else 0,
    }
    return WeekReport(
        week=week,
        weeks=weeks,
        summary=summary,
        queue_trend=queue_trend,
        flow=flow,
        flow_trend=flow_trend,
        left_to=left_to,
        waiting=waiting,
        age_buckets=_age_buckets(waiting, categories),
        auto_sort=auto_sort,
        duplicates=duplicates,
        people=people,
    )


def _isnan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _categories(history: History) -> list[str]:
    """The known review categories, then any other recorded ones (newer features)."""
    seen = set(history.moves.loc[history.moves["place"] == QUEUE, "category"].dropna())
    return list(REVIEW_CATEGORIES) + sorted(seen - set(REVIEW_CATEGORIES))


def _in_week(frame: pd.DataFrame, week: ReportWeek) -> pd.DataFrame:
    import pandas as pd

    return frame[
        (frame["at"] >= pd.Timestamp(week.start_utc)) & (frame["at"] < pd.Timestamp(week.end_utc))
    ]


def _week_labels(frame: pd.DataFrame, weeks: list[ReportWeek]) -> pd.Series:
    """The label of the trend week each row's ``at`` falls in (None outside the window)."""
    import numpy as np
    import pandas as pd

    bounds = pd.DatetimeIndex([w.start_utc for w in weeks] + [weeks[-1].end_utc])
    labels = np.array([w.label for w in weeks] + [None], dtype=object)
    positions = bounds.searchsorted(pd.DatetimeIndex(frame["at"]), side="right") - 1
    positions[(positions < 0) | (positions >= len(weeks))] = len(weeks)
    return pd.Series(labels[positions], index=frame.index, dtype=object)


def _queue_trend(history: History, weeks: list[ReportWeek], categories: list[str]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for week in weeks:
        queue = history.queue_at(week.end_utc)
        counts = queue["category"].value_counts()
        rows.append({"week": week.label, **{c: int(counts.get(c, 0)) for c in categories}})
    frame = pd.DataFrame(rows, columns=["week", *categories])
    frame["total"] = frame[categories].sum(axis=1)
    frame["change"] = frame["total"].diff()
    # The week before the window: the first week's change needs its queue size.
    before = len(history.queue_at(weeks[0].start_utc))
    frame.loc[0, "change"] = frame.loc[0, "total"] - before
    return frame.astype({"change": int})


def _transitions(moves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(entered the queue from outside, left the queue) rows of ``moves``."""
    in_queue, was_in_queue = moves["place"] == QUEUE, moves["prev_place"] == QUEUE
    return moves[in_queue & ~was_in_queue], moves[~in_queue & was_in_queue]


def _flow(
    history: History, week: ReportWeek, categories: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    moves = _in_week(history.moves, week)
    arrived = moves[
        (moves["place"] == QUEUE)
        & ((moves["prev_place"] != QUEUE) | (moves["prev_category"] != moves["category"]))
    ]
    departed = moves[(moves["prev_place"] == QUEUE) & (
        (moves["place"] != QUEUE) | (moves["prev_category"] != moves["category"]))]  # fmt: skip
    arrivals = arrived["category"].value_counts()
    departures = departed["prev_category"].value_counts()
    flow = pd.DataFrame(
        {
            "category": categories,
            "in": [int(arrivals.get(c, 0)) for c in categories],
            "out": [int(departures.get(c, 0)) for c in categories],
        }
    )
    entered, left = _transitions(moves)
    flow.loc[len(flow)] = ["review queue (total)", len(entered), len(left)]
    flow["net"] = flow["in"] - flow["out"]

    destination = left["place"].map(
        lambda place: "staging (undone)" if place is None or place != place else str(place)
    )
    destination = destination.where(
        left["place"] != LIBRARY, "library/" + left["person"].fillna("?").astype(str)
    )
    left_to = (
        pd.DataFrame({"to": destination, "action": left["action"]})
        .value_counts()
        .rename("files")
        .reset_index()
        .sort_values(["files", "to", "action"], ascending=[False, True, True], kind="stable")
        .reset_index(drop=True)
    )
    if left_to.empty:
        left_to = pd.DataFrame({"to": [], "action": [], "files": []}).astype({"files": int})
    return flow, left_to


def _flow_trend(history: History, weeks: list[ReportWeek]) -> pd.DataFrame:
    import pandas as pd

    entered, left = _transitions(history.moves)
    entered_by_week = _week_labels(entered, weeks).value_counts()
    left_by_week = _week_labels(left, weeks).value_counts()
    return pd.DataFrame(
        {
            "week": [w.label for w in weeks],
            "entered": [int(entered_by_week.get(w.label, 0)) for w in weeks],
            "left": [int(left_by_week.get(w.label, 0)) for w in weeks],
        }
    )


def _waiting(history: History, week: ReportWeek) -> pd.DataFrame:
    import pandas as pd

    queue = history.queue_at(week.end_utc)
    end = pd.Timestamp(history.until)  # the week's end, or now for a week not over yet
    queue = queue.sort_values(["waiting_since", "path"], kind="stable")
    age = (end - queue["waiting_since"]).dt.total_seconds() / 86400
    local = queue["waiting_since"].dt.tz_convert(week.timezone)
    return pd.DataFrame(
        {
            "file": queue["path"].to_numpy(),
            "category": queue["category"].to_numpy(),
            "waiting_since": local.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "age_days": age.round(1).to_numpy(),
        }
    )


def _age_buckets(waiting: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    import pandas as pd

    labels = [label for _, _, label in AGE_BUCKETS]
    edges = [low for low, _, _ in AGE_BUCKETS] + [math.inf]
    bucket = pd.cut(waiting["age_days"], bins=edges, labels=labels, right=False)
    table = pd.crosstab(
        pd.Categorical(waiting["category"], categories=categories),
        pd.Categorical(bucket, categories=labels),
        dropna=False,
    )
    table = table.reindex(index=categories, columns=labels, fill_value=0)
    table.index.name = "category"
    table.columns.name = None
    return table.reset_index()


def _auto_sort(history: History, weeks: list[ReportWeek]) -> pd.DataFrame:
    import pandas as pd

    routed = history.routed.assign(week=_week_labels(history.routed, weeks))
    # A file sorted twice in a week (undone, then sorted again) counts once: its last sort.
    routed = routed.dropna(subset=["week"]).groupby(["week", "file_id"]).tail(1)
    rows = []
    for week in weeks:
        this = routed[routed["week"] == week.label]
        sorted_ = len(this)
        to_library = int((this["place"] == LIBRARY).sum())
        duplicates = int((this["category"] == Category.DUPLICATES).sum())
        rows.append(
            {
                "week": week.label,
                "sorted": sorted_,
                "to_library": to_library,
                "to_review": sorted_ - to_library,
                "duplicates": duplicates,
                "auto_sort_rate": _rate(to_library, sorted_),
                "auto_sort_rate_without_duplicates": _rate(to_library, sorted_ - duplicates),
            }
        )
    return pd.DataFrame(rows)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else math.nan


def _duplicates(history: History, weeks: list[ReportWeek]) -> pd.DataFrame:
    import pandas as pd

    dups = history.routed[history.routed["category"] == Category.DUPLICATES]
    dups = dups.assign(week=_week_labels(dups, weeks)).dropna(subset=["week"])
    rows = []
    for week in weeks:
        this = dups[dups["week"] == week.label]
        rows.append(
            {
                "week": week.label,
                "exact": int((this["rule"] == "exact_duplicate").sum()),
                "near": int((this["rule"] == "near_duplicate").sum()),
                "total": len(this),
            }
        )
    return pd.DataFrame(rows)


def _people(history: History, week: ReportWeek) -> pd.DataFrame:
    import pandas as pd

    library = history.library_at(week.end_utc)
    library = library.assign(person=library["person"].fillna("?"))
    own = library[~library["copy"]].groupby("person").size()
    copies = library[library["copy"]].groupby("person").size()
    moves = _in_week(history.moves, week)
    arrived = moves[(moves["place"] == LIBRARY) & (
        (moves["prev_place"] != LIBRARY) | (moves["prev_person"] != moves["person"]))]  # fmt: skip
    added = (
        arrived["person"]
        .fillna("?")
        .value_counts()
        .add(_in_week(history.copies, week)["person"].fillna("?").value_counts(), fill_value=0)
    )
    people = sorted(set(own.index) | set(copies.index) | set(added.index))
    frame = pd.DataFrame(
        {
            "person": people,
            "files": [int(own.get(p, 0)) for p in people],
            "extra_copies": [int(copies.get(p, 0)) for p in people],
            "added_this_week": [int(added.get(p, 0)) for p in people],
        }
    )
    frame.insert(3, "total", frame["files"] + frame["extra_copies"])
    frame = frame.sort_values(["total", "person"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True)
