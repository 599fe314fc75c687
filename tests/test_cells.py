"""The one cell rule of csv/tsv/table rows, shared by the command's rows and the box writers."""

from __future__ import annotations

import pytest

from imagenet_cli.bbox import FORMATS
from imagenet_cli.ids import cell, tsv_cell

from .conftest import run


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("n01440764", "n01440764"),
        (0, "0"),
        (True, "true"),
        (2.0, "2.0"),
        (0.25, "0.25"),
        (float("nan"), "nan"),
        (1e20, "1e+20"),
        (["a", 1, None], "a,1,"),
    ],
)
def test_cell(value: object, text: str) -> None:
    assert cell(value) == text


def test_tsv_cell_keeps_one_line_per_row() -> None:
    assert tsv_cell("a\tb\r\nc") == "a b  c"


def test_bbox_format_choice_is_the_core_list() -> None:
    help_text = run(["bbox", "convert", "--help"]).stdout
    assert f"--format {'|'.join(FORMATS)}" in help_text
