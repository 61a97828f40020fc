"""Scanning staging: stable files only, by content, incrementally, links never followed."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from facesort.config import load_config
from facesort.errors import StagingError
from facesort.scan import scan_staging
from facesort.state import State
from facesort.state.models import FileIndexEntry, MediaFile


@pytest.fixture
def setup(tmp_path, photos):
    staging = tmp_path / "staging"
    staging.mkdir()
    (tmp_path / "facesort.yaml").write_text(
        "staging_dirs: [staging]\nlibrary_dir: library\nreview_dir: review\n"
        "references_dir: references\nscan: {stable_seconds: 0}\n"
    )
    config = load_config(tmp_path / "facesort.yaml")
    state = State(config.database_url)
    yield config, state, staging, photos
    state.dispose()


def registered(state) -> dict[str, tuple[str, str]]:
    with state.session() as session:
        rows = session.execute(
            sa.select(MediaFile.source_path, MediaFile.kind, MediaFile.file_type)
        )
        return {os.path.basename(p): (k, t) for p, k, t in rows}


def test_partial_hidden_and_non_media_files_stay(setup):
    config, state, staging, photos = setup
    for name in ("a.jpg.part", "b.mp4.crdownload", "c.tmp", ".hidden.jpg", "notes.txt"):
        (staging / name).write_bytes((photos / "incoming/obama1.jpg").read_bytes())
    (staging / ".cache").mkdir()
    shutil.copyfile(photos / "incoming/obama1.jpg", staging / ".cache" / "x.jpg")
    shutil.copyfile(photos / "incoming/obama1.jpg", staging / "real.jpg")
    report = scan_staging(state, config, "test")
    # notes.txt holds JPEG bytes: its content makes it a photo, whatever the name says.
    assert registered(state) == {"real.jpg": ("image", "jpg"), "notes.txt": ("image", "jpg")}
    assert report.registered == 2


def test_types_by_content_and_garbage_named_like_media(setup):
    config, state, staging, photos = setup
    shutil.copyfile(photos / "incoming/alex-lacamoire.png", staging / "liar.jpg")
    shutil.copyfile(photos / "video/short_hamilton_clip.mp4", staging / "clip.bin")
    (staging / "broken.jpg").write_text("this is not a photo")
    (staging / "empty.mov").write_bytes(b"")
    (staging / "readme.nfo").write_text("release notes")
    report = scan_staging(state, config, "test")
    assert registered(state) == {
        "liar.jpg": ("image", "png"),
        "clip.bin": ("video", "mp4"),
        "broken.jpg": ("unknown", "jpg"),  # shown to the user in review/unreadable
        "empty.mov": ("unknown", "mov"),
    }
    assert report.ignored == 1  # readme.nfo is left alone


def test_files_in_subfolders_are_found(setup):
    config, state, staging, photos = setup
    (staging / "2026" / "may").mkdir(parents=True)
    shutil.copyfile(photos / "incoming/obama1.jpg", staging / "2026" / "may" / "deep.jpg")
    scan_staging(state, config, "test")
    assert "deep.jpg" in registered(state)


def test_symbolic_links_are_not_followed(setup, tmp_path):
    config, state, staging, photos = setup
    outside = tmp_path / "outside.jpg"
    shutil.copyfile(photos / "incoming/obama1.jpg", outside)
    (staging / "link.jpg").symlink_to(outside)
    (tmp_path / "elsewhere").mkdir()
    shutil.copyfile(photos / "incoming/obama1.jpg", tmp_path / "elsewhere" / "x.jpg")
    (staging / "linked_folder").symlink_to(tmp_path / "elsewhere")
    report = scan_staging(state, config, "test")
    assert registered(state) == {}
    assert report.ignored == 2  # both links are noted and left; the folder is not entered
    assert outside.exists()


def test_unstable_files_wait_until_size_and_mtime_settle(setup):
    config, state, staging, photos = setup
    waiting = config.model_copy(
        update={"scan": config.scan.model_copy(update={"stable_seconds": 3600})}
    )
    shutil.copyfile(photos / "incoming/obama1.jpg", staging / "downloading.jpg")
    report = scan_staging(state, waiting, "test")
    assert (report.waiting, report.registered) == (1, 0)

    def age_first_sight(hours: float) -> None:
        with state.session() as session:
            session.execute(
                sa.update(FileIndexEntry).values(
                    first_seen_at=datetime.now(UTC) - timedelta(hours=hours)
                )
            )

    # Seen unchanged for two hours: stable.
    age_first_sight(2)
    # ...but the download grew meanwhile: the clock starts again.
    with (staging / "downloading.jpg").open("ab") as handle:
        handle.write(b"\0" * 10)
    report = scan_staging(state, waiting, "test")
    assert (report.waiting, report.registered) == (1, 0)
    age_first_sight(2)
    report = scan_staging(state, waiting, "test")
    assert (report.waiting, report.registered) == (0, 1)


def test_rescan_neither_opens_nor_hashes_handled_files(setup, monkeypatch):
    config, state, staging, photos = setup
    for source in (photos / "incoming").iterdir():
        shutil.copyfile(source, staging / source.name)
    count = len(list(staging.iterdir()))
    first = scan_staging(state, config, "test")
    assert first.registered == count

    def forbidden(*args, **kwargs):
        raise AssertionError("a handled file was opened again")

    monkeypatch.setattr("facesort.scan.sniff", forbidden)
    monkeypatch.setattr("facesort.files.hashing.sha256_file", forbidden)
    second = scan_staging(state, config, "test")
    # Registered, not sorted yet: the record's status says so, not a second look.
    assert (second.unsorted, second.known, second.registered) == (count, 0, 0)


def test_a_changed_file_is_taken_again(setup):
    config, state, staging, photos = setup
    shutil.copyfile(photos / "incoming/obama1.jpg", staging / "photo.jpg")
    scan_staging(state, config, "test")
    shutil.copyfile(photos / "incoming/obama-240p.jpg", staging / "photo.jpg")
    report = scan_staging(state, config, "test")
    assert report.registered == 1
    with state.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MediaFile)) == 2


def test_missing_staging_folder_is_named(setup):
    config, state, staging, _ = setup
    staging.rmdir()
    with pytest.raises(StagingError, match=f"Staging folder {staging} does not exist"):
        scan_staging(state, config, "test")
