"""``facesort run``: one full pass, or its dry run."""

from __future__ import annotations

import argparse
import sys

from facesort.cli.output import print_results
from facesort.config import Config
from facesort.words import plural


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from facesort.sorting.worker_server import start_worker_server, uses_workers

    if not args.dry_run and uses_workers(args.workers or config.workers, config.source):
        # before the run's own imports (~0.3 s): the workers' server loads beside them
        start_worker_server()
    from facesort.sorting.run import preview_run, run_once

    if args.dry_run:
        from facesort.scan import check_staging_dirs

        check_staging_dirs(config)  # as in a real run: a missing folder is an error
        results = preview_run(config)
        if not args.json:
            print(f"Dry run: {plural(results, 'file')}; nothing was moved or recorded.")
        print_results(results, as_json=args.json, roots=config.staging_dirs)
        return 0
    from facesort.progress import progress_factory

    summary = run_once(config, workers=args.workers, progress=progress_factory(sys.stderr))
    if not args.json:
        scan = summary.scan
        recovered = plural(summary.recovered, "interrupted move")
        print(
            f"Run {summary.run_id}: {scan.registered} new, "
            + (f"{scan.unsorted} still to sort, " if scan.unsorted else "")
            + f"{scan.known} already handled, "
            f"{scan.waiting} not stable yet, {scan.ignored} not media"
            + (f", {recovered} recovered" if summary.recovered else "")
        )
        for note in scan.notes:
            print(f"note: {note}")
    print_results(summary.results, as_json=args.json, roots=config.staging_dirs)
    return _report_immich(summary.immich, as_json=args.json)


def _report_immich(immich: dict | None, *, as_json: bool = False) -> int:
    """Immich's part: a setting to fix is one warning (the files were sorted locally all
    the same, so the run succeeded); changes to the references learnt from it."""
    from facesort.immich.runs import report_lines

    out, err = report_lines(immich)
    for line in out:
        print(line, file=sys.stderr if as_json else sys.stdout)  # stdout stays JSON
    for line in err:
        print(line, file=sys.stderr)
    return 0
    if immich["status"] == "error":
        print(f"facesort: warning: Immich was not used: {immich['message']}", file=sys.stderr)
        return 0
    if immich["status"] != "ok":
        print(f"facesort: Immich: {immich['message']}", file=sys.stderr)
        return 0
    files = ", ".join(f"{k}: {v}" for k, v in sorted(immich["files"].items()))
    print(
        f"Immich {immich['server_version']}: wait {immich['wait']}; files {files or 'none'}",
        file=sys.stderr,
    )
    return 0


def add_commands(commands) -> None:
    """``facesort run``."""
    run = commands.add_parser("run", help="one full pass: recover, scan, sort")
    run.add_argument("--dry-run", action="store_true", help="print decisions, touch nothing")
    run.add_argument("--workers", type=int, default=None, help="processes (default: config)")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    run.set_defaults(handler=cmd_run)
