"""The ``facesort`` command: the same logic as the DAGs, without Airflow.

    facesort run [--dry-run] [--workers N] [--json]   one full pass
    facesort status                                    counts by place
    facesort history FILE                              every decision about a file
    facesort references add NAME FILE... | list        reference photos
    facesort references sync-immich                    people named in Immich -> references
    facesort recover                                   finish interrupted moves
    facesort resort SCOPE [--apply] [thresholds]       re-sort sorted files (dry run first)
    facesort undo [GROUP]                              revert a run or re-sort; list groups
    facesort report [--week 2026-W05]                  write the weekly review-queue report
    facesort review list | approve | reject | undo ... the review queue (review/cli.py)
    facesort db upgrade | current                      state database schema

Every command takes ``--config FILE`` (or ``$FACESORT_CONFIG``). Errors a user can
act on are printed as one message, without a traceback, and exit with status 2.

The package: ``parser.py`` (the options every command takes), ``app.py`` (running one
command, its errors), ``output.py`` (printing sorted files), and one module per command
group with its arguments and handlers: ``run.py``, ``status.py`` (status, history),
``references.py`` (with ``learning.py``: learnt reference photos), ``moves.py``
(recover, resort, undo), ``report.py``, ``db.py``;
``facesort review`` is in ``facesort/review/cli.py``, ``facesort people`` in
``facesort/people/cli.py``; ``actor.py`` names the user who runs a command, as their
actions are recorded (``facesort review/anna``).
"""

from facesort.cli.app import main
from facesort.cli.parser import build_parser

__all__ = ["build_parser", "main"]
