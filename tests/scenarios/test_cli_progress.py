"""``facesort run`` as a long run looks: progress while it sorts, and a listing that
tells files of the same name apart (facesort.progress, facesort.cli.output)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_cli_args import FACESORT, cli_env, facesort

from facesort.cli.output import display_path

LINE = re.compile(
    r"^progress: (\d+)/(\d+) files \((\d+)%\), \d+\.\d (?:files/s|s/file), "
    r"(about .+ left|done in .+)$"
)


@pytest.mark.slow
def test_progress_lines_come_while_a_piped_run_sorts(make_workspace, photos):
    ws = make_workspace(stage=(), extras=False)
    # Largest first: the 1080p photo, its two smaller copies, obama1.jpg, the 240p copy.
    for name in ("obama-1080p.jpg", "obama-720p.jpg", "obama-480p.jpg", "obama1.jpg",
                 "obama-240p.jpg"):  # fmt: skip
        shutil.copyfile(photos / "incoming" / name, ws.staging / name)
    env = cli_env() | {"FACESORT_PROGRESS_FILES": "1", "FACESORT_PROGRESS_SECONDS": "3600"}
    command = [FACESORT, "run", "--config", str(ws.config_path), "--workers", "1"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as run:
        first = ""
        while not first.startswith("progress:"):
            first = run.stderr.readline()
            assert first, "stderr ended before any progress line"
        still_running = run.poll() is None  # obama1.jpg's faces are still to be found
        out, rest = run.communicate(timeout=300)
    err = first + rest
    assert run.returncode == 0, err
    assert still_running, "the first progress line came only at the end"
    lines = [line for line in err.splitlines() if line.startswith("progress:")]
    assert all(LINE.match(line) for line in lines), lines
    assert [LINE.match(line).group(1, 2) for line in lines] == [(str(n), "5") for n in range(1, 6)]
    assert "done in" in lines[-1] and "left" in lines[0]
    assert not any(line.startswith("progress:") for line in out.splitlines())  # stdout: the listing


def test_the_listing_names_files_by_their_path_in_staging(tmp_path):
    phone, camera = tmp_path / "phone", tmp_path / "camera"
    (phone / "2024" / "trip").mkdir(parents=True)
    camera.mkdir()
    # Two files of one name, neither a photo by content: quick to sort (review/unreadable).
    (phone / "2024" / "trip" / "IMG_1.jpg").write_bytes(b"not a photo, from the phone")
    (camera / "IMG_1.jpg").write_bytes(b"not a photo, from the camera")
    config = tmp_path / "facesort.yaml"
    config.write_text(
        "staging_dirs: [phone, camera]\nlibrary_dir: library\nreview_dir: review\n"
        "references_dir: references\nscan: {stable_seconds: 0}\n"
    )
    (tmp_path / "references").mkdir()
    for args in (("--dry-run",), ("--workers", "1")):
        result = facesort("run", *args, "--config", config)
        assert result.returncode == 0, result.stderr
        listed = [line.split("  -> ")[0].strip() for line in result.stdout.splitlines()
                  if "  -> " in line]  # fmt: skip
        assert sorted(listed) == ["camera/IMG_1.jpg", "phone/2024/trip/IMG_1.jpg"], result.stdout
    status = facesort("status", "--files", "--config", config)
    listed = sorted(line.split()[0] for line in status.stdout.splitlines())
    assert listed == ["camera/IMG_1.jpg", "phone/2024/trip/IMG_1.jpg"], status.stdout
    # One staging folder: no folder name in front.
    assert display_path("/s/2024/a.jpg", [Path("/s")]) == "2024/a.jpg"
    assert display_path("/elsewhere/a.jpg", [Path("/s")]) == "/elsewhere/a.jpg"
