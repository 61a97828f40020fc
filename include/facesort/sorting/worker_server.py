"""The forkserver a run's sorting workers fork from, started as soon as a run knows it
will have workers.

The server imports :mod:`facesort.sorting.worker_start` (the batch code, the decoders
and dlib's models, ~0.6 s) once for all workers. ``facesort run`` starts it right after
reading the config, before it imports the run's own code, so that both load side by
side.
This module imports nothing heavy itself, so that starting the server costs nothing.
"""

from __future__ import annotations

from typing import Any


def uses_workers(workers: int, config_file: Any) -> bool:
    """Whether a run with ``workers`` sorts in worker processes: more than one, and a
    config file the workers can read it from."""
    return workers > 1 and config_file is not None


def server_context():
    import multiprocessing

    return multiprocessing.get_context("forkserver")


def start_worker_server() -> None:
    """Start the workers' forkserver now (it loads their code and models while the caller
    goes on); a server this process started before is used as it is."""
    from multiprocessing import forkserver

    server_context().set_forkserver_preload(["facesort.sorting.worker_start"])
    forkserver.ensure_running()
