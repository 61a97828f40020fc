"""Reading photos and videos: what a file is (by content), its pixels, its frames.

Images: EXIF orientation is applied; HEIC/HEIF (pillow-heif), PNG with alpha, 16-bit,
grey, palette and CMYK images become 8-bit RGB; huge images are refused before their
pixels are decoded (decompression bombs); JPEGs are decoded at reduced size straight
from the file (``draft``) when only a small copy is needed.

Videos: ``ffprobe`` (through ffmpeg-python) reads the duration, ``ffmpeg`` samples
frames spread across the clip. When the system has no ffmpeg, the binary shipped in
the ``imageio-ffmpeg`` wheel is used.

Anything that cannot be read raises :class:`UnreadableMedia` with a reason a person can
understand; the pipeline sends such files to ``review/unreadable``.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

MediaKind = Literal["image", "video"]

IMAGE_TYPES = {"jpg", "png", "gif", "bmp", "webp", "tif", "heic", "heif"}
VIDEO_TYPES = {"mp4", "mov", "avi", "mkv", "webm", "m4v"}

# ISO-BMFF brands of HEIF stills that filetype only knows as 'heic' when the major
# brand is 'heic' itself (iPhones write 'mif1' + 'heic', others 'heix', 'msf1').
_HEIF_BRANDS = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"}
# QuickTime files from old cameras start with an atom other than 'ftyp'.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

SNIFF_BYTES = 8192


class UnreadableMedia(Exception):
    """A file that is not a photo or video facesort can read; the message says why."""


@dataclass(frozen=True)
class MediaType:
    kind: MediaKind
    extension: str  # the real type, whatever the file's name says


def sniff_bytes(head: bytes) -> MediaType | None:
    """Identify a photo or video from the first bytes of a file."""
    import filetype

    if len(head) >= 12 and head[4:8] == b"ftyp":
        major = head[8:12].decode("latin-1")
        brands = {major} | {
            head[i : i + 4].decode("latin-1")
            for i in range(16, min(len(head), int.from_bytes(head[0:4], "big")), 4)
        }
        if major in _HEIF_BRANDS or (major in {"mif1", "msf1"} and brands & _HEIF_BRANDS):
            return MediaType("image", "heif" if major != "heic" else "heic")
    elif len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
        return MediaType("video", "mov")
    guess = filetype.guess(head)
    if guess is None:
        return None
    ext = {"jpeg": "jpg", "tiff": "tif", "apng": "png"}.get(guess.extension, guess.extension)
    if ext in IMAGE_TYPES:
        return MediaType("image", ext)
    if ext in VIDEO_TYPES:
        return MediaType("video", ext)
    return None


def sniff(path: str | os.PathLike[str]) -> MediaType | None:
    """Identify a file by content; None for anything that is not a supported photo/video."""
    with open(path, "rb") as handle:
        return sniff_bytes(handle.read(SNIFF_BYTES))


# --------------------------------------------------------------------------- images


@cache
def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def preload_decoders() -> None:
    """Load what the first photo of a process would: the HEIF opener, and imagehash
    with SciPy's DCT (which loads on its first use), ~0.2 s that a sorting worker's
    server pays once for all."""
    from PIL import Image

    _register_heif()
    perceptual_hash(Image.new("L", (64, 64)))


@dataclass
class DecodedImage:
    """An image ready for hashing and face detection."""

    image: Image.Image  # 8-bit RGB, orientation applied, longest side <= the asked size
    width: int  # full size, orientation applied
    height: int

    @property
    def scale(self) -> float:
        """Size of ``image`` relative to the full picture."""
        return self.image.width / self.width


def _to_rgb(im: Image.Image) -> Image.Image:
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return im
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}:
        import numpy as np

        # Pillow's own conversion clips 16-bit values at 255 (an all-white picture).
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        if mode == "F":
            low, high = float(arr.min()), float(arr.max())
            arr = (arr - low) / (high - low or 1.0)
            top = 1.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in {"RGBA", "LA", "RGBa", "La", "PA"}:
        rgba = im.convert("RGBA")
        # Transparent pixels carry arbitrary colour; lay the picture on white.
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


# glibc's malloc (mallopt parameters): buffers from this size up are mapped for
# themselves and given back to the system when freed; free memory at the top of the
# heap beyond this much is given back too.
_MMAP_THRESHOLD = 1 << 20
_TRIM_THRESHOLD = 8 << 20


@cache
def _return_freed_pixels() -> None:
    """A photo's pixels (MiBs a copy) go back to the system once freed. Without this,
    glibc raises its mmap threshold after the first large free, later pictures are
    allocated inside the heap, and a process that sorted a batch of 200 photos holds
    ~20 MiB more than one that sorted 20 (bench/batch_memory.py). Not glibc: nothing."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, _MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    mallopt(-1, _TRIM_THRESHOLD)  # M_TRIM_THRESHOLD


# A photo decoded ``exact=False`` keeps what JPEG's DCT scaling gives (a long side
# between max_side and twice that): detection looks at a reduced grey copy anyway
# (faces.detection_copy), and faces are encoded from the finer pixels. Other formats
# are reduced only above this many times max_side.
DRAFT_SLACK = 2


