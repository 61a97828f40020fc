"""Sorting a run's batches in worker processes, and counting their files as they go.

Each worker sorts whole batches (:func:`facesort.sorting.batches.process_batch`) and
reports every file it finished on a queue, so the parent's progress display moves
file by file, not batch by batch.

The workers fork from a forkserver that has loaded the batch code and dlib's models
once (:mod:`facesort.sorting.worker_start`); ``facesort run`` starts it early
(:mod:`facesort.sorting.worker_server`), so that this happens while the parent scans.
A forked worker starts from the server's state, so it takes the parent's environment,
working folder and reading of the schema's head revision first.
"""

from __future__ import annotations

import queue
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.progress import Progress
from facesort.sorting.route import FileResult
from facesort.sorting.worker_server import server_context, start_worker_server
from facesort.state import State, head_revision
from facesort.state.models import Batch

_finished: Any = None  # the worker's end of the queue (set by _start_worker)


class _QueueProgress:
    def __init__(self, channel):
        self._channel = channel

    def advance(self, files: int = 1) -> None:
        self._channel.put(files)

    def close(self) -> None:
        pass


def _start_worker(channel, environ: dict[str, str], cwd: str, head: str) -> None:
    import os

    from facesort import faults
    from facesort.state import adopt_head_revision

    global _finished
    _finished = channel
    # the server was started with the environment of its time (an earlier run's, in a
    # test process): relative paths, crash points and settings are the parent's now
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    faults.read_environment()
    adopt_head_revision(head)  # the parent read it (its State): no second read of the scripts


def _batch_worker(args: tuple[str, int, str, str]) -> list[dict[str, Any]]:
    config_path, batch_id, actor, group_id = args
    from facesort.config import load_config
    from facesort.sorting.batches import process_batch

    config = load_config(config_path)
    progress = _QueueProgress(_finished) if _finished is not None else None
    with State(config.database_url) as state:
        report = process_batch(
            state, config, batch_id, actor=actor, group_id=group_id, progress=progress
        )
        return [r.as_dict() for r in report.results]


def claimed_files(state: State, batch_ids: list[int]) -> int:
    """How many files the batches hold (the total a progress display counts to)."""
    if not batch_ids:
        return 0
    with state.session() as session:
        return session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Batch.file_count), 0)).where(
                Batch.id.in_(batch_ids)
            )
        )


def sort_in_workers(
    config: Config,
    batch_ids: list[int],
    *,
    workers: int,
    actor: str,
    run_id: str,
    progress: Progress,
) -> list[FileResult]:
    """Sort the batches in ``workers`` processes; their results, batch by batch."""
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    start_worker_server()  # a no-op where the run started it before the scan
    context = server_context()
    channel = context.Queue()
    jobs = [(str(config.source), b, actor, run_id) for b in batch_ids]

    def drain() -> None:
        while True:
            try:
                progress.advance(channel.get_nowait())
            except queue.Empty:
                return

    with ProcessPoolExecutor(
        min(workers, len(batch_ids)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(channel, dict(os.environ), os.getcwd(), head_revision()),
    ) as pool:
        futures = [pool.submit(_batch_worker, job) for job in jobs]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            drain()
        results = [FileResult(**r) for future in futures for r in future.result()]
    drain()
    return results
