"""Running a command and measuring it: wall-clock time, CPU time of the whole process
tree, and peak memory.

CPU time is counted for every process the command starts, also those it does not wait
for itself (the face_recognition command's pool workers are children of a forkserver):
the tree is sampled every ``POLL_SECONDS`` with psutil, and the root's own resource
usage (which includes the children it waited for) is read when it exits. Both are lower
bounds of the true total; the larger is reported. On a machine shared with other work
the wall-clock time varies from run to run, the CPU time much less.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import asdict, dataclass

import psutil

POLL_SECONDS = 0.2


@dataclass
class Measured:
    command: list[str]
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float  # the largest resident set of any single process of the tree
    stdout: str = ""
    stderr: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("stdout")
        data.pop("stderr")
        return data


def run_measured(command: list[str], *, env: dict | None = None, cwd=None) -> Measured:
    out_path = f"/tmp/facesort-bench-{os.getpid()}-{time.monotonic_ns()}"
    with open(out_path + ".out", "w+b") as out, open(out_path + ".err", "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        cpu: dict[tuple[int, float], float] = {}
        rss: dict[tuple[int, float], int] = {}
        root = psutil.Process(proc.pid)
        while True:
            _sample(root, cpu, rss)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        waited_cpu = usage.ru_utime + usage.ru_stime
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    os.unlink(out_path + ".out")
    os.unlink(out_path + ".err")
    peak = max([usage.ru_maxrss * 1024, *rss.values()])
    return Measured(
        command=command,
        returncode=proc.returncode,
        wall_s=round(wall, 3),
        cpu_s=round(max(waited_cpu, sum(cpu.values())), 3),
        peak_rss_mib=round(peak / 2**20, 1),
        stdout=stdout,
        stderr=stderr,
    )


def _sample(root: psutil.Process, cpu: dict, rss: dict) -> None:
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for process in processes:
        try:
            with process.oneshot():
                key = (process.pid, process.create_time())
                times = process.cpu_times()
                memory = process.memory_info().rss
        except psutil.Error:
            continue
        cpu[key] = max(cpu.get(key, 0.0), times.user + times.system)
        rss[key] = max(rss.get(key, 0), memory)
