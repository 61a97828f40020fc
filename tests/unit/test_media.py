"""Reading photos and videos: types by content, awkward images, frames from videos."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from facesort.config import MatchingSettings
from facesort.faces import find_faces
from facesort.media import (
    UnreadableMedia,
    open_image,
    perceptual_hash,
    probe_video,
    sample_frames,
    sniff,
)

FACE = "incoming/obama1.jpg"
LIMIT = 178_956_970


def faces_in(path) -> int:
    decoded = open_image(path, max_side=1600, max_pixels=LIMIT)
    return len(find_faces(np.asarray(decoded.image), MatchingSettings()))


def test_types_come_from_content_not_names(tmp_path, photos):
    lying = tmp_path / "really_a_png.jpg"
    shutil.copyfile(photos / "incoming/alex-lacamoire.png", lying)
    assert sniff(lying).extension == "png"
    assert sniff(photos / FACE).kind == "image"
    assert sniff(photos / "video/short_hamilton_clip.mp4").extension == "mp4"
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    assert sniff(text) is None
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert sniff(empty) is None
    with Image.open(photos / FACE) as im:
        for ext in ("gif", "bmp", "webp", "tiff"):
            im.save(tmp_path / f"x.{ext}")
            assert sniff(tmp_path / f"x.{ext}").kind == "image"


def test_heic_is_read(tmp_path, photos):
    import pillow_heif

    pillow_heif.register_heif_opener()
    heic = tmp_path / "phone.heic"
    with Image.open(photos / FACE) as im:
        im.save(heic, format="HEIF", quality=80)
    assert sniff(heic).kind == "image"
    assert faces_in(heic) == 1


@pytest.mark.parametrize("container", ["mov", "mkv", "webm", "avi", "m4v"])
def test_video_containers_are_recognised(tmp_path, container):
    out = tmp_path / f"clip.{container}"
    codec = ["-c:v", "libvpx"] if container == "webm" else []
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "1",
         *codec, str(out)],
        check=True,
    )  # fmt: skip
    media = sniff(out)
    assert media.kind == "video"
    assert probe_video(out).duration > 0


def test_exif_orientation_is_applied(tmp_path, photos):
    with Image.open(photos / FACE) as im:
        width, height = im.size
        # Stored sideways, with the EXIF tag telling viewers to rotate it back.
        sideways = im.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        sideways.save(tmp_path / "rotated.jpg", exif=exif)
    decoded = open_image(tmp_path / "rotated.jpg", max_side=4000, max_pixels=LIMIT)
    assert (decoded.width, decoded.height) == (width, height)
    assert faces_in(tmp_path / "rotated.jpg") == 1


def test_awkward_pixel_formats(tmp_path, photos):
    assert faces_in(photos / "edge/32bit.png") == 1  # RGBA
    with Image.open(photos / FACE) as im:
        grey16 = Image.fromarray(np.asarray(im.convert("L"), dtype=np.uint16) * 257)
        grey16.save(tmp_path / "grey16.png")
        im.convert("CMYK").save(tmp_path / "cmyk.jpg")
        im.convert("L").save(tmp_path / "grey.jpg")
        palette = im.convert("P", palette=Image.Palette.ADAPTIVE)
        palette.info["transparency"] = 0
        palette.save(tmp_path / "palette.png", transparency=0)
        frames = [im.resize((400, 225)), im.resize((400, 225)).rotate(180)]
        frames[0].save(tmp_path / "animated.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "grey16.png") as check:
        assert check.mode.startswith("I")
    decoded = open_image(tmp_path / "grey16.png", max_side=1600, max_pixels=LIMIT)
    pixels = np.asarray(decoded.image)
    assert decoded.image.mode == "RGB" and 40 < pixels.mean() < 215  # not clipped to white
    for name in ("grey16.png", "cmyk.jpg", "grey.jpg", "palette.png", "animated.gif"):
        assert faces_in(tmp_path / name) == 1, name


def test_decompression_bombs_are_refused(tmp_path, photos):
    with pytest.raises(UnreadableMedia, match="decompression bomb"):
        open_image(photos / FACE, max_side=800, max_pixels=1_000_000)
    # Claims 60000 x 60000 pixels in a tiny file.
    bomb = tmp_path / "bomb.png"
    Image.new("1", (60000, 60000)).save(bomb)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(UnreadableMedia, match="decompression bomb"):
        open_image(bomb, max_side=800, max_pixels=LIMIT)


def test_truncated_and_garbage_images_are_unreadable(tmp_path, photos):
    data = (photos / "edge/obama3.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(UnreadableMedia, match="truncated"):
        open_image(tmp_path / "cut.jpg", max_side=800, max_pixels=LIMIT)
    (tmp_path / "garbage.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 500)
    with pytest.raises(UnreadableMedia):
        open_image(tmp_path / "garbage.jpg", max_side=800, max_pixels=LIMIT)


def test_reduced_decoding_keeps_the_picture(photos):
    full = open_image(photos / "incoming/obama-1080p.jpg", max_side=4000, max_pixels=LIMIT)
    small = open_image(photos / "incoming/obama-1080p.jpg", max_side=400, max_pixels=LIMIT)
    assert (full.width, full.height) == (small.width, small.height) == (1920, 1080)
    assert max(small.image.size) == 400
    assert perceptual_hash(full.image) == perceptual_hash(small.image)


def test_frames_are_sampled_across_the_clip(photos):
    clip = photos / "video/short_hamilton_clip.mp4"
    info = probe_video(clip)
    assert 9.5 < info.duration < 10.5 and (info.width, info.height) == (640, 360)
    frames = sample_frames(clip, info, frames_per_second=2, max_frames=24, max_side=640)
    assert 19 <= len(frames) <= 21
    assert frames[0][1].shape == (360, 640, 3)
    assert frames[-1][0] > 9
    few = sample_frames(clip, info, frames_per_second=2, max_frames=5, max_side=320)
    assert len(few) == 5 and max(few[0][1].shape[:2]) == 320
    assert few[-1][0] > 7  # spread over the clip, not the first seconds


def test_corrupt_and_empty_videos_are_unreadable(tmp_path, photos):
    data = (photos / "video/short_hamilton_clip.mp4").read_bytes()
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(data[:64] + bytes(4096))
    with pytest.raises(UnreadableMedia):
        info = probe_video(corrupt)
        sample_frames(corrupt, info, frames_per_second=2, max_frames=5, max_side=320)
    audio_only = tmp_path / "audio.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(audio_only)],
        check=True,
    )
    with pytest.raises(UnreadableMedia, match="no video stream"):
        probe_video(audio_only)


@pytest.mark.parametrize(
    ("photo", "model", "upsample", "faces"),
    [
        ("incoming/obama_and_biden.jpg", "hog", 1, 3),
        ("incoming/kit_with_rose.jpg", "hog", 0, 2),
        ("incoming/obama_small.jpg", "cnn", 0, 1),
    ],
)
def test_faces_are_found_and_encoded_as_face_recognition_does(
    photos, photo, model, upsample, faces
):
    """facesort calls dlib with face_recognition's models itself (so as not to load the
    68-point model it never uses): the boxes and encodings must be face_recognition's."""
    import warnings

    from facesort import faces as facesort_faces

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition

    rgb = np.ascontiguousarray(open_image(photos / photo, max_side=800, max_pixels=LIMIT).image)
    ours = facesort_faces.face_locations(rgb, upsample, model)
    theirs = face_recognition.face_locations(rgb, number_of_times_to_upsample=upsample, model=model)
    assert ours == theirs
    assert len(ours) == faces
    expected = face_recognition.face_encodings(rgb, theirs, num_jitters=1, model="small")
    got = facesort_faces.face_encodings(rgb, ours, num_jitters=1)
    assert len(got) == faces
    for mine, reference in zip(got, expected, strict=True):
        assert mine.shape == (128,)
        np.testing.assert_array_equal(mine, reference)


