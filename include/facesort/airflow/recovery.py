"""The first task of every DAG that moves files: bring the schema up to date and finish
the transfers a dead run left in flight."""

from __future__ import annotations

from facesort.airflow.step import TaskRun
from facesort.config import load_config
from facesort.state import State


def recover_interrupted(run: TaskRun) -> dict[str, int]:
    from facesort.files.recovery import recover_transfers

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        report = recover_transfers(state, lease_s=config.claim_lease_seconds)
    return {
        "finished": report.finished,
        "redone": report.replanned,
        "vanished": report.vanished,
        "still_running": report.skipped_live,
    }
