"""Finding faces and turning them into 128-number encodings (face_recognition's dlib models).

Faces are detected on a reduced copy (``matching.detect_max_side``), which is what
makes facesort fast on large photos, and encoded from a larger copy
(``matching.encode_max_side``) so small faces keep their detail. Boxes are kept as
fractions of the picture (left, top, right, bottom), independent of any copy's size.

The steps are face_recognition's own (``face_locations``, then ``face_encodings`` with
its 5-point landmark model and ``num_jitters``), called on dlib directly with the model
files of ``face_recognition_models``: importing ``face_recognition`` loads all four of
its models, among them the 100 MB 68-point landmark model facesort never uses, which
costs every worker process and every Airflow task 0.6 s and about 75 MiB.
tests/unit/test_media.py checks that both give the same boxes and encodings.

The encoder itself runs on onnxruntime by default (``matching.encoder: onnx``, see
``facesort.encoder_onnx``): the same network and weights, on the same aligned chips
dlib cuts (``dlib.get_face_chip``), several times faster than the ``dlib-bin`` wheel,
which has no BLAS. Where the graph cannot be built or checked, dlib's own encoder is
used, with one warning.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    from PIL import Image

    from facesort.config import MatchingSettings
    from facesort.media import DecodedImage

log = logging.getLogger(__name__)

ENCODER_NAME = "dlib_face_recognition_resnet_model_v1"


@dataclass(frozen=True)
class DetectedFace:
    """One face found in a picture (the table row is `state.models.Face`)."""

    box: tuple[float, float, float, float]  # left, top, right, bottom as fractions
    encoding: np.ndarray | None  # shape (128,), float64; None for a face only Immich saw
    frame: int | None = None  # index of the video frame, None for photos

    @property
    def height_fraction(self) -> float:
        return self.box[3] - self.box[1]


@cache
def _model_file(name: str) -> str:
    with warnings.catch_warnings():
        # face_recognition_models imports pkg_resources, which warns on import.
        warnings.simplefilter("ignore")
        import face_recognition_models
    return getattr(face_recognition_models, name)()


@cache
def _detector(model: str):
    """The face detector of face_recognition's ``model`` ("hog" or "cnn")."""
    import dlib

    if model == "cnn":
        return dlib.cnn_face_detection_model_v1(_model_file("cnn_face_detector_model_location"))
    from facesort import hog

    return hog.frontal_detector()  # from its saved copy: ~1 ms instead of 0.2-0.4 s


@cache
def _landmarks():
    import dlib

    return dlib.shape_predictor(_model_file("pose_predictor_five_point_model_location"))


@cache
def _dlib_encoder():
    import dlib

    return dlib.face_recognition_model_v1(_model_file("face_recognition_model_location"))


@cache
def _onnx_encoder(cache_dir: str | None, threads: int):
    """The encoder on onnxruntime, or None (after one warning) where it cannot be had."""
    try:
        from facesort import encoder_onnx

        folder = cache_dir or str(encoder_onnx.default_cache_dir())
        return encoder_onnx.load_encoder(
            _model_file("face_recognition_model_location"), folder, threads
        )
    except Exception as exc:  # any failure to import, build or check: dlib still works
        log.warning(
            "face encoder: onnxruntime cannot be used (%s: %s); using dlib's own, which is "
            "several times slower",
            type(exc).__name__,
            exc,
        )
        return None


def preload_models() -> None:
    """Load what every worker needs before its first photo, whatever the config says:
    dlib's HOG detector (and its second passes' versions, ``hog.top_levels_detector``),
    the 5-point landmark model and onnxruntime's library (0.5-1.5 s,
    mostly importing dlib and face_recognition_models). The encoder's session, which
    depends on the config and costs ~50 ms, is made by the worker itself."""
    from facesort import hog

    _detector("hog")
    for levels in range(1, hog.top_levels(UPSAMPLED_SCALE) + 1):  # the second passes'
        hog.top_levels_detector(levels)
    _landmarks()
    import onnxruntime  # noqa: F401


def onnx_encoder(settings: MatchingSettings | None):
    """The onnxruntime encoder ``settings`` ask for, or None for dlib's own."""
    if settings is None or settings.encoder != "onnx":
        return None
    cache_dir = str(settings.model_cache_dir) if settings.model_cache_dir else None
    return _onnx_encoder(cache_dir, settings.encoder_threads)


