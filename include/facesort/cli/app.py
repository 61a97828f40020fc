"""How one ``facesort`` command runs: load the config, call the handler, and turn the
errors a user can act on into one message and exit status 2."""

from __future__ import annotations

import logging
import os
import sys

from facesort.cli.parser import build_parser
from facesort.config import load_config
from facesort.errors import FacesortError, TransferFailed


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    config = None
    # -v is facesort's detail; the schema migrations' chatter only when something is wrong.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
        code = args.handler(config, args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # The reader went away (`facesort status --files | head`): stop quietly. Python's
        # own flush at exit would fail again, so stdout goes to devnull (as the signal
        # module's documentation recommends).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except FacesortError as exc:
        print(f"facesort: {exc}", file=sys.stderr)
        return 2
    except TransferFailed as exc:
        # A full or read-only destination: the file is where it was, the action so far
        # recorded (undoable), and running the same command again continues it.
        print(
            f"facesort: {exc}. That file was not moved: free space there (or fix the "
            "folder's permissions), then run the same command again to continue.",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:
        # Imported only now: SQLAlchemy costs ~0.1 s before a command could start (for
        # `facesort run`, the workers' server starts first thing in the handler).
        from sqlalchemy.exc import DatabaseError

        if not isinstance(exc, DatabaseError):
            raise
        # The state database went away mid-command (a PostgreSQL restart) or is damaged.
        from facesort.state import database_failure

        where = config.database_url if config else "(unknown)"
        print(f"facesort: {database_failure(_hide_password(where), exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facesort: interrupted; run again to finish (nothing is lost).", file=sys.stderr)
        return 130


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