def obama_and_biden_references(photos, settings):
    """The reference photos of obama and biden, each face encoded from a 1600 px copy."""
    from facesort.faces import largest_face
    from facesort.matching import ReferenceSet

    rows = []
    for person in ("obama", "biden"):
        for path in sorted((photos / "known" / person).glob("*.jpg")):
            rgb = np.asarray(open_image(path, max_side=1600, max_pixels=LIMIT).image)
            rows.append((person, path.name, largest_face(find_faces(rgb, settings)).encoding))
    return ReferenceSet.build(rows)


def test_photos_are_decoded_at_the_detection_size_and_small_faces_finer(photos):
    """A photo is decoded (JPEG draft) only as large as detection looks; a face too
    small there for a full-detail chip is encoded from a second, finer decode. The
    faces and who they are stay those of the photo decoded at encode_max_side."""
    from facesort import faces as facesort_faces
    from facesort.matching import match_encodings

    settings = MatchingSettings()
    side = facesort_faces.decode_side(settings)
    assert side == 1000  # the quick pass's copy; the upsampled 800 px one is made from it
    references = obama_and_biden_references(photos, settings)
    for photo, finer_needed in (("obama_and_biden.jpg", True), ("obama-1080p.jpg", False)):
        path = photos / "incoming" / photo
        before = find_faces(
            np.asarray(open_image(path, max_side=1600, max_pixels=LIMIT).image), settings
        )
        decoded = open_image(path, max_side=side, max_pixels=LIMIT)
        assert max(decoded.image.size) == side
        finer = facesort_faces.finer_copy(str(path), decoded, settings, LIMIT)
        calls = []

        def counted(finer=finer, calls=calls):
            calls.append(1)
            return finer()

        now = find_faces(np.asarray(decoded.image), settings, finer=counted)
        assert bool(calls) is finer_needed, photo
        assert len(now) == len(before)
        who = [  # in any order: the faces of two passes come most confident first
            sorted((m.person, m.confidence) for m in match_encodings(
                np.vstack([f.encoding for f in found]), references, settings))
            for found in (before, now)
        ]  # fmt: skip
        assert who[0] == who[1], photo
        assert ("obama", "sure") in who[1]


