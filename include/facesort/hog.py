"""dlib's HOG face detector (face_recognition's "hog" model), loaded from a saved copy;
the same detector scanning only the largest levels of its image pyramid; its faces
with their scores, and the faces of two passes merged.

``dlib.get_frontal_face_detector()`` builds the detector from a text copy compiled into
dlib: 0.2-0.4 s in every process. Its own serialized form (``save``) loads in ~1 ms,
so the first process saves it in the default model cache folder (the ONNX encoder's,
``encoder_onnx.default_cache_dir``: the workers' server loads it before any config is
read) and later ones load that, named by dlib's version. Where the folder cannot be
written, the detector is built as before.

The detector scans a pyramid of copies of the image, each 5/6 the size of the one
before, down to 64 px. A second pass on a larger copy of a photo (``faces._detect_on``)
only needs the few largest levels: the smaller ones are the scales the first pass has
scanned already. dlib's Python API has no setting for the number of levels, but the
detector's serialized form holds its scanner's ``max_pyramid_levels`` (dlib's
``scan_fhog_pyramid``: the detection window's width and height, the most levels, the
smallest level's width and height, as dlib's variable-length integers).
:func:`top_levels_detector` loads the same bytes with that one number changed; where
they are not as expected (another dlib), it returns None and the caller scans the
whole pyramid as before.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

# The frontal face detector's scanner as dlib 19-20 serializes it: an 80x80 window, no
# limit on the levels (1000), levels down to 64x64.
WINDOW_PX = 80
ALL_LEVELS = 1000
SMALLEST_LEVEL_PX = 64


def _dlib_int(value: int) -> bytes:
    """A non-negative integer as dlib serializes it: its byte count, then its bytes
    (little-endian)."""
    body = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "little")
    return bytes([len(body)]) + body


def _scanner_fields(levels: int) -> bytes:
    return b"".join(
        _dlib_int(v) for v in (WINDOW_PX, WINDOW_PX, levels, SMALLEST_LEVEL_PX, SMALLEST_LEVEL_PX)
    )


def _cache_file(folder: Path) -> Path:
    import dlib

    return folder / f"dlib-{dlib.__version__}-frontal_face_detector.svm"


def _load(data: bytes):
    """A detector from its serialized bytes (dlib loads detectors from files only)."""
    import dlib

    fd, name = tempfile.mkstemp(suffix=".svm")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return dlib.fhog_object_detector(name)
    finally:
        os.unlink(name)


@cache
def detector_bytes() -> bytes:
    """The frontal face detector serialized: read from the cache folder, or built and
    saved there (written to a temporary name in the folder and renamed: a reader never
    sees half of it)."""
    import dlib

    from facesort.encoder_onnx import default_cache_dir

    path = _cache_file(default_cache_dir())
    try:
        data = path.read_bytes()
        _load(data)  # a damaged copy does not load: it is built and saved again
        return data
    except (OSError, RuntimeError):
        pass
    keep: Path | None = path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".svm", dir=path.parent)
    except OSError as exc:
        log.info("cannot keep the face detector in %s (%s); building it each time", path, exc)
        fd, name = tempfile.mkstemp(suffix=".svm")
        keep = None
    os.close(fd)
    try:
        dlib.get_frontal_face_detector().save(name)
        data = Path(name).read_bytes()
        if keep is not None:
            os.replace(name, keep)
    finally:
        if os.path.exists(name):
            os.unlink(name)
    return data


@cache
def frontal_detector():
    """dlib's frontal face detector (what ``dlib.get_frontal_face_detector()`` gives)."""
    import dlib

    try:
        return _load(detector_bytes())
    except (OSError, RuntimeError) as exc:  # no temporary file: dlib's own way
        log.info("cannot load the saved face detector (%s); building it", exc)
        return dlib.get_frontal_face_detector()


@cache
def top_levels_detector(levels: int):
    """The frontal face detector scanning only the ``levels`` largest levels of its
    pyramid, or None where its serialized form is not the one this module knows."""
    data = detector_bytes()
    fields = _scanner_fields(ALL_LEVELS)
    if data.count(fields) != 1:
        log.info("dlib's detector is not serialized as expected: scanning whole pyramids")
        return None
    try:
        return _load(data.replace(fields, _scanner_fields(levels)))
    except RuntimeError as exc:
        log.info("cannot limit the face detector's pyramid (%s): scanning whole ones", exc)
        return None


# A second pass scans its pyramid from its own scale down to the last level at or above
# this much of the quick pass's scale: the quick pass's own largest level takes over
# from there. bench/detection.py: down to 5/6 (a level of overlap) found the same faces
# on 157 photos for 2% more time.
LOWEST_TOP_LEVEL = 1.0
# A quick pass's face and a second pass's with boxes overlapping this much (area of
# the intersection over that of the union) are one face, found at neighbouring scales.
SAME_FACE_OVERLAP = 0.3

Box = tuple[int, int, int, int]  # top, right, bottom, left, as face_recognition's


def top_levels(scale: float) -> int:
    """How many levels (each 5/6 the size of the one before) a pass at ``scale`` times
    the quick pass's copy scans to reach ``LOWEST_TOP_LEVEL`` of it."""
    return math.floor(math.log(scale / LOWEST_TOP_LEVEL) / math.log(6 / 5) + 1e-9) + 1


def clipped_boxes(rects, shape: tuple[int, ...]) -> list[Box]:
    """dlib's rectangles as boxes clipped to an image of ``shape`` (face_recognition's
    ``face_locations`` does the same)."""
    height, width = shape[:2]
    return [
        (max(r.top(), 0), min(r.right(), width), min(r.bottom(), height), max(r.left(), 0))
        for r in rects
    ]


def scored_faces(detector, image, upsample: int) -> list[tuple[float, Box]]:
    """(score, box) of the ``detector``'s faces in ``image``, most confident first."""
    rects, scores, _ = detector.run(image, upsample, 0.0)
    return list(zip(scores, clipped_boxes(rects, image.shape), strict=True))


def merged(
    found: list[tuple[float, Box]],
    quick: list[tuple[float, Box]],
    ratio: float,
    shape: tuple[int, int],
) -> list[Box]:
    """The boxes of a second pass (``found``, in an image of ``shape``) and of the quick
    pass before it (``quick``, in a copy ``ratio`` times smaller) that the second did
    not find again, most confident first, as dlib orders one pass's faces."""
    height, width = shape
    faces = list(found)
    for score, (top, right, bottom, left) in quick:
        box = (
            max(0, round(top * ratio)),
            min(width, round(right * ratio)),
            min(height, round(bottom * ratio)),
            max(0, round(left * ratio)),
        )
        if all(overlap(box, other) < SAME_FACE_OVERLAP for _, other in found):
            faces.append((score, box))
    faces.sort(key=lambda scored: -scored[0])
    return [box for _, box in faces]


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    common = max(0, min(a[1], b[1]) - max(a[3], b[3])) * max(0, min(a[2], b[2]) - max(a[0], b[0]))
    union = (a[1] - a[3]) * (a[2] - a[0]) + (b[1] - b[3]) * (b[2] - b[0]) - common
    return common / union if union > 0 else 0.0
