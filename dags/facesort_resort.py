"""
### facesort_resort: re-sort sorted files with today's references and settings

Manual only. *Trigger* shows a form:

- **scope**: the whole library, one person's folder, the review queue (some or all of its
  categories; duplicates are never re-sorted), or given folders under the library or
  the review queue;
- **dry run** (on by default): only write the plan;
- **thresholds**: `sure_distance`, `review_distance`, `min_margin` for this re-sort
  (empty: the config's values);
- **detect faces again** (slow; by default the faces found when a file was sorted are
  matched again).

`plan` re-evaluates every file in the scope and writes the files whose place would
change to `<reports_dir>/resorts/<run id>.csv` (file, from, to, reason). Unless it is a
dry run, `approve` waits for a person to approve the plan (*Required actions* in the UI:
the plan's summary, how many files go where, and a link to the CSV); *Reject*, or no
answer within **approval timeout** hours, skips `apply` and nothing moves. **Skip the
approval** (scripted runs) lets `apply` run at once. `apply` moves the files through the
journal, as one group named by the run id: `facesort undo <run id>` puts every file
back. A file that would now go elsewhere than the plan says, or was moved meanwhile, is
left alone and listed.

Bad values are refused in the form (types, ranges, choices) or by `plan`, with a
message naming the field and the fix.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param

from facesort.airflow import (
    LIBRARY,
    REVIEW_QUEUE,
    TaskRun,
    facesort_task,
    resort,
)
from facesort.airflow.approval import APPROVAL_HOURS, MAX_APPROVAL_HOURS, PlanApproval
from facesort.airflow.dag_defaults import facesort_dag
from facesort.vocab import Category

RESORTABLE = [c.value for c in Category if c is not Category.DUPLICATES]
SCOPE = "What to re-sort"
THRESHOLDS = "Thresholds for this re-sort (empty: the config's)"
APPROVAL = "Approval"
STEP_TIMEOUT = timedelta(hours=6)  # plan and apply each; the wait for a person is apart


def _distance(title: str, description: str) -> Param:
    return Param(None, type=["null", "number"], exclusiveMinimum=0, maximum=2, title=title,
                 description=description, section=THRESHOLDS)  # fmt: skip


@facesort_dag(
    dag_id="facesort_resort",
    schedule=None,
    catchup=False,
    max_active_runs=1,  # two re-sorts of the same files must not interleave
    retries=1,
    params={
        "scope": Param(
            "review",
            type="string",
            enum=["library", "person", "review", "folders"],
            values_display={
                "library": "The whole library",
                "person": "One person's folder",
                "review": "The review queue",
                "folders": "Given folders",
            },
            title="Scope",
            section=SCOPE,
        ),
        "person": Param(
            None,
            type=["null", "string"],
            title="Person",
            description="With scope 'One person's folder': the person's name (their folder).",
            section=SCOPE,
        ),
        "review_categories": Param(
            RESORTABLE,
            type="array",
            items={"type": "string", "enum": RESORTABLE},
            uniqueItems=True,
            examples=RESORTABLE,
            title="Review categories",
            description="With scope 'The review queue'. Duplicates are never re-sorted.",
            section=SCOPE,
        ),
        "folders": Param(
            [],
            type="array",
            items={"type": "string", "minLength": 1},
            title="Folders",
            description="With scope 'Given folders': one folder per line, inside the library "
            "or the review queue.",
            section=SCOPE,
        ),
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run",
            description="Only write the plan (file, from, to, reason); move nothing.",
        ),
        "skip_approval": Param(
            False,
            type="boolean",
            title="Skip the approval",
            description="For scripted runs: apply the plan without waiting for a person to "
            "approve it.",
            section=APPROVAL,
        ),
        "approval_timeout_hours": Param(
            APPROVAL_HOURS,
            type="number",
            exclusiveMinimum=0,
            maximum=MAX_APPROVAL_HOURS,
            title="Approval timeout (hours)",
            description="Without an answer by then the plan is rejected and nothing moves.",
            section=APPROVAL,
        ),
        "redetect": Param(
            False,
            type="boolean",
            title="Detect faces again",
            description="Slow: decode every file again instead of reusing the faces found when "
            "it was sorted.",
        ),
        "sure_distance": _distance(
            "matching.sure_distance", "A face this close to a person's reference is a sure match."
        ),
        "review_distance": _distance(
            "matching.review_distance", "Up to here an uncertain match (low_confidence)."
        ),
        "min_margin": Param(
            None,
            type=["null", "number"],
            minimum=0,
            maximum=2,
            title="matching.min_margin",
            description="The next person must be this much further away.",
            section=THRESHOLDS,
        ),
    },
    tags=["resort"],
    doc_md=__doc__,
)
def facesort_resort():
    @facesort_task(execution_timeout=STEP_TIMEOUT)
    def plan(run: TaskRun) -> dict:
        return resort.plan(run)

    @facesort_task(outlets=[LIBRARY, REVIEW_QUEUE], execution_timeout=STEP_TIMEOUT)
    def apply(run: TaskRun, planned: dict) -> dict:
        return resort.apply(run, planned)

    planned = plan()
    planned >> PlanApproval(task_id="approve", plan_task_id="plan") >> apply(planned)


facesort_resort()
