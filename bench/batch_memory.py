"""Peak memory of sorting one batch of 200 photos.

`facesort run --workers 1` with ``batch_size: 200`` sorts the 200 photos of
bench/photoset.py (1000-4032 px JPEGs) as one batch in one process, as one
``sort_batch`` task does on a worker; the peak resident set size of that process is
measured. The same is done for the first 20 of those photos as one batch: the two peaks
should be close, since a batch holds one photo's pixels at a time.

    .venv/bin/python bench/batch_memory.py [--count 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import photoset
from measure import run_measured

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"


def sort_one_batch(photos: Path, names: list[str], work: Path, matching: dict) -> dict:
    if work.exists():
        shutil.rmtree(work)
    (work / "staging").mkdir(parents=True)
    for name in names:
        shutil.copyfile(photos / "photos" / name, work / "staging" / name)
    shutil.copytree(photos / "references", work / "references", copy_function=shutil.copyfile)
    config = {
        "staging_dirs": ["staging"],
        "library_dir": "library",
        "review_dir": "review",
        "references_dir": "references",
        "workers": 1,
        "batch_size": len(names),
        "scan": {"stable_seconds": 0},
        "matching": matching,
    }
    (work / "facesort.yaml").write_text(yaml.safe_dump(config))
    measured = run_measured(
        [str(BIN / "facesort"), "--config", str(work / "facesort.yaml"), "run", "--json"]
    )
    if measured.returncode != 0:
        raise RuntimeError(measured.stderr[-3000:])
    sorted_files = len(json.loads(measured.stdout))
    assert sorted_files == len(names), (sorted_files, len(names))
    return {"photos": len(names), **measured.as_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--small", type=int, default=20, help="the smaller batch to compare")
    parser.add_argument("--workdir", type=Path, help="keep the photos and workspaces here")
    parser.add_argument("--json", type=Path, default=RESULTS / "batch_memory.json")
    parser.add_argument(
        "--encoder", choices=["onnx", "dlib"], default="onnx", help="matching.encoder"
    )
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="facesort-bench-memory-"))
    try:
        photos = work / "set"
        names = sorted(photoset.build(photos, args.count))
        runs = [
            sort_one_batch(photos, names, work / "batch", {"encoder": args.encoder}),
            sort_one_batch(photos, names[: args.small], work / "small", {"encoder": args.encoder}),
        ]
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "machine_cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "batches": runs,
        "peak_rss_mib": runs[0]["peak_rss_mib"],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    for run in runs:
        print(
            f"batch of {run['photos']} photos: peak RSS {run['peak_rss_mib']} MiB "
            f"({run['wall_s']} s wall, {run['cpu_s']} s CPU)"
        )
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
