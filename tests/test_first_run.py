"""The first run builds the synset index: a terminal is told why it takes seconds, a
script is told nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .terminal import Terminal

STATUS = b"imagenet: building the synset index in "


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize(
    "args",
    [["synset", "search", "dog", "-n", "1"], ["urls", "info", "--wnid", "n01440764"]],
    ids=["fast path", "typer"],
)
def test_a_terminal_sees_one_status_line_while_the_index_is_built(
    tmp_path: Path, args: list[str]
) -> None:
    env = {**os.environ, "IMAGENET_CACHE": str(tmp_path / "fresh")}
    term = Terminal(args, env)
    assert term.end() == 0, term.seen
    first = term.seen
    where = str(tmp_path / "fresh" / "index").encode()
    assert first.startswith(STATUS + where + b" (once, a few seconds)...\r\x1b[K"), first[:300]
    assert first.count(STATUS) == 1 and b"wnid" in first  # then the answer
    again = Terminal(args, env)  # built: nothing more to say
    assert again.end() == 0 and STATUS not in again.seen


def test_a_script_gets_no_status_line(tmp_path: Path) -> None:
    env = {**os.environ, "IMAGENET_CACHE": str(tmp_path / "fresh")}
    proc = subprocess.run(
        [sys.executable, "-m", "imagenet_cli", "synset", "search", "dog", "-n", "1", "-f", "ids"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0
    assert proc.stdout == b"n02084071\n" and proc.stderr == b""


def test_the_library_prints_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from imagenet_cli import synset_index

    os.environ["IMAGENET_CACHE"] = str(tmp_path / "fresh")  # isolated() restores it
    synset_index.open_index().close()
    assert capfd.readouterr() == ("", "")
