"""Progress of a long run (facesort.progress): lines for pipes and logs, a bar on a
terminal. The end-to-end check (``facesort run`` into a pipe) is in test_cli_progress.py."""

from __future__ import annotations

import io
import os
import re
import select

from facesort.progress import BarProgress, LineProgress, NoProgress, duration, progress_for

LINE = re.compile(
    r"^progress: (\d+)/(\d+) files \((\d+)%\), (\d+\.\d (?:files/s|s/file)), "
    r"(about (\d+h \d\dm|\d+m \d\ds|\d+s) left|done in (\d+h \d\dm|\d+m \d\ds|\d+s))$"
)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_few_seconds_or_every_n_files_and_a_last_one():
    clock, lines = Clock(), []
    progress = LineProgress(200, lines.append, every_seconds=5, every_files=50, clock=clock)
    for _ in range(8):  # 8 files in 4 s: not yet due
        clock.now += 0.5
        progress.advance()
    assert lines == []
    clock.now += 1.0  # 5 s since the start
    progress.advance()
    assert lines == ["progress: 9/200 files (4%), 1.8 files/s, about 1m 46s left"]
    for _ in range(50):  # 50 more files within 5 s: due by count
        clock.now += 0.01
        progress.advance()
    assert lines[-1].startswith("progress: 59/200 files (29%)")
    for _ in range(141):
        progress.advance()
    progress.close()
    assert lines[-1] == "progress: 200/200 files (100%), 36.4 files/s, done in 5s"
    assert len(lines) == 5  # 9, 59, 109, 159, and the last
    assert all(LINE.match(line) for line in lines), lines


def test_a_run_stopped_early_still_ends_with_a_line():
    clock, lines = Clock(), []
    progress = LineProgress(10, lines.append, every_seconds=60, clock=clock)
    clock.now += 3
    progress.advance(4)
    progress.close()
    assert lines == ["progress: 4/10 files (40%), 1.3 files/s, done in 3s"]
    slow = LineProgress(10, lines.append, every_seconds=60, clock=clock)
    clock.now += 8
    slow.advance()
    slow.close()
    assert lines[-1] == "progress: 1/10 files (10%), 8.0 s/file, done in 8s"


def test_durations_are_short():
    assert [duration(s) for s in (0, 59.4, 61, 3599, 3600 + 125)] == [
        "0s",
        "59s",
        "1m 01s",
        "59m 59s",
        "1h 02m",
    ]


def test_lines_for_pipes_a_bar_for_terminals_nothing_for_nothing(monkeypatch):
    monkeypatch.setenv("FACESORT_PROGRESS_FILES", "2")
    monkeypatch.setenv("TERM", "xterm")
    pipe = io.StringIO()
    progress = progress_for(pipe, 3)
    assert isinstance(progress, LineProgress)
    progress.advance()
    progress.advance()
    progress.advance()
    progress.close()
    written = pipe.getvalue().splitlines()
    assert [line.split(" files")[0] for line in written] == ["progress: 2/3", "progress: 3/3"]
    assert isinstance(progress_for(pipe, 0), NoProgress)

    main, side = os.openpty()
    with os.fdopen(side, "w") as terminal:
        bar = progress_for(terminal, 3)
        assert isinstance(bar, BarProgress)
        for _ in range(3):
            bar.advance()
        bar.close()
    drawn = ""
    while select.select([main], [], [], 0.2)[0]:
        try:
            drawn += os.read(main, 65536).decode(errors="replace")
        except OSError:  # the terminal's other side is closed: all is read
            break
    os.close(main)
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)  # colours, cursor moves
    assert "━━━" in drawn and "3/3 files" in drawn and " files/s " in drawn