def test_photos_decoded_as_the_jpeg_draft_gives_them_keep_their_faces(tmp_path, photos):
    """``open_image(exact=False)`` keeps what JPEG's DCT scaling gives (up to twice
    the size asked) and reduces other formats only above twice; detection looks at the
    grey copy at the detection size, and the faces, who they are and the perceptual
    hash stay those of the photo decoded at exactly that size."""
    import imagehash

    from facesort import faces as facesort_faces
    from facesort.matching import match_encodings

    settings = MatchingSettings()
    side = facesort_faces.decode_side(settings)
    references = obama_and_biden_references(photos, settings)
    with Image.open(photos / "incoming" / "obama_and_biden.jpg") as im:
        big = im.convert("RGB").resize((im.width * 3, im.height * 3), Image.Resampling.BICUBIC)
    big.save(tmp_path / "big.jpg", quality=92)
    big.save(tmp_path / "big.png")
    for photo, drafted_side in (
        (photos / "incoming" / "obama-1080p.jpg", 1920),  # a 1/2 draft would be under 1000
        (tmp_path / "big.jpg", None),  # drafted to between 1000 and 2000
        (tmp_path / "big.png", side),  # not a JPEG, over twice: reduced
    ):
        exact = open_image(photo, max_side=side, max_pixels=LIMIT)
        drafted = open_image(photo, max_side=side, max_pixels=LIMIT, exact=False)
        assert (drafted.width, drafted.height) == (exact.width, exact.height)
        assert max(exact.image.size) == side
        long_side = max(drafted.image.size)
        assert side <= long_side <= 2 * side
        if drafted_side is not None:
            assert long_side == drafted_side, photo.name
        rgb = np.asarray(drafted.image)
        first = facesort_faces.detection_copy(rgb, settings)
        assert first.ndim == 2 and max(first.shape) == side  # grey, at the detection size
        hashes = [
            imagehash.hex_to_hash(perceptual_hash(picture))
            for picture in (exact.image, Image.fromarray(first))
        ]
        assert hashes[0] - hashes[1] <= 2, photo.name
        found = [
            find_faces(np.asarray(exact.image), settings),
            find_faces(rgb, settings, first=first),
        ]
        assert len(found[0]) == len(found[1]) >= 1, photo.name
        who = [
            sorted((m.person, m.confidence) for m in match_encodings(
                np.vstack([f.encoding for f in faces]), references, settings))
            for faces in found
        ]  # fmt: skip
        assert who[0] == who[1], photo.name
        assert ("obama", "sure") in who[1]
