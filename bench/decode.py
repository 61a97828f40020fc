"""Decoding photos as JPEG draft gives them, judged by the outcome.

For every photo of the speed benchmark's set and of the shared face photos (as
bench/detection.py), the faces are found, encoded and matched twice, as a run does:
*before*, decoded at the detection size (``faces.decode_side``, 1000 px: JPEG draft,
then a bilinear reduce), detected on its grey copy and encoded from it, or from a
second decode at ``encode_max_side`` where a face is smaller there than a chip's face
(``faces.CHIP_FACE_PX``); *now*, decoded as the JPEG draft gives it (1000-2000 px,
``open_image(exact=False)``), detected on the grey copy reduced to 1000 px
(``faces.detection_copy``) and encoded from the drafted pixels. Reported: CPU
milliseconds a photo for decode + perceptual hash + detection + encoding, the photos
decoded twice, the photos routed differently (each listed), the largest descriptor
distance between the two ways for the faces both found, and the largest difference
of the perceptual hashes (bits; near-duplicates are up to 6 apart).

    .venv/bin/python bench/decode.py [--count 140] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import detection

RESULTS = Path(__file__).resolve().parent / "results"
PIXELS = 10**9


def _route(found, references, settings, policy):
    from facesort.matching import match_encodings
    from facesort.policy import decide_photo

    matches = (
        match_encodings(np.vstack([f.encoding for f in found]), references, settings)
        if found
        else []
    )
    return decide_photo(matches, policy, found, settings), matches


def _label(match) -> str:
    return f"{match.person}:{match.confidence}:{match.distance or 0:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=140)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()

    import imagehash
    from PIL import Image

    from facesort import faces
    from facesort.config import MatchingSettings, PolicySettings
    from facesort.media import open_image, perceptual_hash

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="facesort-decode-"))
    photos = detection._photos(workdir, args.count)
    policy = PolicySettings()
    settings = MatchingSettings()
    references = detection._references(workdir / "photos" / "references", settings)
    rows = []
    for label, path, expected in photos:
        side = faces.decode_side(settings)
        start = time.process_time()
        decoded = open_image(path, max_side=side, max_pixels=PIXELS)
        old_hash = imagehash.hex_to_hash(perceptual_hash(decoded.image))
        finer = faces.finer_copy(str(path), decoded, settings, PIXELS)
        calls_before = []

        def counted(finer=finer, calls=calls_before):
            calls.append(1)
            return finer()

        before = faces.find_faces(np.asarray(decoded.image), settings, finer=counted)
        before_ms = 1000 * (time.process_time() - start)
        calls = []
        start = time.process_time()
        decoded = open_image(path, max_side=side, max_pixels=PIXELS, exact=False)
        rgb = np.asarray(decoded.image)
        first = faces.detection_copy(rgb, settings)
        new_hash = imagehash.hex_to_hash(perceptual_hash(Image.fromarray(first)))
        finer = faces.finer_copy(str(path), decoded, settings, PIXELS)

        def counted(finer=finer, calls=calls):
            calls.append(1)
            return finer()

        now = faces.find_faces(rgb, settings, finer=counted, first=first)
        now_ms = 1000 * (time.process_time() - start)
        old, old_matches = _route(before, references, settings, policy)
        new, new_matches = _route(now, references, settings, policy)
        distances = [
            float(np.linalg.norm(a.encoding - b.encoding))
            for a, b in zip(before, now, strict=False)
            if max(abs(x - y) for x, y in zip(a.box, b.box, strict=True)) < 0.02
        ]
        rows.append({
            "photo": label, "expected": expected, "before_ms": before_ms, "now_ms": now_ms,
            "decoded_twice_before": bool(calls_before), "decoded_twice": bool(calls),
            "hash_bits": int(old_hash - new_hash), "before": old.folder, "now": new.folder,
            "faces_before": [_label(m) for m in old_matches],
            "faces_now": [_label(m) for m in new_matches],
            "max_distance": max(distances, default=0.0),
        })  # fmt: skip
    differ = [r for r in rows if r["before"] != r["now"]]
    wrong = [r for r in rows if r["expected"] and r["now"] != r["expected"]]
    summary = {
        "photos": len(rows),
        "before_ms_median": statistics.median(r["before_ms"] for r in rows),
        "before_ms_mean": statistics.mean(r["before_ms"] for r in rows),
        "now_ms_median": statistics.median(r["now_ms"] for r in rows),
        "now_ms_mean": statistics.mean(r["now_ms"] for r in rows),
        "decoded_twice_before": sum(r["decoded_twice_before"] for r in rows),
        "decoded_twice": sum(r["decoded_twice"] for r in rows),
        "hash_bits_max": max(r["hash_bits"] for r in rows),
        "routed_differently": [
            {k: r[k] for k in ("photo", "before", "now", "faces_before", "faces_now")}
            for r in differ
        ],
        "not_where_expected": len(wrong),
        "max_distance": max(r["max_distance"] for r in rows),
    }
    print(
        f"decode+detect+encode, ms of CPU a photo (median / mean): before "
        f"{summary['before_ms_median']:.0f} / {summary['before_ms_mean']:.0f}, now "
        f"{summary['now_ms_median']:.0f} / {summary['now_ms_mean']:.0f}; decoded twice "
        f"{summary['decoded_twice_before']} -> {summary['decoded_twice']} of {len(rows)}; "
        f"perceptual hashes up to {summary['hash_bits_max']} bits apart; "
        f"routed differently {len(differ)}; "
        f"not where expected {len(wrong)}; largest descriptor distance "
        f"{summary['max_distance']:.4f}"
    )
    for d in summary["routed_differently"]:
        print(f"    {d['photo']}: {d['before']} -> {d['now']}")
        print(f"        faces {d['faces_before']} -> {d['faces_now']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "decode.json").write_text(json.dumps({"summary": summary, "photos": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
