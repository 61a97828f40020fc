"""The facesort command as a user types it: option order, pipes, exit codes, -v.

Each test runs the installed ``facesort`` command in a subprocess on a sample workspace.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import paths

REPO = paths.REPO
FACESORT = str(Path(sys.executable).parent / "facesort")


def cli_env() -> dict[str, str]:
    # This checkout's package, whatever the venv's editable install points at.
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "include"), env.get("PYTHONPATH", "")])
    env.pop("FACESORT_CONFIG", None)
    return env


def facesort(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FACESORT, *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
        check=False,
        **kwargs,
    )


def small_workspace(make_workspace):
    """Two staged files: a byte copy of an Obama photo and a truncated JPEG."""
    return make_workspace(stage=(), extras=True)


def test_config_and_verbose_on_either_side_of_the_command(make_workspace):
    ws = small_workspace(make_workspace)
    before = facesort("--config", ws.config_path, "run", "--dry-run")
    after = facesort("run", "--dry-run", "--config", ws.config_path)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert "Dry run: 2 files" in before.stdout
    assert after.stdout == before.stdout
    # Nested commands too, and -v after the command.
    for args in (
        ("review", "list", "--config", ws.config_path, "-v"),
        ("-v", "review", "--config", ws.config_path, "list"),
        ("db", "current", "--config", ws.config_path),
    ):
        result = facesort(*args)
        assert result.returncode == 0, (args, result.stderr)
    # Given only after the command, --config is not lost to the top level's default.
    result = facesort("status", "--config", ws.config_path, "--json")
    assert result.returncode == 0 and '"library"' in result.stdout, result.stderr


def test_status_into_a_closed_pipe_exits_quietly(make_workspace):
    ws = small_workspace(make_workspace)
    assert facesort("run", "--config", ws.config_path, "--workers", "1").returncode == 0
    # The reading end is closed before facesort writes anything (as `| head -0` would):
    # every write fails with EPIPE.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [FACESORT, "--config", str(ws.config_path), "status", "--files"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    # The same command into a live pipe lists both files.
    listing = facesort("status", "--files", "--config", ws.config_path)
    assert "obama1_downloaded_again.jpg" in listing.stdout and "truncated.jpg" in listing.stdout


def test_dry_run_with_a_missing_staging_folder_exits_2_like_run(tmp_path):
    config = tmp_path / "facesort.yaml"
    config.write_text("staging_dirs: [missing]\nlibrary_dir: l\nreview_dir: r\nreferences_dir: f\n")
    dry = facesort("run", "--dry-run", "--config", config)
    assert list(tmp_path.iterdir()) == [config]  # the dry run wrote nothing
    real = facesort("run", "--config", config)
    for result in (dry, real):
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"facesort: Staging folder {tmp_path / 'missing'} does not exist or is not a "
            "folder: create it, mount it, or fix staging_dirs in the config."
        ]


def test_verbose_shows_facesort_detail_not_migrations(make_workspace):
    ws = small_workspace(make_workspace)
    (ws.staging / "notes.txt").write_text("not a photo")
    result = facesort("run", "-v", "--config", ws.config_path, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert (ws.root / "facesort-state.db").exists()  # the schema was created in this run
    assert "INFO facesort.scan: left in staging:" in result.stderr
    assert "notes.txt" in result.stderr
    assert "alembic" not in result.stderr
    quiet = facesort("run", "--config", ws.config_path, "--workers", "1")
    assert quiet.returncode == 0 and "INFO" not in quiet.stderr
