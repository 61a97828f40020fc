"""Thumbnails and face crops for the review page, made once and cached on disk.

Pictures are cached by the file's content (SHA-256), not its path, so a file keeps its
thumbnail when it moves between folders. Photos are decoded like sorting does (EXIF
orientation applied), so the stored face boxes, fractions of the oriented picture,
line up with the thumbnail. A video's thumbnail is one of the frames sorting sampled:
the one with the most faces, so its face boxes can be drawn on it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from facesort.config import Config
from facesort.media import UnreadableMedia, open_image, probe_video, sample_frames
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile
from facesort.vocab import Kind

if TYPE_CHECKING:
    from PIL import Image

FACE_CROP_SIZE = 160
# Room around a face box in a crop, as a fraction of the box size on each side: enough
# forehead and chin for a person to recognise the face, and for the detector to find it
# again when the crop is used as a reference photo.
FACE_MARGIN = 0.5


class NoPicture(Exception):
    """The file cannot be shown (unreadable, gone, or not a photo or video)."""


def video_thumbnail_frame(
    faces: list[tuple[int | None, list[float]]], frames_sampled: int | None
) -> int:
    """The sampled frame a video's thumbnail shows: the one with the most faces, and of
    those the one where they are largest. ``faces``: (frame, box) of each face."""
    if not faces:
        return (frames_sampled or 1) // 2
    count: Counter[int] = Counter()
    area: Counter[int] = Counter()
    for frame, (left, top, right, bottom) in faces:
        count[frame or 0] += 1
        area[frame or 0] += (right - left) * (bottom - top)
    return max(count, key=lambda frame: (count[frame], area[frame], -frame))


def _picture(config: Config, media: MediaFile, frame: int | None, max_side: int) -> Image.Image:
    """The file's picture (a photo, or a sampled frame of a video) as oriented RGB."""
    from PIL import Image

    path = media.current_path
    if not path or not os.path.isfile(path):
        raise NoPicture(f"file #{media.id} is not on disk any more")
    try:
        if media.kind == Kind.IMAGE:
            return open_image(
                path, max_side=max_side, max_pixels=config.limits.max_image_pixels
            ).image
        if media.kind == Kind.VIDEO:
            settings = config.video
            frames = sample_frames(
                path,
                probe_video(path),
                frames_per_second=settings.frames_per_second,
                max_frames=settings.max_frames,
                max_side=settings.max_side,
            )
            _, rgb = frames[max(0, min(frame or 0, len(frames) - 1))]
            picture = Image.fromarray(rgb)
            picture.thumbnail((max_side, max_side))
            return picture
    except UnreadableMedia as exc:
        raise NoPicture(f"{os.path.basename(path)}: {exc}") from None
    raise NoPicture(f"{os.path.basename(path)} is not a photo or video")


def _cache_file(config: Config, media: MediaFile, key: str) -> Path:
    if not media.sha256:
        raise NoPicture(f"file #{media.id} has no content hash to cache its picture by")
    return config.thumbnail_path / media.sha256[:2] / f"{media.sha256}-{key}.jpg"


def _save_jpeg(picture: Image.Image, target: Path, quality: int = 82) -> None:
    """Write atomically: a page asking at the same moment never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as handle:
            picture.convert("RGB").save(handle, "JPEG", quality=quality, optimize=True)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def thumbnail(config: Config, media: MediaFile, frame: int | None = None) -> Path:
    """The cached thumbnail of a file (made on first use)."""
    size = config.review.thumbnail_size
    key = f"t{size}" if media.kind != Kind.VIDEO else f"t{size}-f{frame or 0}"
    target = _cache_file(config, media, key)
    if not target.exists():
        _save_jpeg(_picture(config, media, frame, size), target)
    return target


def crop_face(picture: Image.Image, box: list[float] | tuple[float, ...], margin: float):
    """The face at ``box`` (fractions: left, top, right, bottom) with ``margin`` around it."""
    left, top, right, bottom = box
    width, height = picture.size
    pad_x, pad_y = (right - left) * margin, (bottom - top) * margin
    area = (
        max(0, round((left - pad_x) * width)),
        max(0, round((top - pad_y) * height)),
        min(width, round((right + pad_x) * width)),
        min(height, round((bottom + pad_y) * height)),
    )
    return picture.crop(area)


def face_picture(config: Config, media: MediaFile, face: FaceRow, *, max_side: int):
    """A face of a file, cut from a copy at most ``max_side`` pixels on its long side."""
    picture = _picture(config, media, face.frame, max_side)
    return crop_face(picture, face.box, FACE_MARGIN)


def face_thumbnail(config: Config, media: MediaFile, face: FaceRow) -> Path:
    """The cached small picture of one face (cluster views, face pickers)."""
    where = hashlib.sha256(repr((face.frame, list(face.box))).encode()).hexdigest()[:12]
    target = _cache_file(config, media, f"face-{where}-{FACE_CROP_SIZE}")
    if not target.exists():
        crop = face_picture(config, media, face, max_side=config.matching.encode_max_side)
        crop.thumbnail((FACE_CROP_SIZE, FACE_CROP_SIZE))
        _save_jpeg(crop, target)
    return target


def small_picture(config: Config, path: Path, max_side: int = 320) -> bytes:
    """A photo that is no record's file (a reference photo), small, as JPEG bytes."""
    import io

    try:
        picture = open_image(
            path, max_side=max_side, max_pixels=config.limits.max_image_pixels
        ).image
    except (UnreadableMedia, OSError) as exc:
        raise NoPicture(f"{path.name}: {exc}") from None
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()
