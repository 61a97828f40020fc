"""Never two people in one folder: names that would share a folder go to review."""

from __future__ import annotations

import pytest

from facesort.people.folders import PersonFolders
from facesort.policy import Decision
from facesort.sorting.route import Router
from facesort.state import State


def library(person: str) -> Decision:
    return Decision(category=None, rule="sure_match", summary="sure", people=(person,))


def test_first_name_keeps_the_folder():
    folders = PersonFolders(["Obama", "Anna/Maria"])
    assert folders.clash("Obama") is None
    assert folders.clash("ＯＢＡＭＡ") == "Obama"  # full-width look-alike, same folder key
    assert folders.clash("obama") == "Obama"  # one folder on a case-insensitive disk
    assert folders.clash("Anna_Maria") == "Anna/Maria"  # "/" becomes "_"
    assert folders.clash("Biden") is None
    folders.taken("Biden")
    assert folders.clash("BIDEN") == "Biden"


@pytest.fixture
def sorter(make_workspace):
    ws = make_workspace(stage=(), extras=False)
    config = ws.config()
    state = State(config.database_url)
    yield Router(config, state, actor="test")
    state.dispose()


def test_clashing_and_unusable_names_go_to_review(sorter):
    # The references (from tests/fixtures/faces/known) include "obama".
    assert sorter.guard_names(library("obama")).folder == "library/obama"
    clash = sorter.guard_names(library("Ｏｂａｍａ"))
    assert (clash.folder, clash.rule) == ("review/unidentified", "name_clash")
    assert "'Ｏｂａｍａ' and 'obama' would share the folder library/obama" in clash.summary
    unusable = sorter.guard_names(library("..."))
    assert (unusable.folder, unusable.rule) == ("review/unidentified", "unusable_name")
    # A hostile name that can have a folder of its own gets one, inside the library.
    hostile = sorter.guard_names(library("../../etc"))
    assert hostile.folder == "library/_.._etc"
    assert sorter.destination_dir(hostile) == sorter.config.library_dir / "_.._etc"
