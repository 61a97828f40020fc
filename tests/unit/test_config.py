"""The YAML config: validated on load, every mistake reported by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesort.airflow.settings import ingest_schedule_from_env
from facesort.config import (
    DEFAULT_INGEST_SCHEDULE,
    load_config,
    with_overrides,
)
from facesort.errors import ConfigError

MINIMAL = """
staging_dirs: [downloads]
library_dir: sorted/library
review_dir: sorted/review
references_dir: refs
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "facesort.yaml"
    path.write_text(text)
    return path


def test_minimal_config_resolves_paths_relative_to_the_file(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.staging_dirs == [tmp_path / "downloads"]
    assert config.library_dir == tmp_path / "sorted/library"
    assert config.database_url == f"sqlite:///{tmp_path / 'facesort-state.db'}"
    assert config.transfer_mode == "move"
    assert config.matching.sure_distance < config.matching.review_distance
    assert config.scan.ignored("movie.mp4.part") and config.scan.ignored(".hidden.jpg")
    assert not config.scan.ignored("photo.jpg")


def test_every_mistake_is_reported_by_key_at_once(tmp_path):
    path = write(
        tmp_path,
        """
staging_dir: [downloads]
library_dir: lib
review_dir: rev
references_dir: refs
transfer_mode: teleport
batch_size: lots
matching:
  sure_distance: close
  review_distnce: 0.7
video:
  min_vote_share: 2
""",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert "staging_dirs: required key is missing" in message
    assert "staging_dir: unknown key (did you mean 'staging_dirs'?)" in message
    assert "transfer_mode: input should be 'move' or 'copy' (got 'teleport')" in message
    assert "batch_size: expected a whole number (got 'lots')" in message
    assert "matching.sure_distance: expected a number (got 'close')" in message
    assert "matching.review_distnce: unknown key (did you mean 'review_distance'?)" in message
    assert "video.min_vote_share: input should be less than or equal to 1 (got 2)" in message


def test_band_order_is_checked(tmp_path):
    text = MINIMAL + "matching: {sure_distance: 0.7, review_distance: 0.6}\n"
    with pytest.raises(ConfigError, match="review_distance must be at least sure_distance"):
        load_config(write(tmp_path, text))


def test_library_inside_staging_is_refused(tmp_path):
    text = MINIMAL.replace("sorted/library", "downloads/library")
    with pytest.raises(ConfigError, match="would be picked up again"):
        load_config(write(tmp_path, text))


def test_environment_variables_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("FACESORT_TEST_DB", "postgresql://facesort@db/facesort")
    text = MINIMAL + "state_url: ${FACESORT_TEST_DB}\nreview_dir: ${REVIEW_AT:-elsewhere}\n"
    config = load_config(write(tmp_path, text.replace("review_dir: sorted/review\n", "")))
    assert config.database_url == "postgresql://facesort@db/facesort"
    assert config.review_dir == tmp_path / "elsewhere"
    # Like the shell and Docker Compose: an empty variable takes the default too.
    monkeypatch.setenv("REVIEW_AT", "")
    config = load_config(write(tmp_path, text.replace("review_dir: sorted/review\n", "")))
    assert config.review_dir == tmp_path / "elsewhere"


def test_unset_environment_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_FACESORT_VAR", raising=False)
    with pytest.raises(ConfigError, match="environment variable NO_SUCH_FACESORT_VAR is not set"):
        load_config(write(tmp_path, MINIMAL + "state_url: ${NO_SUCH_FACESORT_VAR}\n"))


def test_missing_file_and_bad_yaml_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="does not exist: create it"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2"):
        load_config(write(tmp_path, "staging_dirs: [a\nlibrary_dir: b: c\n"))
    monkeypatch.delenv("FACESORT_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="FACESORT_CONFIG"):
        load_config(None)
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))


def test_overrides_are_validated_like_the_file(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    stricter = with_overrides(config, {"matching": {"sure_distance": 0.4}})
    assert stricter.matching.sure_distance == 0.4
    assert stricter.matching.review_distance == config.matching.review_distance
    assert stricter.library_dir == config.library_dir
    with pytest.raises(ConfigError, match=r"matching\.sure_distance: expected a number"):
        with_overrides(config, {"matching": {"sure_distance": "x"}})


def test_ingest_schedule_at_parse_time(tmp_path, monkeypatch):
    monkeypatch.delenv("FACESORT_INGEST_SCHEDULE", raising=False)
    monkeypatch.delenv("FACESORT_CONFIG", raising=False)
    assert ingest_schedule_from_env() == DEFAULT_INGEST_SCHEDULE
    path = write(tmp_path, MINIMAL + "schedule: {ingest: '*/5 * * * *'}\n")
    monkeypatch.setenv("FACESORT_CONFIG", str(path))
    assert ingest_schedule_from_env() == "*/5 * * * *"
    monkeypatch.setenv("FACESORT_INGEST_SCHEDULE", "@hourly")
    assert ingest_schedule_from_env() == "@hourly"
    # A broken file never breaks DAG parsing; the task reports it when it runs.
    path.write_text("{{{")
    monkeypatch.delenv("FACESORT_INGEST_SCHEDULE")
    assert ingest_schedule_from_env() == DEFAULT_INGEST_SCHEDULE
