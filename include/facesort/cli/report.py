"""``facesort report``: the weekly review-queue report."""

from __future__ import annotations

import argparse
import json

from facesort.config import Config


def cmd_report(config: Config, args: argparse.Namespace) -> int:
    from facesort.report import ReportWeek, make_report

    week = ReportWeek.parse(args.week, config.report.timezone) if args.week else None
    made = make_report(config, week)
    if args.json:
        print(json.dumps(made.as_dict(), indent=2, default=str))
        return 0
    s = made.summary
    print(f"Report of week {made.week}: {made.page}")
    rate = "-" if s["auto_sort_rate"] is None else f"{s['auto_sort_rate']:.0%}"
    print(
        f"  review queue: {s['queue_size']} ({s['queue_change']:+d}), {s['entered_queue']} in, "
        f"{s['left_queue']} out; auto-sort rate {rate}; {s['duplicates_caught']} duplicates"
    )
    if not s["complete"]:
        print("  (the week is not over yet: its numbers will still change)")
    return 0


def add_commands(commands) -> None:
    """``facesort report``."""
    report = commands.add_parser("report", help="write the weekly review-queue report")
    report.add_argument("--week", help="ISO week, like 2026-W05 (default: the last complete week)")
    report.add_argument("--json", action="store_true")
    report.set_defaults(handler=cmd_report)
