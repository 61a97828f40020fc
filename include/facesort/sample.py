"""Sample workspaces built from a copy of the bundled photos.

``make run``, the tests and the benchmarks all start from the same layout::

    ROOT/facesort.yaml      config (stable_seconds: 0, everything else default)
    ROOT/staging/           the photos to sort (copies; the originals are never moved)
    ROOT/references/<who>/  reference photos, from PHOTOS/known/
    ROOT/library/, ROOT/review/

``extras`` adds what the bundled set lacks: a byte-for-byte copy of a photo under
another name, and a truncated JPEG.

    python -m facesort.sample ROOT --photos tests/fixtures/faces [--stage incoming edge video]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

BYTE_COPY_NAME = "obama1_downloaded_again.jpg"
TRUNCATED_NAME = "truncated.jpg"


def stage_files(root: Path, photos: Path, subsets: list[str]) -> list[Path]:
    """Copy ``PHOTOS/<subset>/*`` into ``ROOT/staging``; returns the staged paths."""
    staging = root / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    staged = []
    for subset in subsets:
        for source in sorted((photos / subset).iterdir()):
            if source.is_file() and not source.name.startswith("."):
                target = staging / source.name
                shutil.copyfile(source, target)
                staged.append(target)
    return staged


def add_extras(root: Path, photos: Path) -> list[Path]:
    staging = root / "staging"
    byte_copy = staging / BYTE_COPY_NAME
    shutil.copyfile(photos / "incoming" / "obama1.jpg", byte_copy)
    truncated = staging / TRUNCATED_NAME
    data = (photos / "edge" / "obama3.jpg").read_bytes()
    truncated.write_bytes(data[: len(data) // 20])
    return [byte_copy, truncated]


def build_workspace(
    root: Path,
    photos: Path,
    *,
    stage: tuple[str, ...] = ("incoming", "edge"),
    extras: bool = True,
    settings: dict | None = None,
) -> Path:
    """Create the workspace; returns the path of its config file."""
    root.mkdir(parents=True, exist_ok=True)
    references = root / "references"
    if not references.exists():
        shutil.copytree(photos / "known", references, copy_function=shutil.copyfile)
    stage_files(root, photos, list(stage))
    if extras:
        add_extras(root, photos)
    config = {
        "staging_dirs": ["staging"],
        "library_dir": "library",
        "review_dir": "review",
        "references_dir": "references",
        "scan": {"stable_seconds": 0},
    }
    for key, value in (settings or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path = root / "facesort.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--stage", nargs="+", default=["incoming", "edge"])
    parser.add_argument("--no-extras", action="store_true")
    parser.add_argument("--only-stage", action="store_true", help="just copy more files in")
    args = parser.parse_args(argv)
    if args.only_stage:
        for path in stage_files(args.root, args.photos, args.stage):
            print(f"staged {path}")
        return 0
    config = build_workspace(
        args.root, args.photos, stage=tuple(args.stage), extras=not args.no_extras
    )
    print(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
