"""The approval of a re-sort plan in the Airflow UI, between ``plan`` and ``apply``.

Airflow's own human-in-the-loop operator (the standard provider's ``ApprovalOperator``):
the task writes the request (subject, and as body the plan's summary: how many files go
from where to where, and where the plan CSV is) and waits. On Airflow 3.3 it waits in
the ``awaiting_input`` state, holding no worker slot; the *Required actions* page of the
UI, or ``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/approve/-1/hitlDetails``
answers it. *Approve* lets ``apply`` run; *Reject* skips it, so nothing moves. Without an
answer within the form's ``approval_timeout_hours`` the scheduler takes the default,
*Reject*.

Nothing to approve (a dry run, an empty plan) skips the task, and ``apply`` with it; the
form's ``skip_approval`` (scripted runs) lets ``apply`` run without asking.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk.exceptions import AirflowSkipException

from facesort.words import plural

# The default of the trigger form's approval_timeout_hours, and the longest it may be.
APPROVAL_HOURS = 24
MAX_APPROVAL_HOURS = 24 * 7
PLAN_ROUTE = "/facesort/review/reports/resorts/"  # the review plugin serves plan CSVs here


def approval_text(planned: dict[str, Any], run_id: str) -> tuple[str, str]:
    """(subject, Markdown body) of the approval request for the plan ``planned`` (what
    the ``plan`` step returned)."""
    count = planned["planned"]
    subject = f"Re-sort: move {count} file{'s' if count != 1 else ''}?"
    lines = [
        f"**{planned['request']}**: {count} file{'s' if count != 1 else ''} would move.",
        "",
        "| from | to | files |",
        "|---|---|---:|",
    ]
    for moves, files in planned["moves"].items():
        before, _, after = moves.partition(" -> ")
        lines.append(f"| {before} | {after} | {files} |")
    csv_name = planned["plan_csv"].rsplit("/", 1)[-1]
    lines += [
        "",
        f"The plan, file by file (file, from, to, reason): [{csv_name}]({PLAN_ROUTE}{csv_name})"
        f", on disk `{planned['plan_csv']}`.",
        "",
        "**Approve**: `apply` moves these files through the journal as one group "
        f"(`facesort undo {run_id}` puts them all back); a file that would now go elsewhere "
        "than the plan says is left alone. **Reject**: nothing moves.",
    ]
    return subject, "\n".join(lines)


class PlanApproval(ApprovalOperator):
    """``ApprovalOperator`` whose request is the plan of the ``plan`` task (read from its
    XCom when the task runs), skipped when there is nothing to approve."""

    def __init__(self, *, plan_task_id: str = "plan", **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Re-sort: move the planned files?")
        kwargs.setdefault("defaults", ApprovalOperator.REJECT)  # what a timeout answers
        super().__init__(**kwargs)
        self.plan_task_id = plan_task_id

    def execute(self, context: Any) -> Any:
        planned = context["ti"].xcom_pull(task_ids=self.plan_task_id)
        params = context.get("params") or {}
        if planned["dry_run"]:
            raise AirflowSkipException("dry run: nothing to approve, nothing moves")
        if not planned["planned"]:
            raise AirflowSkipException("the plan is empty: nothing to approve")
        if params.get("skip_approval"):
            moving = plural(planned["planned"], "file")
            self.log.info("skip_approval is on: %s move without asking", moving)
            return None
        self.subject, self.body = approval_text(planned, context["run_id"])
        hours = float(params.get("approval_timeout_hours") or APPROVAL_HOURS)
        self.response_timeout = timedelta(hours=min(hours, MAX_APPROVAL_HOURS))
        return super().execute(context)
