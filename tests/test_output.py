"""The output layer: rows, and what happens when stdout refuses them."""

from __future__ import annotations

import errno
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagenet_cli.cli.output import OutputError, emit_rows
from imagenet_cli.errors import UsageError


class _Full(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_refused_write_is_one_error_but_a_failing_row_source_is_its_own() -> None:
    with pytest.raises(OutputError, match=r"^cannot write to the output: No space left"):
        emit_rows([{"wnid": "n02084071"}], ["wnid"], "tsv", out=_Full())

    def rows() -> Iterator[dict[str, str]]:
        yield {"wnid": "n02084071"}
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "ids.txt")

    with pytest.raises(FileNotFoundError):
        emit_rows(rows(), ["wnid"], "csv", out=io.StringIO())


def test_ids_of_rows_without_an_id_column_are_refused_not_none() -> None:
    with pytest.raises(UsageError, match="--format ids"):
        emit_rows([{"name": "imagewoof"}], ["name", "count"], "ids", out=io.StringIO())


def test_counted_agrees_with_its_number() -> None:
    from imagenet_cli.cli.output import counted

    assert counted(1, "box", "boxes") == "1 box"
    assert counted(0, "box", "boxes") == "0 boxes"
    assert counted(2000, "image") == "2,000 images"


def test_a_table_shows_values_as_they_are_not_as_markup(isolated: Path) -> None:
    from .conftest import run

    cache = isolated / "cache"
    for name in ("[i]notes", "[bold]mine"):
        (cache / name).mkdir()
    res = run(["cache", "info", "-f", "table"])
    names = [line.split()[0] for line in res.lines[1:]]
    assert "[i]notes" in names and "[bold]mine" in names, res.stdout
    terms = {"name": "[red]Ada", "email": "a@uni.edu", "organization": "[/]"}
    run(["terms", "accept", "--yes", *(f"--{k}={v}" for k, v in terms.items())])
    out = run(["terms", "status", "-f", "table"]).stdout
    assert "[red]Ada" in out and "[/]" in out, out


def test_messages_show_control_characters_escaped() -> None:
    # An id, a file name or a server's reason may hold an escape sequence: raw, it would
    # drive the user's terminal (colours, a cleared screen, a changed title).
    from tests.conftest import run

    res = run(["synset", "show", "\x1b[2Jred\x07"], expect=3)
    assert "\x1b" not in res.stderr and "\x07" not in res.stderr
    assert res.stderr.startswith("imagenet: error: \\x1b[2Jred\\x07: not a synset id")
