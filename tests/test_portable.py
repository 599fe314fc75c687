"""The repository works from any folder on any machine: no tracked file names a path of one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# An absolute path into some virtual environment works on the machine that made it and nowhere
# else; so does the checkout's own absolute path.
VENV_PATH = re.compile(rb"(?<![\w.~$)}])/[\w.-]+(?:/[\w.-]+)*/\.?venv/bin/")


def tracked_files() -> list[Path]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_tracked_file_holds_a_path_of_this_machine() -> None:
    checkout = str(ROOT).encode()
    offenders = []
    for path in tracked_files():
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if checkout in data or VENV_PATH.search(data):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"absolute paths of this machine in {offenders}"


def test_the_venv_pattern_finds_what_it_must() -> None:
    # Split so that this file does not hold what it looks for.
    assert VENV_PATH.search(b'IMAGENET = "/home/ann/src/imagenet-cli/.' + b'venv/bin/imagenet"')
    assert not VENV_PATH.search(b"python3 -m venv .venv && . .venv/bin/activate")
    assert not VENV_PATH.search(b"$(BIN)/python with BIN := $(VENV)/bin")
