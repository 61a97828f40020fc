"""Re-evaluating files facesort already sorted, with today's references and settings.

Used by the manual re-sort (``facesort_resort``, ``facesort resort``) and by the nightly
re-check of the review queue. A *plan* lists only the files whose destination would
change (file, from, to, reason); applying it moves them through the journal as one
group, so ``journal.undo_group`` reverts a whole re-sort.

Files are re-matched from the faces stored when they were sorted (fast: no decoding)
unless ``redetect`` is asked for, or the file was unreadable then. Duplicates are not
re-sorted: a duplicate stays one until a person says otherwise in review; nor are files
a person approved in review.

``plan``: the plan and its journaled moves. A manual re-sort (the DAG's trigger form,
``facesort resort``) is described by a :class:`ResortRequest` (``request``), checked
with messages that name the field and the fix; its plan is a CSV file under
``<reports_dir>/resorts/`` (``plan_file``); applying a plan file re-checks each
planned file and moves only those still going where the plan says.
"""

from __future__ import annotations

from facesort.resort.plan import (
    PLACED_BY_A_PERSON,
    RESORTABLE_CATEGORIES,
    PlannedMove,
    Scope,
    apply_resort,
    current_folder,
    plan_resort,
    select_files,
    summarize_plan,
)
from facesort.resort.plan_file import (
    PLAN_COLUMNS,
    AppliedPlan,
    apply_plan_csv,
    finish_resort_intent,
    read_plan_csv,
    record_resort_intent,
    unfinished_resort,
    write_plan_csv,
)
from facesort.resort.request import (
    SCOPES,
    THRESHOLDS,
    ResortRequest,
    ResortRequestError,
    known_people,
    plan_path,
    resort_request,
)

__all__ = [
    "PLACED_BY_A_PERSON",
    "PLAN_COLUMNS",
    "RESORTABLE_CATEGORIES",
    "SCOPES",
    "THRESHOLDS",
    "AppliedPlan",
    "PlannedMove",
    "ResortRequest",
    "ResortRequestError",
    "Scope",
    "apply_plan_csv",
    "apply_resort",
    "current_folder",
    "finish_resort_intent",
    "known_people",
    "plan_path",
    "plan_resort",
    "read_plan_csv",
    "record_resort_intent",
    "resort_request",
    "select_files",
    "summarize_plan",
    "unfinished_resort",
    "write_plan_csv",
]
