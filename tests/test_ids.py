"""Reading ids from lists: the one line parser behind ``-``, ``--wnids FILE`` and ``fetch``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from imagenet_cli.errors import NotFoundError
from imagenet_cli.ids import expand_stdin, read_id_lines

from .conftest import run

LIST = (
    "\ufeffn01440764\n"  # a byte order mark, as Windows editors write one
    "n01443537 goldfish, Carassius auratus\n"  # Kaggle's LOC_synset_mapping.txt
    "n01484850  # great white shark\n"
    "02085620,Chihuahua\n"
    "dog.n.01\tdog\n"
    "   \n"
    "# a comment\n"
)
IDS = ["n01440764", "n01443537", "n01484850", "02085620", "dog.n.01"]


def test_first_field_of_each_line_bom_and_comments_left_out(tmp_path: Path) -> None:
    assert list(expand_stdin(["-"], io.StringIO(LIST))) == IDS
    path = tmp_path / "ids.txt"
    path.write_text(LIST, encoding="utf-8")
    assert read_id_lines(str(path)) == list(zip([1, 2, 3, 4, 5], IDS, strict=True))


def test_synset_show_reads_such_a_list_from_stdin() -> None:
    res = run(["synset", "show", "-", "-f", "ids"], input=LIST)
    assert res.lines == ["n01440764", "n01443537", "n01484850", "n02085620", "n02084071"]


def test_dash_with_stdin_closed_is_a_usage_error() -> None:
    import shlex
    import subprocess
    import sys

    exe = shlex.join([sys.executable, "-m", "imagenet_cli"])
    for args in ("synset show - n02084071", "synset map -", "synset tree -"):
        res = subprocess.run(
            ["bash", "-c", f"{exe} {args} <&-"], capture_output=True, text=True, check=False
        )
        assert res.returncode == 2, (args, res.stderr)
        assert (
            res.stderr == "imagenet: error: -: stdin is closed: there are no ids to read from it\n"
        )


class _Spy(io.StringIO):
    """A real text stream that remembers the most it gave at once."""

    most = 0

    def readline(self, size: int | None = -1, /) -> str:
        line = super().readline(size)
        self.most = max(self.most, len(line))
        return line

    def __iter__(self) -> _Spy:
        raise AssertionError("a list is read a bounded line at a time, never iterated whole")


def test_a_huge_line_is_never_held_whole_and_is_echoed_cut_with_its_length(
    tmp_path: Path,
) -> None:
    from imagenet_cli.ids import MAX_LINE

    huge = "n" * (3 * MAX_LINE + 7)
    stream = _Spy(f"n01440764\n{huge}\nn01443537\n")
    try:
        list(expand_stdin(["-"], stream))
    except NotFoundError as exc:
        message = str(exc)
    assert stream.most <= MAX_LINE
    assert message == (
        f"<stdin>: line 2: {'n' * 200}… ({len(huge):,} characters): not a synset id "
        "(a line far longer than any id)"
    )
    # a long note after a good id costs nothing: the id is read
    note = _Spy(f"n01440764 # {'x' * (2 * MAX_LINE)}\nn01443537\n")
    assert list(expand_stdin(["-"], note)) == ["n01440764", "n01443537"]
    assert note.most <= MAX_LINE


@pytest.mark.parametrize("command", ["fetch", "subset"])
def test_a_huge_line_in_an_id_file_is_one_short_line(tmp_path: Path, command: str) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("n01440764\n" + "n" * 2_000_000 + "\n", encoding="utf-8")
    src = tmp_path / "src" / "n01440764"
    src.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(src / "n01440764_1.JPEG")
    src = src.parent
    out = str(tmp_path / "out")
    args = {
        "fetch": ["fetch", "--wnids", str(path), "--urls-only"],
        "subset": ["subset", "extract", "--wnids", str(path), "--to", out, "--from", str(src)],
    }[command]
    res = run(args, expect=3)
    assert f"{path}: line 2: {'n' * 200}… (2,000,000 characters)" in res.stderr
    assert len(res.stderr) < 500


def test_an_echoed_argument_is_cut() -> None:
    res = run(["synset", "show", "x" * 5000], expect=3)
    assert res.stderr.startswith(f"imagenet: error: {'x' * 200}… (5,000 characters): not a")
    res = run(["config", "get", "k" * 5000], expect=2)
    assert f"'{'k' * 200}… (5,000 characters)'" in res.stderr and len(res.stderr) < 600
