"""Reading ids from lists: the one line parser behind ``-``, ``--wnids FILE`` and ``fetch``."""

from __future__ import annotations

import io
from pathlib import Path

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