def face_locations(rgb: np.ndarray, upsample: int, model: str) -> list[tuple[int, int, int, int]]:
    """Boxes as (top, right, bottom, left) pixels inside ``rgb``, like face_recognition's."""
    from facesort import hog

    found = _detector(model)(rgb, upsample)
    rects = [d.rect for d in found] if model == "cnn" else list(found)
    return hog.clipped_boxes(rects, rgb.shape)


def face_encodings(
    rgb: np.ndarray,
    locations: list[tuple[int, int, int, int]],
    num_jitters: int,
    settings: MatchingSettings | None = None,
) -> list[np.ndarray]:
    """One encoding per (top, right, bottom, left) box, like face_recognition's "small"
    model: by dlib's encoder, or, where ``settings`` ask for it, by the same network on
    onnxruntime, all faces in one batch."""
    import dlib
    import numpy as np

    landmarks = _landmarks()
    shapes = [
        landmarks(rgb, dlib.rectangle(left, top, right, bottom))
        for top, right, bottom, left in locations
    ]
    encoder = onnx_encoder(settings) if shapes else None
    if encoder is not None:
        from facesort.encoder_onnx import CHIP_PADDING, CHIP_SIZE

        # the chips dlib's compute_face_descriptor cuts itself (size 150, padding 0.25)
        chips = [dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING) for shape in shapes]
        return list(encoder.encode(chips, num_jitters))
    dlib_encoder = _dlib_encoder()
    return [
        np.array(dlib_encoder.compute_face_descriptor(rgb, shape, num_jitters)) for shape in shapes
    ]


