"""Folder and file names facesort creates are safe."""

from __future__ import annotations

import pytest

from facesort.names import (
    UnsafeNameError,
    numbered,
    person_key,
    safe_file_name,
    safe_folder_name,
)


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("Barack Obama", "Barack Obama"),
        ("  Kit   Harington ", "Kit Harington"),
        ("../etc", "_etc"),
        ("/absolute/path", "_absolute_path"),
        ("a/b\\c", "a_b_c"),
        ("Ｏｂａｍａ", "Obama"),  # full-width letters fold to ASCII (NFKC)
        ("Zoë", "Zoë"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("evil\u202eman", "evilman"),  # bidi override removed
        ("...hidden", "hidden"),
    ],
)
def test_safe_folder_name(name, folder):
    assert safe_folder_name(name) == folder


@pytest.mark.parametrize("name", ["", "   ", ".", "..", "/", "\u200b", "___"])
def test_unusable_names_are_refused(name):
    with pytest.raises(UnsafeNameError):
        safe_folder_name(name)


def test_long_names_are_bounded():
    assert len(safe_folder_name("x" * 1000).encode()) <= 120
    assert len(safe_folder_name("é" * 1000).encode()) <= 120


def test_look_alikes_share_a_key():
    assert person_key("Ｏｂａｍａ") == person_key("obama") == person_key(" Obama ")
    assert person_key("Obama") != person_key("Biden")


def test_file_names():
    assert safe_file_name("photo.jpg") == "photo.jpg"
    assert safe_file_name("a/b.jpg") == "a_b.jpg"
    assert safe_file_name(".hidden.jpg") == "_hidden.jpg"
    assert safe_file_name("..") == "unnamed"
    long = safe_file_name("y" * 400 + ".jpeg")
    assert long.endswith(".jpeg") and len(long.encode()) <= 240
    assert numbered("photo.jpg", 0) == "photo.jpg"
    assert numbered("photo.jpg", 2) == "photo (2).jpg"
    assert len(numbered("z" * 239 + ".jpg", 12).encode()) <= 240
