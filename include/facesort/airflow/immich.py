"""The Immich steps of facesort_ingest, and the poll of its sensor.

Where Immich is comes from :func:`facesort.airflow.hooks.endpoint_with_connections`:
the connections ``immich_api`` / ``immich_db`` win over the YAML. Immich being down or
misconfigured never raises here: the run's Immich status records it, the files are
matched locally, and :func:`check_outcome` reports it at the end of the run.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from facesort.airflow.hooks import endpoint_with_connections
from facesort.airflow.step import TaskRun
from facesort.config import Config, load_config
from facesort.state import State

log = logging.getLogger("facesort")


def _endpoint(state: State, config: Config, run_id: str):
    """(endpoint or None, the run's Immich record when its settings are wrong)."""
    from facesort.immich.runs import resolve_endpoint

    return resolve_endpoint(state, config, run_id, endpoint_with_connections)


def queue_scan(run: TaskRun) -> dict[str, Any]:
    """Probe Immich and queue the scan of the libraries covering staging."""
    from facesort.immich.prepare import prepare_run
    from facesort.immich.runs import run_summary

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        endpoint, failed = _endpoint(state, config, run.run_id)
        if failed is None:
            prepare_run(state, config, endpoint, run.run_id)
        outcome = run_summary(state, run.run_id)
    print(f"Immich: {outcome['status']} {outcome['message'] or ''}".rstrip())
    return outcome


def poll_readiness(run: TaskRun) -> dict[str, Any]:
    """One look at whether the run's face data is final (a sensor's poke)."""
    from facesort.immich.wait import ReadinessPoll

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        endpoint, _ = _endpoint(state, config, run.run_id)
        return ReadinessPoll(state, endpoint, run.run_id).poll().as_dict()


def learn_references(run: TaskRun) -> dict[str, Any]:
    """Save the feature face of each person named in Immich as a reference photo."""
    from facesort.immich.people import learn_people
    from facesort.immich.run_record import get_run
    from facesort.immich.runs import reference_lines
    from facesort.vocab import ImmichStatus

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        immich_run = get_run(state, run.run_id)
        endpoint, _ = _endpoint(state, config, run.run_id)
    if endpoint is None or immich_run is None or immich_run.status != ImmichStatus.OK:
        learnt: dict[str, Any] = {"skipped": "Immich is not usable in this run"}
    elif not endpoint.settings.sync_references:
        learnt = {"skipped": "immich.sync_references is off"}
    else:
        learnt = learn_people(config, endpoint)
    for line in reference_lines(learnt) or [f"people from Immich: {learnt}"]:
        print(line)
    return {key: len(v) if isinstance(v, list) else v for key, v in learnt.items()}


def store_names(run: TaskRun) -> dict[str, int]:
    """Who Immich says is in each of the run's files, stored for sort_batch; counts.
    The named faces of files that will move are recorded too (names carried over)."""
    from facesort.immich import carry
    from facesort.immich.read import read_names

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        endpoint, _ = _endpoint(state, config, run.run_id)
        counts = read_names(state, endpoint, run.run_id)
        # Before any file of the run moves: the names Immich has on them.
        carrying = carry.prepare_for_run(
            state, config, run.run_id, resolve=endpoint_with_connections
        )
    for status, count in sorted(counts.items()):
        print(f"immich {status}: {count}")
    print(f"Immich names recorded to carry over: {carrying['recorded']}")
    return counts


def carry_names(run: TaskRun, *, write: bool = True) -> dict[str, Any]:
    """Give the people named in Immich to the new assets of the files facesort moved,
    where Immich is ready (one pass; what waits is finished by a later pass or run)."""
    from facesort.immich import carry

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        endpoint = endpoint_with_connections(config)
        result = carry.carry_pass(state, config, endpoint, run.actor, write=write)
    if result.message:
        log.warning("%s", result.message)
    print(f"Immich names: {result.detail}")
    return result.as_dict()


def queue_rescan(run: TaskRun) -> str:
    """After routing: queue the scans again so Immich sees the files at their new place."""
    import sqlalchemy as sa

    from facesort.immich.carry_moves import moves_to_look_at
    from facesort.immich.prepare import rescan_after_routing
    from facesort.state.models import Event
    from facesort.vocab import EventAction

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        with state.session() as session:
            moved = session.scalar(
                sa.select(sa.func.count())
                .select_from(Event)
                .where(Event.actor == run.actor, Event.action == EventAction.ROUTED)
            )
        endpoint, _ = _endpoint(state, config, run.run_id)
        moved = (moved or 0) + moves_to_look_at(state, config)  # and later moves (review, ...)
        done = rescan_after_routing(state, config, endpoint, run.run_id, moved)
    print(f"Immich rescan: {done}")
    return done


def check_outcome(run: TaskRun) -> dict[str, Any]:
    """Immich's part in the run (status, message, wait, files by status). When its
    settings were wrong, the task is skipped with the fix: every file was sorted locally,
    so the run succeeds, and a skipped task stands out in the grid."""
    from facesort.immich.run_record import NOT_USED
    from facesort.immich.runs import run_summary
    from facesort.vocab import ImmichStatus

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        outcome = run_summary(state, run.run_id)
    print(f"Immich: {outcome}")
    if outcome["not_used"]:
        log.warning("%s: %s", NOT_USED, outcome["not_used"])
    if outcome["status"] == ImmichStatus.ERROR:
        raise AirflowSkipException(f"{NOT_USED}: {outcome['not_used']}")
    return outcome
