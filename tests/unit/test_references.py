"""Reference photos: every photo of a person, cached encodings, clear problems."""

from __future__ import annotations

import shutil

import pytest

from facesort.errors import FacesortError
from facesort.references import ReferenceLoader
from facesort.state import State


@pytest.fixture
def loader(make_workspace):
    ws = make_workspace(stage=(), extras=False)
    config = ws.config()
    state = State(config.database_url)
    yield ws, config, state
    state.dispose()


def test_all_photos_of_each_person_are_used(loader):
    _, config, state = loader
    references = ReferenceLoader(state, config).load()
    assert references.count_by_person() == {
        "alex_lacamoire": 1, "biden": 2, "kit_harington": 2, "obama": 2, "rose_leslie": 2,
    }  # fmt: skip
    assert references.problems == []
    assert "obama/obama2.jpg" in references.sources


def test_encodings_are_cached_by_content(loader, monkeypatch):
    ws, config, state = loader
    first = ReferenceLoader(state, config).load()
    # A renamed photo has the same content: still no detection needed.
    shutil.move(ws.references / "biden" / "biden.jpg", ws.references / "biden" / "renamed.jpg")

    def no_detection(*args, **kwargs):
        raise AssertionError("reference photo decoded again")

    monkeypatch.setattr("facesort.references.find_faces", no_detection)
    monkeypatch.setattr("facesort.references.open_image", no_detection)
    second = ReferenceLoader(state, config).load()
    assert sorted(r.tobytes() for r in second.encodings) == sorted(
        r.tobytes() for r in first.encodings
    )
    assert "biden/renamed.jpg" in second.sources


def test_photos_without_a_face_are_reported(loader, photos):
    ws, config, state = loader
    (ws.references / "obama" / "notes.jpg").write_text("not a photo")
    with_no_face = ws.references / "biden" / "sky.png"
    from PIL import Image

    Image.new("RGB", (300, 200), (90, 140, 220)).save(with_no_face)
    references = ReferenceLoader(state, config).load()
    assert references.count_by_person()["obama"] == 2
    assert any("biden/sky.png: no face found" in p for p in references.problems)
    assert any(p.startswith("obama/notes.jpg:") for p in references.problems)


def test_two_folders_for_one_library_folder_are_refused(loader):
    ws, config, state = loader
    shutil.copytree(ws.references / "obama", ws.references / "Ｏｂａｍａ")
    with pytest.raises(FacesortError, match="would share the library folder"):
        ReferenceLoader(state, config).load()


def test_worker_processes_share_the_encoding_of_references(loader, monkeypatch):
    """A photo another process is encoding is left to it: this one encodes the others
    first, then reads that one from the database once the other process is done."""
    import threading

    from facesort import references as refs
    from facesort.files.hashing import sha256_file

    ws, config, state = loader
    loader_ = ReferenceLoader(state, config)
    held = ws.references / "obama" / "obama.jpg"
    other_process = refs._claimed(
        loader_.claims, f"{sha256_file(held)}-{loader_.key}", wait=True
    )  # what another worker holds while it encodes
    assert other_process.__enter__()
    encoded = []
    real = refs.compute_reference_encoding

    def recording(path, sha, config):
        encoded.append(path.name)
        if len(encoded) == 8:  # all others done: the other process stores its result
            state_other = State(config.database_url)
            with state_other.session() as session:
                session.merge(real(held, sha256_file(held), config))
            state_other.dispose()
            other_process.__exit__(None, None, None)
        return real(path, sha, config)

    monkeypatch.setattr(refs, "compute_reference_encoding", recording)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(loader_.load()))
    worker.start()
    worker.join(timeout=120)
    (references,) = result
    assert "obama.jpg" not in encoded and len(encoded) == 8
    assert references.count_by_person()["obama"] == 2
    assert "obama/obama.jpg" in references.sources
