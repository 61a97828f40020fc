"""The report's charts, drawn with matplotlib into PNG bytes (embedded in the page).

Figures are made with the object API (``matplotlib.figure.Figure``), not pyplot: no
global state, no GUI backend, safe in a worker. PNGs carry no software or date
metadata, so the same numbers give the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, NamedTuple

from facesort.vocab import Category

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from facesort.report.metrics import WeekReport

# One colour per review category (tab10, stable order), grey for anything newer.
CATEGORY_COLOURS = {
    Category.DUPLICATES: "#7f7f7f",
    Category.UNIDENTIFIED: "#1f77b4",
    Category.LOW_CONFIDENCE: "#ff7f0e",
    Category.MULTIPLE_FACES: "#2ca02c",
    Category.UNWANTED_PERSON: "#d62728",
    Category.UNREADABLE: "#9467bd",
}
WIDTH, HEIGHT, DPI = 6.4, 3.2, 100


class Bar(NamedTuple):
    """One series of bars: its column in the frame, its legend label, its colour."""

    column: str
    label: str
    colour: str


def _figure() -> tuple[Figure, Axes]:
    """A chart's figure and its one plot."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    return figure, figure.subplots()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _short(label: str) -> str:
    """2026-W05 -> W05 (axis labels; the page says the year)."""
    return label.split("-")[-1]


def _titled(axes: Axes, title: str, counted: str, *, axis: str = "y") -> None:
    """The chart's title and its axis of counts: labelled ``counted``, whole numbers only."""
    axes.set_title(title)
    getattr(axes, f"set_{axis}label")(counted)
    getattr(axes, f"{axis}axis").get_major_locator().set_params(integer=True)


def _stacked_weeks(axes: Axes, frame, lower: Bar, upper: Bar) -> list[str]:
    """Two bars stacked per week, each a column of ``frame``; returns the x labels."""
    x = [_short(w) for w in frame["week"]]
    axes.bar(x, frame[lower.column], label=lower.label, color=lower.colour)
    axes.bar(x, frame[upper.column], bottom=frame[lower.column], label=upper.label,
             color=upper.colour)  # fmt: skip
    return x


def queue_trend(report: WeekReport) -> bytes:
    frame = report.queue_trend
    figure, axes = _figure()
    categories = [c for c in frame.columns if c not in {"week", "total", "change"}]
    bottom = [0] * len(frame)
    x = [_short(w) for w in frame["week"]]
    for category in categories:
        values = frame[category].tolist()
        if not any(values):
            continue
        axes.bar(x, values, bottom=bottom, label=category,
                 color=CATEGORY_COLOURS.get(category, "#bcbd22"))  # fmt: skip
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    _titled(axes, "Review queue at the end of each week", "files")
    if any(bottom):
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(figure)


def queue_flow(report: WeekReport) -> bytes:
    frame = report.flow_trend
    figure, axes = _figure()
    x = list(range(len(frame)))
    axes.bar([i - 0.2 for i in x], frame["entered"], width=0.4, label="entered", color="#d62728")
    axes.bar([i + 0.2 for i in x], frame["left"], width=0.4, label="left", color="#2ca02c")
    axes.set_xticks(x, [_short(w) for w in frame["week"]])
    _titled(axes, "Files entering and leaving the review queue", "files")
    axes.legend(fontsize="small")
    return _png(figure)


def auto_sort(report: WeekReport) -> bytes:
    frame = report.auto_sort
    figure, axes = _figure()
    x = _stacked_weeks(axes, frame, Bar("to_library", "to a person's folder", "#2ca02c"),
                       Bar("to_review", "to review", "#ff7f0e"))  # fmt: skip
    axes.set_ylabel("files sorted")
    axes.yaxis.get_major_locator().set_params(integer=True)
    rate_axes = axes.twinx()
    rate_axes.plot(x, frame["auto_sort_rate"] * 100, color="black", marker="o", label="auto-sort")
    rate_axes.set_ylim(0, 105)
    rate_axes.set_ylabel("auto-sort rate (%)")
    axes.set_title("New files sorted each week, and the auto-sort rate")
    handles = axes.get_legend_handles_labels()
    rate_handles = rate_axes.get_legend_handles_labels()
    # Below the plot: inside it would hide bars, and the right side holds the rate axis.
    figure.legend(handles[0] + rate_handles[0], handles[1] + rate_handles[1], fontsize="small",
                  loc="outside lower center", ncols=3)  # fmt: skip
    return _png(figure)


def waiting_age(report: WeekReport) -> bytes:
    frame = report.age_buckets.set_index("category")
    frame = frame[frame.sum(axis=1) > 0]
    figure, axes = _figure()
    buckets = list(frame.columns)
    colours = ["#c7e9c0", "#74c476", "#fdae6b", "#e6550d", "#a50f15"]
    left = [0] * len(frame)
    for bucket, colour in zip(buckets, colours, strict=False):
        values = frame[bucket].tolist()
        axes.barh(list(frame.index), values, left=left, label=bucket, color=colour)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    _titled(axes, "How long waiting items have waited", "files", axis="x")
    if len(frame):
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        axes.text(0.5, 0.5, "the review queue is empty", ha="center", transform=axes.transAxes)
    return _png(figure)


def people(report: WeekReport, top: int = 15) -> bytes:
    frame = report.people.head(top)
    figure, axes = _figure()
    names = list(frame["person"])
    earlier = (frame["total"] - frame["added_this_week"]).clip(lower=0)
    axes.barh(names, earlier, label="before this week", color="#1f77b4")
    axes.barh(names, frame["added_this_week"], left=earlier, label="added this week",
              color="#aec7e8")  # fmt: skip
    axes.invert_yaxis()
    title = f"Files per person (top {top})" if len(report.people) > top else "Files per person"
    _titled(axes, title, "files", axis="x")
    if names:
        axes.legend(fontsize="small", loc="lower right")
    else:
        axes.text(0.5, 0.5, "no one's folder has files yet", ha="center",
                  transform=axes.transAxes)  # fmt: skip
    return _png(figure)


def duplicates(report: WeekReport) -> bytes:
    frame = report.duplicates
    figure, axes = _figure()
    _stacked_weeks(axes, frame, Bar("exact", "exact copies", "#7f7f7f"),
                   Bar("near", "near duplicates", "#c7c7c7"))  # fmt: skip
    _titled(axes, "Duplicates caught each week", "files")
    axes.legend(fontsize="small")
    return _png(figure)


# The page shows them in this order: (id, alt text, drawing function).
CHARTS = (
    ("queue", "Review queue size per category, week by week", queue_trend),
    ("flow", "Files entering and leaving the review queue, week by week", queue_flow),
    ("age", "Age of the items waiting in the review queue", waiting_age),
    ("auto_sort", "Files sorted and the auto-sort rate, week by week", auto_sort),
    ("people", "Files per person", people),
    ("duplicates", "Duplicates caught, week by week", duplicates),
)


def draw_all(report: WeekReport) -> dict[str, bytes]:
    return {chart_id: draw(report) for chart_id, _, draw in CHARTS}
