"""How far a long run is: a bar on a terminal, a line now and then anywhere else.

On a terminal, :func:`progress_for` draws a ``rich`` bar (files done of the total, the
rate, the time left). Elsewhere (a pipe, a file, an Airflow task log) it writes one
line every ``FACESORT_PROGRESS_SECONDS`` seconds (default 5) or every
``FACESORT_PROGRESS_FILES`` files (default 0: by time only), whichever comes first,
and a last line when the run is done::

    progress: 40/200 files (20%), 1.9 files/s, about 1m 24s left
    progress: 200/200 files (100%), 1.9 files/s, done in 1m 45s

(a slow run says ``2.4 s/file`` instead of ``0.4 files/s``).

This module knows nothing of sorting: a run calls :meth:`LineProgress.advance` after
each file and :meth:`LineProgress.close` at the end.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import IO, Protocol

ENV_SECONDS = "FACESORT_PROGRESS_SECONDS"
ENV_FILES = "FACESORT_PROGRESS_FILES"
DEFAULT_SECONDS = 5.0


class Progress(Protocol):
    def advance(self, files: int = 1) -> None: ...

    def close(self) -> None: ...


# What a run is given: called with the number of files it is about to sort.
ProgressFactory = Callable[[int], Progress]


class NoProgress:
    def advance(self, files: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def duration(seconds: float) -> str:
    """``"45s"``, ``"3m 05s"``, ``"2h 10m"``: short, for a progress line."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def speed(files_per_second: float) -> str:
    """``"2.5 files/s"``, or for slow runs (faces in large photos) ``"3.2 s/file"``."""
    if 0 < files_per_second < 1:
        return f"{1 / files_per_second:.1f} s/file"
    return f"{files_per_second:.1f} files/s"


class LineProgress:
    """One line now and then, for readers that are not terminals."""

    def __init__(
        self,
        total: int,
        write: Callable[[str], None],
        *,
        every_seconds: float = DEFAULT_SECONDS,
        every_files: int = 0,
        label: str = "progress",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = total
        self.done = 0
        self._write = write
        self._every_seconds = every_seconds
        self._every_files = every_files
        self._label = label
        self._clock = clock
        self._started = self._last_at = clock()
        self._last_done = 0

    def advance(self, files: int = 1) -> None:
        self.done += files
        now = self._clock()
        by_time = now - self._last_at >= self._every_seconds
        by_count = self._every_files and self.done - self._last_done >= self._every_files
        if (by_time or by_count) and self.done < self.total:
            self._emit(now)

    def close(self) -> None:
        if self.total and self._last_done != self.done:
            self._emit(self._clock(), final=True)

    def line(self, now: float, *, final: bool = False) -> str:
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        percent = 100 * self.done // self.total if self.total else 100
        head = f"{self._label}: {self.done}/{self.total} files ({percent}%), {speed(rate)}"
        if final or self.done >= self.total:
            return f"{head}, done in {duration(elapsed)}"
        if not rate:
            return head
        return f"{head}, about {duration((self.total - self.done) / rate)} left"

    def _emit(self, now: float, *, final: bool = False) -> None:
        self._write(self.line(now, final=final))
        self._last_at, self._last_done = now, self.done


class BarProgress:
    """A ``rich`` progress bar on a terminal (rich comes with Airflow)."""

    def __init__(self, total: int, stream: IO[str], *, label: str = "sorting"):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task = self._bar.add_task(label, total=total, rate="")
        self._bar.start()
        # rich now prints what goes to sys.stderr above the bar; log handlers that hold
        # the real stream (``-v``) are pointed there too, or their lines would tear it.
        self._handlers = [
            h
            for h in logging.getLogger().handlers
            if isinstance(h, logging.StreamHandler) and h.stream is stream
        ]
        for handler in self._handlers:
            handler.setStream(sys.stderr)
        self._stream = stream

    def advance(self, files: int = 1) -> None:
        self._bar.advance(self._task, files)
        rate = self._bar.tasks[0].speed
        if rate:
            self._bar.update(self._task, rate=speed(rate))

    def close(self) -> None:
        self._bar.stop()
        for handler in self._handlers:
            handler.setStream(self._stream)


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def progress_for(stream: IO[str], total: int, *, label: str = "progress") -> Progress:
    """The progress display for ``total`` files written to ``stream``: a bar if it is a
    terminal, lines otherwise, nothing when there is nothing to sort."""
    if total <= 0:
        return NoProgress()
    terminal = getattr(stream, "isatty", lambda: False)()
    if terminal and os.environ.get("TERM") != "dumb":
        return BarProgress(total, stream)

    def write(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()  # a pipe or a task log sees it now, not at the end

    return LineProgress(
        total,
        write,
        every_seconds=_env_number(ENV_SECONDS, DEFAULT_SECONDS),
        every_files=int(_env_number(ENV_FILES, 0)),
        label=label,
    )


def progress_factory(stream: IO[str], *, label: str = "progress") -> ProgressFactory:
    """What a run is given: ``run_once(config, progress=progress_factory(sys.stderr))``."""
    return lambda total: progress_for(stream, total, label=label)
