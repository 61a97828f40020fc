"""The folder layout is checked on load, on the paths as the filesystem sees them.

A staging folder given as a symlink to the folder holding the library, or a path with
``..`` in it, must be compared by where it leads: otherwise every run takes library
photos back out of the library (issue 12, item 5).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facesort.config import load_config
from facesort.errors import ConfigError

LAYOUT = {
    "staging_dirs": "[downloads]",
    "library_dir": "photos/library",
    "review_dir": "photos/review",
    "references_dir": "refs",
}


def _write(tmp_path: Path, **changes: str) -> Path:
    keys = {**LAYOUT, **changes}
    path = tmp_path / "facesort.yaml"
    path.write_text("".join(f"{key}: {value}\n" for key, value in keys.items()))
    return path


def test_the_usual_layout_is_accepted(tmp_path):
    (tmp_path / "downloads").mkdir()
    config = load_config(_write(tmp_path, trash_dir="photos/trash", thumbnail_dir="cache/thumbs"))
    assert config.library_dir == tmp_path / "photos" / "library"


def test_staging_as_a_symlink_to_the_folder_holding_the_library_is_refused(tmp_path):
    (tmp_path / "photos" / "library").mkdir(parents=True)
    (tmp_path / "downloads").symlink_to(tmp_path / "photos")
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path))
    message = str(err.value)
    assert "staging folder" in message and "would be picked up again" in message
    assert f"that is {tmp_path / 'photos'}" in message  # says where the symlink leads


def test_library_reached_through_dot_dot_is_refused(tmp_path):
    (tmp_path / "downloads").mkdir()
    with pytest.raises(ConfigError, match="would be picked up again"):
        load_config(_write(tmp_path, library_dir="photos/../downloads/library"))


def test_library_through_a_symlink_into_staging_is_refused(tmp_path):
    (tmp_path / "downloads" / "sorted").mkdir(parents=True)
    (tmp_path / "photos").symlink_to(tmp_path / "downloads" / "sorted")
    with pytest.raises(ConfigError, match="would be picked up again"):
        load_config(_write(tmp_path))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"library_dir": "photos/review/library"}, r"library_dir .* must not be inside review_dir"),
        ({"trash_dir": "photos/library/trash"}, r"trash_dir .* must not be inside library_dir"),
        ({"references_dir": "photos/library"}, "references_dir must not be the library folder"),
        ({"references_dir": "photos/library/refs"}, r"references_dir .* inside library_dir"),
        ({"thumbnail_dir": "downloads/.thumbs"}, r"thumbnail_dir .* would be picked up again"),
        ({"staging_dirs": "[downloads, downloads/more]"}, "every file would be found twice"),
    ],
    ids=[
        "library-in-review",
        "trash-in-library",
        "references-is-library",
        "references-in-library",
        "thumbnails-in-staging",
        "staging-in-staging",
    ],
)
def test_risky_layouts_are_refused_with_the_fix(tmp_path, changes, expected):
    with pytest.raises(ConfigError, match=expected) as err:
        load_config(_write(tmp_path, **changes))
    assert "Fix these keys" in str(err.value)


def test_references_equal_to_the_library_through_a_symlink(tmp_path):
    (tmp_path / "photos" / "library").mkdir(parents=True)
    (tmp_path / "refs").symlink_to(tmp_path / "photos" / "library")
    with pytest.raises(ConfigError, match="references_dir must not be the library folder"):
        load_config(_write(tmp_path))


def test_case_is_folded_where_the_filesystem_ignores_it(tmp_path, monkeypatch):
    """On a case-insensitive filesystem (macOS, a Windows share) ``Downloads`` and
    ``downloads`` are one folder. Linux test machines have none, so the probe of the
    filesystem is replaced; the comparison itself is the real one."""
    import facesort.config.folders as config_module

    (tmp_path / "Downloads").mkdir()
    text = {"staging_dirs": "[Downloads]", "library_dir": "downloads/library"}
    assert load_config(_write(tmp_path, **text)).library_dir.parent.name == "downloads"
    monkeypatch.setattr(config_module, "_case_insensitive", lambda folder: True)
    with pytest.raises(ConfigError, match="would be picked up again"):
        load_config(_write(tmp_path, **text))


def test_case_insensitivity_is_detected_by_the_filesystem(tmp_path):
    """The probe itself: a folder whose swapped-case name is the same folder."""
    from facesort.config import _case_insensitive

    folder = tmp_path / "Photos"
    folder.mkdir()
    assert not _case_insensitive(str(folder))
    # A swapped-case name that leads to the same folder is what a case-insensitive
    # filesystem shows; a symlink stands in for it here.
    (tmp_path / "pHOTOS").symlink_to(folder)
    _case_insensitive.cache_clear()
    assert _case_insensitive(str(folder))
    _case_insensitive.cache_clear()


def test_facesort_run_refuses_the_layout_before_touching_anything(tmp_path, facesort_cli):
    (tmp_path / "photos" / "library" / "someone").mkdir(parents=True)
    photo = tmp_path / "photos" / "library" / "someone" / "a.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    (tmp_path / "downloads").symlink_to(tmp_path / "photos")
    code, _, err = facesort_cli("--config", _write(tmp_path), "run", "--workers", "1")
    assert code == 2
    assert "would be picked up again" in err and "Traceback" not in err
    assert photo.is_file() and not (tmp_path / "photos" / "review").exists()
    assert not os.path.exists(tmp_path / "facesort-state.db")
