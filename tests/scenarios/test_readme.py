"""The README's instructions work as written.

- The shell blocks marked ``<!-- test: run -->`` run, in order, with bash in the
  repository root, for a user whose home is a temporary folder; a block marked
  ``<!-- test: file PATH -->`` is written to ``~/PATH`` first (the config of "Use it on
  your own photos"), and the folders it names get copies of the fixture photos.
- Every ``make`` target, ``facesort`` command and relative link in README.md and docs/
  exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import paths
import pytest
import yaml

REPO = paths.REPO
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
MARK = re.compile(r"^[ \t]*<!-- test: (run|file (\S+)) -->[ \t]*\n", re.M)
FENCE = re.compile(r"[ \t]*```(\w*)\n(.*?)\n[ \t]*```", re.S)
CODE = re.compile(r"```\w*\n(.*?)```|`([^`\n]+)`", re.S)


def marked_blocks(text: str) -> list[tuple[str, str | None, str]]:
    """(``run`` or ``file``, the file's path, the block's text) for every marked block."""
    blocks = []
    for mark in MARK.finditer(text):
        fence = FENCE.match(text, mark.end())
        assert fence, f"no code block right after {mark.group(0).strip()}"
        kind = "run" if mark.group(1) == "run" else "file"
        blocks.append((kind, mark.group(2), textwrap.dedent(fence.group(2) + "\n")))
    return blocks


@pytest.mark.slow
def test_marked_readme_blocks_run_as_written(tmp_path, photos):
    blocks = marked_blocks((REPO / "README.md").read_text())
    assert [kind for kind, _, _ in blocks] == ["file", "run", "run"]
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        # This checkout's package, whatever the venv's editable install points at.
        "PYTHONPATH": str(REPO / "include"),
    }
    _, path, text = blocks[0]
    config_path = home / path
    config_path.parent.mkdir(parents=True)
    config_path.write_text(text)
    # The user's part, in prose: reference photos and new downloads in the named folders.
    settings = yaml.safe_load(text)
    staging = config_path.parent / settings["staging_dirs"][0]
    references = config_path.parent / settings["references_dir"]
    shutil.copytree(photos / "known", references)
    staging.mkdir()
    for name in ("obama1.jpg", "two_people.jpg", "lin-manuel-miranda.png"):
        shutil.copyfile(photos / "incoming" / name, staging / name)
    staged = sorted(p.name for p in staging.iterdir())

    def run(script: str) -> str:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    # Copied just now, the photos are not a minute old: as the README says, facesort
    # leaves them alone (a download may still be running).
    out = run(blocks[1][2])
    assert "Dry run: 3 files" in out and out.count("not stable yet") == 3
    # A file's change time cannot be set back, so the test says the downloads are complete.
    with config_path.open("a") as config:
        config.write("scan: {stable_seconds: 0}\n")
    outputs = []
    for _, _, script in blocks[1:]:
        outputs.append(run(script))
        if len(outputs) == 1:  # the dry run: decisions printed, nothing moved or recorded
            assert "Dry run: 3 files; nothing was moved or recorded." in outputs[0]
            assert sorted(p.name for p in staging.iterdir()) == staged
            assert sorted(p.name for p in config_path.parent.iterdir()) == [
                "facesort.yaml",
                "incoming",
                "references",
            ]
    library, review = config_path.parent / "library", config_path.parent / "review"
    assert (library / "obama" / "obama1.jpg").is_file()
    assert (review / "multiple_faces" / "two_people.jpg").is_file()
    assert (review / "unidentified" / "lin-manuel-miranda.png").is_file()
    assert list(staging.iterdir()) == []
    assert f"-> {library}/obama/obama1.jpg" in outputs[0]  # the dry run predicted it
    assert "3 new, 0 already handled" in outputs[1]
    assert "obama" in outputs[1].split("library (")[1]  # `facesort status` counts it


def code_spans(page: Path) -> list[str]:
    return [block or span for block, span in CODE.findall(page.read_text())]


def test_every_make_target_mentioned_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    mentioned = {
        (page.name, target)
        for page in PAGES
        for code in code_spans(page)
        for target in re.findall(r"(?:^|[\s(`])make ([a-z][\w-]*)", code)
    }
    assert mentioned, "no make target found: the pattern is wrong"
    missing = sorted((page, t) for page, t in mentioned if t not in targets)
    assert missing == []


def test_every_facesort_command_mentioned_exists():
    import argparse

    from facesort.cli import build_parser

    def commands(parser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices
        return {}

    top = commands(build_parser())
    seen = 0
    for page in PAGES:
        for code in code_spans(page):
            for line in code.splitlines():
                match = re.match(r"\s*(?:\.venv/bin/)?facesort (.*)", line)
                if not match:
                    continue
                words = iter(match.group(1).replace("[--config FILE]", "").split())
                for word in words:
                    if word in ("--config", "-v") or word.startswith("$"):
                        if word == "--config":
                            next(words, None)
                        continue
                    break
                else:
                    continue
                if word.isupper() or not re.fullmatch(r"[a-z][a-z-]*", word):
                    continue
                seen += 1
                assert word in top, f"{page.name}: `facesort {word}` is not a command: {line}"
                sub = commands(top[word])
                rest = next(words, "")
                if sub and re.fullmatch(r"[a-z][a-z-]*", rest):
                    assert rest in sub, f"{page.name}: `facesort {word} {rest}`: {line}"
    assert seen > 20


HEADING = re.compile(r"^#+ (.*)$", re.M)


def anchor(title: str) -> str:
    """GitHub's anchor for a heading."""
    title = re.sub(r"[^\w\- ]", "", title.strip().lower().replace("`", ""))
    return title.replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: link to {target}: no such file"
        if fragment and linked.suffix == ".md":
            anchors = {anchor(t) for t in HEADING.findall(linked.read_text())}
            assert fragment in anchors, f"{page.name}: link to {target}: no such heading"
