"""dlib's face encoder on onnxruntime gives dlib's descriptors, on every fixture face."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import paths
import pytest

from facesort import dlib_weights, encoder_onnx, faces
from facesort.config import MatchingSettings
from facesort.media import open_image, probe_video, sample_frames

FIXTURES = paths.PHOTOS
LIMIT = 200_000_000
TOLERANCE = 1e-3  # Euclidean distance; routing thresholds are 0.55 and 0.65


def _weights() -> str:
    return faces._model_file("face_recognition_model_location")


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> encoder_onnx.OnnxFaceEncoder:
    """The encoder as a worker process loads it: onnxruntime's optimised copy, made by
    the first process after the graph was built."""
    folder = str(tmp_path_factory.mktemp("models"))
    for _ in range(3):  # build; make the optimised copy; load it
        encoder_onnx.load_encoder.cache_clear()
        encoder = encoder_onnx.load_encoder(_weights(), folder, 1)
    encoder_onnx.load_encoder.cache_clear()
    assert len(list(Path(folder).glob("*.onnx"))) == 2
    return encoder


@pytest.fixture(scope="module")
def fixture_chips() -> list[tuple[str, np.ndarray]]:
    """Every face of tests/fixtures (photos and the video's sampled frames) as the
    aligned chip dlib's encoder cuts, found the way facesort finds them."""
    import dlib

    settings = MatchingSettings(encode_max_side=800)  # the same faces, found sooner
    pictures = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
            image = open_image(path, max_side=settings.encode_max_side, max_pixels=LIMIT).image
            pictures.append((str(path.relative_to(FIXTURES)), np.asarray(image)))
    video = FIXTURES / "video" / "short_hamilton_clip.mp4"
    frames = sample_frames(
        video, probe_video(video), frames_per_second=2, max_frames=24, max_side=640
    )
    pictures += [(f"{video.name}#{i}", rgb) for i, (_, rgb) in enumerate(frames)]
    chips = []
    for name, rgb in pictures:
        rgb = np.ascontiguousarray(rgb)
        for top, right, bottom, left in faces.locate_faces(rgb, settings):
            shape = faces._landmarks()(rgb, dlib.rectangle(left, top, right, bottom))
            chips.append((name, dlib.get_face_chip(rgb, shape, 150, 0.25), rgb, shape))
    return chips


def test_every_fixture_face_gets_dlibs_descriptor(encoder, fixture_chips):
    dlib_encoder = faces._dlib_encoder()
    assert len(fixture_chips) >= 40  # photos and video frames
    ours = encoder.encode([chip for _, chip, _, _ in fixture_chips])
    worst = 0.0
    for (name, _, rgb, shape), mine in zip(fixture_chips, ours, strict=True):
        # dlib's own path: it cuts the chip itself from the picture and the landmarks
        theirs = np.array(dlib_encoder.compute_face_descriptor(rgb, shape, 1))
        distance = float(np.linalg.norm(mine - theirs))
        assert distance < TOLERANCE, name
        worst = max(worst, distance)
    assert worst > 0  # two implementations, not one called twice


def test_jittered_descriptors_are_dlibs_mean_over_the_same_copies(encoder, fixture_chips):
    import dlib

    dlib_encoder = faces._dlib_encoder()
    sample = [chip for _, chip, _, _ in fixture_chips[::10]]
    copies = {id(chip): dlib.jitter_image(chip, 3) for chip in sample}
    ours = encoder.encode(sample, 3, jitter=lambda chip, n: copies[id(chip)][:n])
    for chip, mine in zip(sample, ours, strict=True):
        theirs = np.mean(
            [np.array(dlib_encoder.compute_face_descriptor(c, 1)) for c in copies[id(chip)]],
            axis=0,
        )
        assert np.linalg.norm(mine - theirs) < TOLERANCE
        # and the mean over jittered copies is not the plain descriptor
        assert np.linalg.norm(mine - encoder.encode([chip])[0]) > 1e-3


def test_find_faces_uses_onnxruntime_with_the_same_results(tmp_path):
    rgb = np.asarray(
        open_image(
            FIXTURES / "incoming" / "obama_and_biden.jpg", max_side=1600, max_pixels=LIMIT
        ).image
    )
    onnx = faces.find_faces(rgb, MatchingSettings(model_cache_dir=tmp_path))
    plain = faces.find_faces(rgb, MatchingSettings(encoder="dlib"))
    assert [f.box for f in onnx] == [f.box for f in plain] and len(plain) == 3
    for a, b in zip(onnx, plain, strict=True):
        assert 0 < np.linalg.norm(a.encoding - b.encoding) < TOLERANCE
    # built once, cached under the weights' hash
    (cached,) = tmp_path.iterdir()
    assert cached.name == encoder_onnx.cache_path(tmp_path, encoder_onnx._sha256(_weights())).name
    faces._onnx_encoder.cache_clear()


def test_a_network_that_cannot_be_read_falls_back_to_dlib(tmp_path, monkeypatch, caplog):
    weights = Path(_weights()).read_bytes()
    broken = tmp_path / "broken.dat"
    broken.write_bytes(weights[: len(weights) // 2])
    with pytest.raises(dlib_weights.ModelFormatError):
        dlib_weights.read_network(broken.read_bytes())
    # a layer of another kind than dlib's face encoder has there
    other = bytearray(weights)
    at = other.index(b"max_pool_2")
    other[at : at + 10] = b"avg_pool_2"
    with pytest.raises(dlib_weights.ModelFormatError, match="max_pool_2"):
        dlib_weights.read_network(bytes(other))

    real_model_file = faces._model_file
    monkeypatch.setattr(
        faces,
        "_model_file",
        lambda name: (
            str(broken) if name == "face_recognition_model_location" else real_model_file(name)
        ),
    )
    faces._onnx_encoder.cache_clear()
    try:
        settings = MatchingSettings(model_cache_dir=tmp_path / "cache")
        rgb = np.asarray(
            open_image(
                FIXTURES / "known" / "obama" / "obama.jpg", max_side=1600, max_pixels=LIMIT
            ).image
        )
        with caplog.at_level(logging.WARNING, logger="facesort.faces"):
            found = faces.find_faces(rgb, settings)
            faces.find_faces(rgb, settings)
        warnings = [r for r in caplog.records if "onnxruntime cannot be used" in r.getMessage()]
        assert len(warnings) == 1 and "ModelFormatError" in warnings[0].getMessage()
        (face,) = found
        monkeypatch.setattr(faces, "_model_file", real_model_file)
        (expected,) = faces.find_faces(rgb, MatchingSettings(encoder="dlib"))
        np.testing.assert_array_equal(face.encoding, expected.encoding)  # dlib's own
        assert not (tmp_path / "cache").exists()
    finally:
        faces._onnx_encoder.cache_clear()


def test_a_damaged_cached_graph_is_built_again(tmp_path, caplog):
    path = encoder_onnx.cache_path(tmp_path, encoder_onnx._sha256(_weights()))
    path.write_bytes(b"not an onnx model")
    encoder_onnx.load_encoder.cache_clear()
    with caplog.at_level(logging.WARNING, logger="facesort.encoder_onnx"):
        encoder = encoder_onnx.load_encoder(_weights(), str(tmp_path), 1)
    encoder_onnx.load_encoder.cache_clear()
    assert "rebuilding" in caplog.text
    assert path.stat().st_size > 20_000_000
    chip = encoder_onnx.test_chip()
    assert encoder.descriptors(chip[None]).shape == (1, 128)
