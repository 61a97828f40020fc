"""The report's charts, drawn with matplotlib into PNG bytes (embedded in the page).

Figures are made with the object API (``matplotlib.figure.Figure``), not pyplot: no
global state, no GUI backend, safe in a worker. PNGs carry no software or date
metadata, so the same numbers give the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from facesort.vocab import Category

if TYPE_CHECKING:
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


def _figure() -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _short(label: str) -> str:
    """2026-W05 -> W05 (axis labels; the page says the year)."""
    return label.split("-")[-1]


def queue_trend(report: WeekReport) -> bytes:
    frame = report.queue_trend
    figure = _figure()
    axes = figure.subplots()
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
    axes.set_title("Review queue at the end of each week")
    axes.set_ylabel("files")
    axes.yaxis.get_major_locator().set_params(integer=True)
    if any(bottom):
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(figure)


def queue_flow(report: WeekReport) -> bytes:
    frame = report.flow_trend
    figure = _figure()
    axes = figure.subplots()
    x = list(range(len(frame)))
    axes.bar([i - 0.2 for i in x], frame["entered"], width=0.4, label="entered", color="#d62728")
    axes.bar([i + 0.2 for i in x], frame["left"], width=0.4, label="left", color="#2ca02c")
    axes.set_xticks(x, [_short(w) for w in frame["week"]])
    axes.set_title("Files entering and leaving the review queue")
    axes.set_ylabel("files")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(fontsize="small")
    return _png(figure)


def auto_sort(report: WeekReport) -> bytes:
    frame = report.auto_sort
    figure = _figure()
    axes = figure.subplots()
    x = [_short(w) for w in frame["week"]]
    axes.bar(x, frame["to_library"], label="to a person's folder", color="#2ca02c")
    axes.bar(x, frame["to_review"], bottom=frame["to_library"], label="to review",
             color="#ff7f0e")  # fmt: skip
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
    figure = _figure()
    axes = figure.subplots()
    buckets = list(frame.columns)
    colours = ["#c7e9c0", "#74c476", "#fdae6b", "#e6550d", "#a50f15"]
    left = [0] * len(frame)
    for bucket, colour in zip(buckets, colours, strict=False):
        values = frame[bucket].tolist()
        axes.barh(list(frame.index), values, left=left, label=bucket, color=colour)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.set_title("How long waiting items have waited")
    axes.set_xlabel("files")
    axes.xaxis.get_major_locator().set_params(integer=True)
    if len(frame):
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        axes.text(0.5, 0.5, "the review queue is empty", ha="center", transform=axes.transAxes)
    return _png(figure)


def people(report: WeekReport, top: int = 15) -> bytes:
    frame = report.people.head(top)
    figure = _figure()
    axes = figure.subplots()
    names = list(frame["person"])
    earlier = (frame["total"] - frame["added_this_week"]).clip(lower=0)
    axes.barh(names, earlier, label="before this week", color="#1f77b4")
    axes.barh(names, frame["added_this_week"], left=earlier, label="added this week",
              color="#aec7e8")  # fmt: skip
    axes.invert_yaxis()
    axes.set_title(f"Files per person (top {top})" if len(report.people) > top else
                   "Files per person")  # fmt: skip
    axes.set_xlabel("files")
    axes.xaxis.get_major_locator().set_params(integer=True)
    if names:
        axes.legend(fontsize="small", loc="lower right")
    else:
        axes.text(0.5, 0.5, "no one's folder has files yet", ha="center",
                  transform=axes.transAxes)  # fmt: skip
    return _png(figure)


def duplicates(report: WeekReport) -> bytes:
    frame = report.duplicates
    figure = _figure()
    axes = figure.subplots()
    x = [_short(w) for w in frame["week"]]
    axes.bar(x, frame["exact"], label="exact copies", color="#7f7f7f")
    axes.bar(x, frame["near"], bottom=frame["exact"], label="near duplicates", color="#c7c7c7")
    axes.set_title("Duplicates caught each week")
    axes.set_ylabel("files")
    axes.yaxis.get_major_locator().set_params(integer=True)
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
