"""Immich's part in one run: its steps in order, and what they come to.

The same for Airflow tasks and ``facesort run``; the steps themselves are
:mod:`~facesort.immich.prepare` (probe, scan), :mod:`~facesort.immich.wait` (is the face
data final?), :mod:`~facesort.immich.read` (who is in each file) and
:mod:`~facesort.immich.people` (named people -> references), over the run's record and
files in :mod:`~facesort.immich.run_record`.

Immich being down, slow or misconfigured never stops a run: the run's Immich status says
why, every file is matched locally, and the run says it once, in one ``warning:`` line
(:func:`report_lines`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.errors import ImmichError
from facesort.immich.endpoint import ImmichEndpoint
from facesort.immich.run_record import NOT_USED, get_run, save_run
from facesort.state import State
from facesort.state.models import ImmichFile, ImmichRun
from facesort.vocab import ImmichFileStatus, ImmichStatus, WaitOutcome
from facesort.words import plural

log = logging.getLogger(__name__)

# Statuses of a file for which Immich said something usable.
CONTRIBUTING = (ImmichFileStatus.FACES, ImmichFileStatus.NO_FACE)


def resolve_endpoint(
    state: State, config: Config, run_id: str, resolve=None
) -> tuple[ImmichEndpoint | None, ImmichRun | None]:
    """The endpoint (``resolve`` overlays Airflow connections); a settings problem is
    recorded as the run's Immich error instead of stopping the run."""
    from facesort.immich.endpoint import endpoint_from_config

    try:
        return (resolve or endpoint_from_config)(config), None
    except ImmichError as exc:
        return None, save_run(state, run_id, status=ImmichStatus.ERROR, message=str(exc))


@dataclass(frozen=True)
class RunStart:
    """Immich's part before sorting: the run's record, and what learning changed in the
    references (a :meth:`~facesort.immich.people.SyncReport.as_dict`, or None)."""

    run: ImmichRun | None
    references: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return self.run.status if self.run is not None else ImmichStatus.DISABLED


def before_sorting(
    state: State, config: Config, run_id: str, *, resolve=None, sleep=None
) -> RunStart:
    """prepare -> wait -> learn people -> read names, in one process (``facesort run``)."""
    from facesort.immich.people import learn_people
    from facesort.immich.prepare import prepare_run
    from facesort.immich.read import read_names
    from facesort.immich.wait import poll_until_ready

    endpoint, failed = resolve_endpoint(state, config, run_id, resolve)
    learnt: dict[str, Any] | None = None
    if failed is None:
        run = prepare_run(state, config, endpoint, run_id)
        if run.status == ImmichStatus.OK and run.wait_outcome == WaitOutcome.WAITING:
            status = poll_until_ready(state, endpoint, run_id, sleep=sleep)
            log.info("Immich wait: %s (%s)", status.outcome, status.detail)
        if (
            endpoint is not None
            and run.status == ImmichStatus.OK
            and endpoint.settings.sync_references
        ):
            learnt = learn_people(config, endpoint)
    read_names(state, endpoint, run_id)
    return RunStart(get_run(state, run_id), learnt)


def run_summary(state: State, run_id: str) -> dict[str, Any]:
    """Immich's part in a run, small enough for an XCom or a line of output."""
    run = get_run(state, run_id)
    if run is None:
        return {"status": ImmichStatus.DISABLED}
    with state.session() as session:
        counts = dict(
            session.execute(
                sa.select(ImmichFile.status, sa.func.count())
                .where(ImmichFile.run_id == run_id)
                .group_by(ImmichFile.status)
            ).all()
        )
    summary = {
        "status": run.status,
        "message": run.message,
        "server_version": run.server_version,
        "wait": run.wait_outcome,
        "wait_detail": run.wait_detail,
        "files": counts,
    }
    summary["not_used"] = not_used_reason(summary)
    return summary


def not_used_reason(summary: dict[str, Any]) -> str | None:
    """Why Immich contributed nothing to the run, once for the run (None: it did, or
    there was nothing to ask it, or it is not configured)."""
    status = summary.get("status")
    if status == ImmichStatus.DISABLED:
        return None
    if status != ImmichStatus.OK:
        return summary.get("message") or str(status)
    files: dict[str, int] = summary.get("files") or {}
    if not files or any(files.get(s) for s in CONTRIBUTING):
        return None
    described = ", ".join(f"{n} {_FILE_WORDS.get(s, s)}" for s, n in sorted(files.items()))
    counted = plural(sum(files.values()), "file")
    return f"Immich said nothing usable about the run's {counted}: {described}"


_FILE_WORDS = {
    ImmichFileStatus.NO_ASSET: "without an asset in Immich",
    ImmichFileStatus.NOT_READY: "whose face detection had not finished",
    ImmichFileStatus.STALE: "whose asset describes another file at that path",
    ImmichFileStatus.UNAVAILABLE: "not asked",
}


def report_lines(summary: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(lines for stdout, lines for stderr) about Immich's part in a run."""
    from facesort.immich.carry import summary_line

    out: list[str] = []
    err: list[str] = []
    if not summary or summary.get("status") == ImmichStatus.DISABLED:
        return out, err
    reason = summary.get("not_used") or not_used_reason(summary)
    carried = summary_line(summary.get("carry_names"))
    if reason:
        err.append(f"facesort: warning: {NOT_USED}: {reason}")
    elif summary.get("wait") == WaitOutcome.SKIPPED and not summary.get("files"):
        if not carried:  # names carried for files moved since (review): not nothing
            err.append("facesort: Immich: nothing to do (no new files)")
    else:
        files = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("files", {}).items()))
        version = summary.get("server_version") or "(version not probed)"
        err.append(f"Immich {version}: wait {summary.get('wait')}; files {files or 'none'}")
    if summary.get("wait") == WaitOutcome.NO_QUEUES and summary.get("wait_detail"):
        err.append(f"facesort: warning: Immich: {summary['wait_detail']}")
    out.extend(reference_lines(summary.get("references")))
    out.extend([carried] if carried else [])
    return out, err


def reference_lines(learnt: dict[str, Any] | None) -> list[str]:
    """Every change learning made to the references, and who was skipped and why."""
    if not learnt:
        return []
    if learnt.get("error"):
        return [f"references from Immich: not learnt: {learnt['error']}"]
    lines = [f"reference saved from Immich: {name}" for name in learnt.get("saved") or []]
    lines += [f"reference moved (renamed in Immich): {m}" for m in learnt.get("moved") or []]
    lines += [f"reference removed: {r}" for r in learnt.get("removed") or []]
    lines += [f"skipped: {s}" for s in learnt.get("skipped") or []]
    return lines
