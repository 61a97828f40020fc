"""SHA-256 throughput: facesort's file hashing vs the `sha256sum` command, same files.

The files (random bytes, several sizes) are written once and read once before timing,
so both read from the page cache and the comparison is of the hashing itself. Each
round hashes every file with facesort.files.hashing.sha256_file (what a run does for every
new file) and with one `sha256sum FILE...` command, in alternating order; the best
round of each is reported (the least disturbed by other work on the machine), and the
digests must agree.

    .venv/bin/python bench/hashing.py [--mib 512] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def make_files(folder: Path, total_mib: int) -> list[Path]:
    """Files of 64 MiB, 8 MiB and 1 MiB (like videos and photos) adding up to total_mib."""
    files = []
    sizes = [64, 8, 1]
    remaining = total_mib
    index = 0
    while remaining > 0:
        size = next((s for s in sizes if s <= remaining), 1)
        path = folder / f"file-{index:04d}.bin"
        with open(path, "wb") as handle:
            for _ in range(size):
                handle.write(os.urandom(1 << 20))
        files.append(path)
        remaining -= size
        index += 1
        sizes = sizes[1:] + sizes[:1]  # a mix of sizes
    return files


def hash_with_facesort(files: list[Path]) -> tuple[float, dict[str, str]]:
    from facesort.files.hashing import sha256_file

    start = time.perf_counter()
    digests = {str(path): sha256_file(path) for path in files}
    return time.perf_counter() - start, digests


def hash_with_sha256sum(files: list[Path]) -> tuple[float, dict[str, str]]:
    start = time.perf_counter()
    out = subprocess.run(
        ["sha256sum", *map(str, files)], capture_output=True, text=True, check=True
    ).stdout
    elapsed = time.perf_counter() - start
    digests = {}
    for line in out.splitlines():
        digest, _, name = line.partition("  ")
        digests[name] = digest
    return elapsed, digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=512, help="total size of the files")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=RESULTS / "hashing.json")
    args = parser.parse_args(argv)
    if not shutil.which("sha256sum"):
        print("sha256sum (coreutils) is not installed", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="facesort-bench-hash-"))
    try:
        files = make_files(folder, args.mib)
        total = sum(p.stat().st_size for p in files)
        hash_with_sha256sum(files)  # into the page cache
        times: dict[str, list[float]] = {"facesort": [], "sha256sum": []}
        for round_number in range(args.rounds):
            tools = [("facesort", hash_with_facesort), ("sha256sum", hash_with_sha256sum)]
            if round_number % 2:
                tools.reverse()
            digests = []
            for name, run in tools:
                elapsed, found = run(files)
                times[name].append(elapsed)
                digests.append(found)
            assert digests[0] == digests[1], "the two tools disagree on a digest"
        best = {name: min(values) for name, values in times.items()}
        mib = total / 2**20
        report = {
            "files": len(files),
            "mib": round(mib, 1),
            "rounds": args.rounds,
            "machine_cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "sha256sum_version": subprocess.run(
                ["sha256sum", "--version"], capture_output=True, text=True, check=False
            ).stdout.splitlines()[0],
            "seconds": times,
            "mib_per_s": {name: round(mib / t, 1) for name, t in best.items()},
            "ratio_facesort_to_sha256sum": round(best["sha256sum"] / best["facesort"], 2),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"{report['files']} files, {report['mib']} MiB, best of {args.rounds} rounds: "
        f"facesort {report['mib_per_s']['facesort']} MiB/s, "
        f"sha256sum {report['mib_per_s']['sha256sum']} MiB/s, "
        f"ratio {report['ratio_facesort_to_sha256sum']} (target >= 0.8)"
    )
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
