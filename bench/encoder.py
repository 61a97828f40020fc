"""The face encoder alone: milliseconds per face, dlib's (dlib-bin) vs the same network
on onnxruntime (facesort.encoder_onnx), one face at a time and in batches.

The chips are the aligned 150x150 faces of the fixture photos (tests/fixtures/faces),
cut by dlib.get_face_chip as dlib's encoder cuts them. Each round times every chip one
by one with each encoder, then in batches of ``--batch``, the encoders alternating; the
median round is reported, with the ratio from the same round (both under the same load).
Both run on one thread (dlib-bin has no BLAS and uses one; onnxruntime is given one,
as in a worker process). The largest distance between the two encoders' descriptors is
reported too.

    .venv/bin/python bench/encoder.py [--rounds 5] [--batch 16] [--threads 1]
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
FIXTURES = ROOT / "tests" / "fixtures" / "faces"


def fixture_chips() -> list[np.ndarray]:
    import dlib

    from facesort import faces
    from facesort.config import MatchingSettings
    from facesort.media import open_image

    settings = MatchingSettings(encode_max_side=800)
    chips = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        rgb = np.ascontiguousarray(open_image(path, max_side=800, max_pixels=10**9).image)
        for top, right, bottom, left in faces.locate_faces(rgb, settings):
            shape = faces._landmarks()(rgb, dlib.rectangle(left, top, right, bottom))
            chips.append(dlib.get_face_chip(rgb, shape, 150, 0.25))
    return chips


def per_face_ms(encode, chips: list[np.ndarray], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(chips), batch):
        encode(chips[i : i + batch])
    return 1000 * (time.perf_counter() - start) / len(chips)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from facesort import encoder_onnx, faces

    chips = fixture_chips()
    dlib_encoder = faces._dlib_encoder()
    weights = faces._model_file("face_recognition_model_location")
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        onnx = encoder_onnx.load_encoder(weights, cache, args.threads)
        build_s = time.perf_counter() - start
        encoder_onnx.load_encoder.cache_clear()
        start = time.perf_counter()
        encoder_onnx.load_encoder(weights, cache, args.threads)
        load_s = time.perf_counter() - start

    def with_dlib(batch):
        # dlib's batch API for aligned chips (one net call for the whole batch)
        return dlib_encoder.compute_face_descriptor(batch, 1)

    def with_onnx(batch):
        return onnx.encode(batch)

    distance = max(
        float(np.linalg.norm(np.array(a) - b))
        for a, b in zip(with_dlib(chips), with_onnx(chips), strict=True)
    )
    rounds = []
    for _ in range(args.rounds):
        row = {}
        for name, encode in (("dlib", with_dlib), ("onnx", with_onnx)):
            row[f"{name}_single_ms"] = per_face_ms(encode, chips, 1)
            row[f"{name}_batch_ms"] = per_face_ms(encode, chips, args.batch)
        row["ratio_single"] = row["dlib_single_ms"] / row["onnx_single_ms"]
        row["ratio_batch"] = row["dlib_batch_ms"] / row["onnx_batch_ms"]
        rounds.append(row)
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    result = {
        "faces": len(chips),
        "batch": args.batch,
        "threads": args.threads,
        "rounds": rounds,
        "median": median,
        "max_descriptor_distance": distance,
        "onnx_build_and_check_s": build_s,
        "onnx_load_cached_s": load_s,
    }
    print(
        f"{len(chips)} faces, one thread: dlib {median['dlib_single_ms']:.1f} ms/face single, "
        f"{median['dlib_batch_ms']:.1f} batched; onnxruntime {median['onnx_single_ms']:.1f} "
        f"single, {median['onnx_batch_ms']:.1f} batched ({args.batch}): "
        f"{median['ratio_single']:.1f}x / {median['ratio_batch']:.1f}x; largest descriptor "
        f"distance {distance:.1e}; graph built and checked in {build_s:.1f} s, loaded from "
        f"the cache in {load_s:.2f} s"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "encoder.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
