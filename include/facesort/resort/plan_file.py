"""The plan file of a manual re-sort (``<reports_dir>/resorts/<group>.csv``), applying it,
and the intent file that lets a killed ``facesort resort --apply`` continue its group."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.resort.plan import PlannedMove, apply_resort, current_folder, plan_resort
from facesort.resort.request import ResortRequest, ResortRequestError
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import FileResult
from facesort.state import State
from facesort.state.models import MediaFile
from facesort.vocab import FileStatus

PLAN_COLUMNS = ("file", "from", "to", "reason")


def write_plan_csv(plan: list[PlannedMove], path: Path) -> Path:
    """The plan as CSV: file, from, to, reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "from", "to", "reason"])
        writer.writeheader()
        for move in plan:
            writer.writerow(move.as_row())
    return path


def read_plan_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != PLAN_COLUMNS:
            raise ResortRequestError(
                f"{path} is not a re-sort plan (expected the columns {', '.join(PLAN_COLUMNS)})"
            )
        return list(reader)


@dataclass
class AppliedPlan:
    results: list[FileResult]
    skipped: list[str]  # file: why it was not moved

    @property
    def moved(self) -> list[FileResult]:
        return [r for r in self.results if r.destination is not None]


def apply_plan_csv(
    state: State,
    config: Config,
    request: ResortRequest,
    path: Path,
    *,
    actor: str,
    group_id: str,
) -> AppliedPlan:
    """Apply a plan written earlier: each planned file is evaluated again and moved only
    when it still goes where the plan says (nothing else moves). A retry after a kill
    first finishes the killed try's transfers; the files those moved are then no longer
    where the plan found them and are left alone."""
    from facesort.files.recovery import recover_transfers

    recover_transfers(state, lease_s=config.claim_lease_seconds)
    config = request.config(config)
    rows = read_plan_csv(path)
    wanted = {row["file"]: row for row in rows}
    with state.session() as session:
        found = {
            media.current_path: media
            for media in session.scalars(
                sa.select(MediaFile).where(
                    MediaFile.status == FileStatus.DONE, MediaFile.current_path.in_(list(wanted))
                )
            )
        }
    evaluator = Evaluator(config, state, readonly=True)
    plan, skipped = [], []
    for file, row in wanted.items():
        media = found.get(file)
        if media is None or current_folder(media) != row["from"]:
            skipped.append(f"{file}: no longer in {row['from']}; left alone")
            continue
        (move,) = plan_resort(
            state,
            config,
            request.scope,
            redetect=request.redetect,
            evaluator=evaluator,
            files=[media],
        ) or [None]
        if move is None or move.to_folder != row["to"]:
            now = move.to_folder if move else row["from"]
            skipped.append(f"{file}: would now go to {now}, not {row['to']}; left alone")
            continue
        plan.append(move)
    results = apply_resort(state, config, plan, actor=actor, group_id=group_id)
    skipped += [f"{r.source}: {r.summary}" for r in results if r.destination is None]
    return AppliedPlan(results, skipped)


# ------------------------------------------------------------ the intent of --apply
#
# `facesort resort --apply` writes, beside its plan CSV and before its first move, a
# small intent file (group, request, owner). Killed, and run again with the same
# request, it continues that plan in that group (so one `facesort undo GROUP` reverts
# the re-sort) instead of planning again in a new one.


def _intent_path(plan_csv: Path) -> Path:
    return plan_csv.with_suffix(".intent.json")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    import json
    import os

    tmp = path.with_name(f".{path.name}.part")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def record_resort_intent(plan_csv: Path, group_id: str, request: ResortRequest) -> Path:
    from facesort.files.owners import owner_token

    path = _intent_path(plan_csv)
    _write_json(
        path,
        {"group_id": group_id, "plan": str(plan_csv), "request": repr(request),
         "owner": owner_token(), "state": "open"},
    )  # fmt: skip
    return path


def finish_resort_intent(path: Path) -> None:
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    _write_json(path, {**data, "state": "done", "owner": None})


def unfinished_resort(config: Config, request: ResortRequest) -> tuple[str, Path, Path] | None:
    """(group, plan CSV, intent file) of the same re-sort left unfinished by a process
    that is gone; refuses while a live process is applying it."""
    import json

    from facesort.files.owners import owner_gone

    folder = config.reports_path / "resorts"
    for path in sorted(folder.glob("*.intent.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("state") != "open" or data.get("request") != repr(request):
            continue
        if not owner_gone(data.get("owner"), None):
            raise ResortRequestError(
                f"This re-sort ({data['group_id']}) is being applied right now by another "
                "facesort process: wait for it to finish."
            )
        return data["group_id"], Path(data["plan"]), path
    return None