def _resized(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    import numpy as np
    from PIL import Image

    height, width = rgb.shape[:2]
    if max(height, width) <= max_side:
        return rgb, 1.0
    from facesort.media import reduced

    small = np.asarray(reduced(Image.fromarray(rgb), max_side))
    return small, max_side / max(height, width)


# The smallest face dlib's HOG detector finds without upsampling: its window is 80x80.
HOG_WINDOW_PX = 80
# The quick pass looks at a copy this much larger than detect_max_side, not upsampled:
# 0.39 times the pixels of the upsampled pass, faces from 80 px of it (8% of the long
# side of a 1000 px copy, against 5% for the upsampled 800 px one).
QUICK_SCALE = 1.25


# The upsampled pass (upsample 1 on the detect_max_side copy) scans the picture at
# this many times the quick pass's copy: faces from 50 px of it.
UPSAMPLED_SCALE = 2 / QUICK_SCALE
# bench/detection.py turns this off to measure the second pass as it was (upsampled).
FITTED_SECOND_PASS = True


# HOG on the picture's luma: for a colour picture dlib takes at each pixel the gradient
# of the channel that changes most, three gradients where the grey copy needs one, and
# the copies for the passes are a third of the bytes. bench/detection.py: detection
# mean 116 -> 83 ms a photo, no photo routed differently. The bench turns it off.
GREY_DETECTION = True


def detection_copy(picture: Image.Image | np.ndarray, settings: MatchingSettings) -> np.ndarray:
    """What the detector looks at first: the decoded ``picture`` reduced to
    ``decode_side``, as its luma (ITU-R 601, Pillow's "L") for HOG, in colour for the
    CNN detector, which was trained on colour. The sorter takes a photo's perceptual
    hash from it too. Given the decoded picture itself (not its array), no copy of the
    photo's RGB pixels is made on the way."""
    import numpy as np
    from PIL import Image

    from facesort.media import reduced

    side = decode_side(settings)
    is_array = isinstance(picture, np.ndarray)
    colour = picture.ndim == 3 if is_array else picture.mode != "L"
    grey = GREY_DETECTION and settings.detector == "hog" and colour
    size = picture.shape[:2] if is_array else picture.size
    if not grey and max(size) <= side:
        return np.asarray(picture)
    image = Image.fromarray(picture) if is_array else picture
    if grey:
        image = image.convert("L")  # before the reduce: a third of the bytes
    if max(image.size) > side:
        image = reduced(image, side)
    return np.asarray(image)


def _detect(
    rgb: np.ndarray, settings: MatchingSettings, first: np.ndarray | None = None
) -> tuple[list, float]:
    """Boxes on a reduced copy of ``rgb`` and that copy's scale; ``first`` is
    ``detection_copy(rgb)`` where the caller made it already. With ``quick_detect``
    a pass without upsampling comes first; a second pass follows only where a face
    too small for the quick pass could change the outcome: when it found no face, or
    when a face just under its smallest (80 px) would not be much smaller than the
    largest face it found (``background_face_ratio``, the policy's strangers rule).

    Where the quick pass found faces, the second pass only needs the faces down to
    ``background_face_ratio`` of the largest: it looks, without upsampling, at a copy
    just large enough for those to be 80 px (at most the upsampled pass's scale), which
    costs a fraction of the upsampled pass when the largest face is not tiny. A second
    pass scans only the largest levels of its pyramid, the scales the quick pass did
    not look at, and the quick pass's faces complete it."""
    picture = detection_copy(rgb, settings) if first is None else first
    base = max(picture.shape[:2]) / max(rgb.shape[:2])  # the copy's scale in ``rgb``
    found, factor = _detect_on(picture, settings)
    return found, factor * base


def _detect_on(picture: np.ndarray, settings: MatchingSettings) -> tuple[list, float]:
    """``_detect``'s passes on the detection copy; the scale is relative to it."""
    from facesort import hog

    quick = settings.quick_detect and settings.upsample > 0 and settings.detector == "hog"
    # on a picture no larger than the detection copy the upsampled pass is cheap already
    if quick and max(picture.shape[:2]) > settings.detect_max_side:
        larger, factor = _resized(picture, round(settings.detect_max_side * QUICK_SCALE))
        quick = hog.scored_faces(_detector("hog"), larger, 0)
        largest = max((bottom - top for _, (top, _, bottom, _) in quick), default=0)
        needed = settings.background_face_ratio * largest  # px of ``larger``
        if quick and needed >= HOG_WINDOW_PX:
            return [box for _, box in quick], factor
        if quick and FITTED_SECOND_PASS and settings.upsample == 1:
            scale = min(HOG_WINDOW_PX / max(needed, 1.0), UPSAMPLED_SCALE)
            if scale < UPSAMPLED_SCALE * 0.9:  # else the upsampled pass costs the same
                fitted = _scaled(larger, scale)
                return _second_pass(fitted, 0, scale, quick), factor * scale
        if settings.upsample == 1:  # also where the quick pass found no face
            small, small_factor = _resized(picture, settings.detect_max_side)
            ratio = small_factor / factor  # ``small`` upsampled is UPSAMPLED_SCALE x larger
            return _second_pass(small, 1, UPSAMPLED_SCALE, quick, ratio), small_factor
    small, factor = _resized(picture, settings.detect_max_side)
    return face_locations(small, settings.upsample, settings.detector), factor


# A second pass after a quick pass scans only the largest levels of its pyramid
# (hog.top_levels_detector), the scales the quick pass did not scan, and the quick
# pass's faces complete it (hog.merged). bench/detection.py turns it off to
# compare with scanning the whole pyramid again.
TOP_LEVELS_ONLY = True


def _second_pass(
    image: np.ndarray, upsample: int, scale: float, quick: list, ratio: float | None = None
) -> list[tuple[int, int, int, int]]:
    """The faces of ``image`` (``scale`` times the quick pass's copy once upsampled;
    ``ratio``: its own size relative to that copy, ``scale`` where not upsampled),
    with those of the quick pass (``quick``, scored boxes) it does not find again."""
    from facesort import hog

    detector = hog.top_levels_detector(hog.top_levels(scale)) if TOP_LEVELS_ONLY else None
    if detector is None:  # the whole pyramid, the quick pass's faces' scales too
        return [box for _, box in hog.scored_faces(_detector("hog"), image, upsample)]
    found = hog.scored_faces(detector, image, upsample)
    return hog.merged(found, quick, scale if ratio is None else ratio, image.shape[:2])


def _scaled(rgb: np.ndarray, scale: float) -> np.ndarray:
    """``rgb`` enlarged ``scale`` times (bilinear, as dlib's own upsampling)."""
    import numpy as np
    from PIL import Image

    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def locate_faces(
    rgb: np.ndarray, settings: MatchingSettings, first: np.ndarray | None = None
) -> list[tuple[int, int, int, int]]:
    """(top, right, bottom, left) boxes in ``rgb`` pixels, detected on a reduced copy
    (``first``: ``detection_copy(rgb)`` where the caller made it); faces smaller than
    ``min_face_fraction`` left out."""
    height, width = rgb.shape[:2]
    found, factor = _detect(rgb, settings, first)
    scaled = [
        (
            max(0, round(top / factor)),
            min(width, round(right / factor)),
            min(height, round(bottom / factor)),
            max(0, round(left / factor)),
        )
        for top, right, bottom, left in found
    ]
    min_px = settings.min_face_fraction * min(width, height)
    return [loc for loc in scaled if (loc[2] - loc[0]) >= min_px]


def decode_side(settings: MatchingSettings) -> int:
    """The long side a photo is decoded at: the largest copy detection looks at. Faces
    too small in it for a full-detail chip are encoded from a finer copy (``find_faces``)."""
    quick = settings.quick_detect and settings.upsample > 0 and settings.detector == "hog"
    side = round(settings.detect_max_side * QUICK_SCALE) if quick else settings.detect_max_side
    return min(side, settings.encode_max_side)


# The face of dlib's aligned chip (150 px, padding 0.25 on each side) spans 100 px: a
# face box at least this high in a copy gives the chip all the detail it can hold, so
# a finer copy adds nothing but decoding time.
CHIP_FACE_PX = 100


def find_faces(
    rgb: np.ndarray,
    settings: MatchingSettings,
    frame: int | None = None,
    finer: Callable[[], np.ndarray | None] | None = None,
    first: np.ndarray | None = None,
) -> list[DetectedFace]:
    """Detect faces on a reduced copy of ``rgb`` (``first``: ``detection_copy(rgb)``
    where the caller made it) and encode them from ``rgb`` itself, or, where a face is
    smaller than a chip's face (``CHIP_FACE_PX``) in ``rgb`` and ``finer`` is given,
    from the finer copy of the same picture it returns (at most ``encode_max_side``;
    None: ``rgb`` is the finest there is)."""
    import numpy as np

    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    kept = locate_faces(rgb, settings, first)
    if not kept:
        return []
    boxes = [(left / width, top / height, right / width, bottom / height)
             for top, right, bottom, left in kept]  # fmt: skip
    source = rgb
    if finer is not None and min(bottom - top for top, _, bottom, _ in kept) < CHIP_FACE_PX:
        larger = finer()
        if larger is not None and larger.shape[0] > height:
            source = np.ascontiguousarray(larger)
            rows, cols = source.shape[:2]
            kept = [
                (round(top * rows), min(cols, round(right * cols)),
                 min(rows, round(bottom * rows)), round(left * cols))
                for left, top, right, bottom in boxes
            ]  # fmt: skip
    encodings = face_encodings(source, kept, settings.num_jitters, settings)
    return [
        DetectedFace(box=tuple(round(v, 5) for v in box), encoding=encoding, frame=frame)
        for box, encoding in zip(boxes, encodings, strict=True)
    ]


def finer_copy(
    path: str, decoded: DecodedImage, settings: MatchingSettings, max_pixels: int
) -> Callable[[], np.ndarray | None]:
    """What ``find_faces`` calls for the finer copy of a photo decoded at ``decode_side``:
    the photo decoded again at ``encode_max_side``, or None where that is no larger."""

    def decode() -> np.ndarray | None:
        import numpy as np

        from facesort.media import UnreadableMedia, open_image

        if decoded.image.width >= decoded.width or decoded.image.height >= decoded.height:
            return None  # decoded at full size already
        if max(decoded.image.size) >= settings.encode_max_side:
            return None
        try:
            return np.asarray(
                open_image(path, max_side=settings.encode_max_side, max_pixels=max_pixels).image
            )
        except UnreadableMedia:  # it was read a moment ago; encode from what there is
            return None

    return decode


def largest_face(faces: list[DetectedFace]) -> DetectedFace | None:
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def encoding_to_bytes(encoding: np.ndarray) -> bytes:
    import numpy as np

    return np.asarray(encoding, dtype="<f8").tobytes()


def encoding_from_bytes(data: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(data, dtype="<f8").copy()