def open_image(
    path: str | os.PathLike[str], *, max_side: int, max_pixels: int, exact: bool = True
) -> DecodedImage:
    """Decode a photo to RGB with its longest side at most ``max_side`` pixels, or, with
    ``exact=False``, at most ``DRAFT_SLACK`` times that, without the reduce to
    ``max_side`` where JPEG draft decoding ended above it (~12 ms a photo)."""
    import warnings

    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    _register_heif()
    _return_freed_pixels()
    # face_recognition switches this on for the whole process when it is imported;
    # a truncated photo must be reported, not silently padded with grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableMedia(f"refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise UnreadableMedia("not an image any decoder can read") from None
    except OSError as exc:
        raise UnreadableMedia(f"cannot open image: {exc}") from None
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise UnreadableMedia(f"image has no pixels ({width}x{height})")
        if width * height > max_pixels:
            raise UnreadableMedia(
                f"refused as a decompression bomb: {width}x{height} = {width * height:,} pixels "
                f"is over limits.max_image_pixels ({max_pixels:,})"
            )
        try:
            orientation = im.getexif().get(0x0112, 1)
        except Exception:
            orientation = 1
        if im.format == "JPEG" and max(width, height) > max_side:
            factor = max_side / max(width, height)
            im.draft("RGB", (math.ceil(width * factor), math.ceil(height * factor)))
        try:
            im.load()
        except Exception as exc:
            raise UnreadableMedia(f"image data is truncated or corrupt: {exc}") from None
        try:
            oriented = ImageOps.exif_transpose(im) if orientation != 1 else im
        except Exception:
            oriented = im
        if orientation in {5, 6, 7, 8}:
            width, height = height, width
        rgb = _to_rgb(oriented)
        if max(rgb.size) > (max_side if exact else DRAFT_SLACK * max_side):
            # JPEGs arrive here already reduced by draft() (DCT scaling). The reduce makes
            # a new picture, detached from the file: no copy of the decoded one first.
            rgb = reduced(rgb, max_side)
        elif rgb is im and getattr(im, "map", None) is not None:
            # Pixels mapped from the file itself (some uncompressed formats): a copy of
            # its own, so nothing holds the file. Decoded pixels are the picture's own:
            # leaving ``with im`` closes only the file.
            rgb = rgb.copy()
    return DecodedImage(image=rgb, width=width, height=height)


def reduced(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` with its long side ``max_side`` (a new picture): bilinear after an
    integer reduce, which looks the same to the face detector as LANCZOS and costs a
    fraction of it."""
    from PIL import Image

    factor = max_side / max(image.size)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def perceptual_hash(image: Image.Image) -> str:
    """64-bit DCT perceptual hash as 16 hex digits (imagehash.phash)."""
    import imagehash

    return str(imagehash.phash(image))


# --------------------------------------------------------------------------- videos


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    width: int
    height: int


@cache
def ffmpeg_exe() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Duration and frame size of a video, or UnreadableMedia."""
    if shutil.which("ffprobe"):
        import ffmpeg

        try:
            info = ffmpeg.probe(os.fspath(path))
        except ffmpeg.Error as exc:
            detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            raise UnreadableMedia(
                f"ffprobe cannot read the video: {detail[-1] if detail else 'unknown error'}"
            ) from None
        streams = [s for s in info.get("streams", []) if s.get("codec_type") == "video"]
        streams = [s for s in streams if not s.get("disposition", {}).get("attached_pic")]
        if not streams:
            raise UnreadableMedia("the file holds no video stream")
        stream = streams[0]
        duration = _as_float(info.get("format", {}).get("duration")) or _as_float(
            stream.get("duration")
        )
        return VideoInfo(
            duration=duration or 0.0,
            width=int(stream.get("width") or 0),
            height=int(stream.get("height") or 0),
        )
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(os.fspath(path))
    try:
        meta = next(reader)
    except Exception as exc:
        raise UnreadableMedia(f"ffmpeg cannot read the video: {exc}") from None
    finally:
        reader.close()
    size = meta.get("size") or (0, 0)
    return VideoInfo(duration=float(meta.get("duration") or 0.0), width=size[0], height=size[1])


def _as_float(value: object) -> float | None:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) and result > 0 else None


def sample_frames(
    path: str | os.PathLike[str],
    info: VideoInfo,
    *,
    frames_per_second: float,
    max_frames: int,
    max_side: int,
) -> list[tuple[float, np.ndarray]]:
    """Frames spread across the clip as (seconds, RGB array), decoded by ffmpeg.

    Short clips are sampled at ``frames_per_second``; longer ones get ``max_frames``
    frames evenly spaced. ffmpeg applies the rotation stored by phones itself.
    """
    import ffmpeg
    import numpy as np
    from PIL import Image

    duration = info.duration if info.duration > 0 else 1.0
    count = max(1, min(max_frames, math.ceil(duration * frames_per_second)))
    rate = count / duration
    with tempfile.TemporaryDirectory(prefix="facesort-frames-") as tmp:
        pattern = os.path.join(tmp, "frame-%04d.bmp")
        # Long videos: decode key frames only; the fps filter still spreads the samples.
        source = ffmpeg.input(
            os.fspath(path), **({"skip_frame": "nokey"} if duration > 300 else {})
        )
        graph = (
            source.video.filter("fps", fps=f"{rate:.6f}")
            .filter("scale", w=max_side, h=max_side, force_original_aspect_ratio="decrease")
            .output(pattern, format="image2", **{"frames:v": count})
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
        )
        try:
            graph.run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
            failure = None
        except ffmpeg.Error as exc:
            detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            failure = detail[-1] if detail else "no frames"
        names = sorted(os.listdir(tmp))
        if failure and not names:
            raise UnreadableMedia(f"ffmpeg cannot decode the video: {failure}")
        frames = []
        for index, name in enumerate(names):
            with Image.open(os.path.join(tmp, name)) as im:
                frames.append((index / rate, np.asarray(im.convert("RGB"))))
    if not frames:
        raise UnreadableMedia("the video has no frames that could be decoded")
    return frames
