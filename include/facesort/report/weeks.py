"""ISO weeks in the report's time zone: which week a run reports, and its bounds.

A week runs from Monday 00:00 to the next Monday 00:00 in ``report.timezone``. A run of
facesort_review_report reports the last *complete* week before its data interval ends,
so a Monday-morning run, a manual run mid-week and a backfilled run all pick a week
that is over, and the numbers depend only on history up to that week's end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from facesort.errors import FacesortError

_LABEL = re.compile(r"^(\d{4})-W(\d{2})$")


class BadWeek(FacesortError):
    """A week was named in a form facesort does not understand."""


@dataclass(frozen=True)
class ReportWeek:
    year: int
    week: int
    timezone: str = "UTC"

    @classmethod
    def parse(cls, label: str, timezone: str = "UTC") -> ReportWeek:
        """``2026-W05`` (ISO year and week)."""
        match = _LABEL.match(label.strip())
        if match is None:
            raise BadWeek(f"week {label!r} is not an ISO week: write it like 2026-W05")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise BadWeek(f"week {label!r} does not exist: {year} has no week {week}") from None
        return cls(year, week, timezone)

    @classmethod
    def containing(cls, moment: datetime, timezone: str = "UTC") -> ReportWeek:
        local = _aware(moment).astimezone(ZoneInfo(timezone))
        iso = local.date().isocalendar()
        return cls(iso.year, iso.week, timezone)

    @classmethod
    def last_complete_before(cls, moment: datetime, timezone: str = "UTC") -> ReportWeek:
        """The newest week that ended at or before ``moment`` (a run's data interval end)."""
        return cls.containing(moment, timezone).shifted(-1)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @cached_property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @cached_property
    def start(self) -> datetime:
        """Monday 00:00 local time (aware)."""
        return datetime.combine(self.monday, time(0), tzinfo=ZoneInfo(self.timezone))

    @cached_property
    def end(self) -> datetime:
        """The next Monday 00:00 local time: the week is [start, end)."""
        return datetime.combine(self.monday + timedelta(days=7), time(0), ZoneInfo(self.timezone))

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)

    def shifted(self, weeks: int) -> ReportWeek:
        iso = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return ReportWeek(iso.year, iso.week, self.timezone)

    def trailing(self, count: int) -> list[ReportWeek]:
        """The ``count`` weeks ending with this one, oldest first."""
        return [self.shifted(-n) for n in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return self.label


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
