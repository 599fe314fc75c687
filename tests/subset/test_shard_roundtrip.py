"""Round trips: a subset written as shards, read back as a source, gives the first
subset's images byte for byte, under the same names and classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run

from .conftest import IMAGENETTE, OTHERS, Tree, ValSet


def files(root: Path) -> dict[str, bytes]:
    """Every image under ``root``'s split folders: ``split/wnid/name`` -> bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for split in ("train", "val")
        if (root / split).is_dir()
        for p in sorted((root / split).rglob("*"))
        if p.is_file()
    }


def extract(src: Path, dst: Path, *more: str) -> None:
    run(["subset", "extract", "--from", str(src), "--to", str(dst), "-q", *more])


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_subset_to_shards_to_subset_gives_the_same_images(
    tree: Tree, tmp_path: Path, fmt: str
) -> None:
    # the quirky class holds a PNG named .JPEG, CMYK, grey, a truncated JPEG ...
    wnids = [arg for w in [*IMAGENETTE[:3], OTHERS[0]] for arg in ("--wnid", w)]
    first, shards, again = tmp_path / "first", tmp_path / "shards", tmp_path / "again"
    extract(tree.root, first, *wnids, "--per-class", "4", "--seed", "3")
    extract(tree.root, shards, *wnids, "--per-class", "4", "--seed", "3",
            "--output-format", fmt, "--samples-per-shard", "5")  # fmt: skip
    extract(shards, again, "--split", "train")
    want, got = files(first), files(again)
    assert len(want) == 4 * 4
    # names: the source's file names come back (a .JPEG written as .jpg in the shard
    # is named by the sample's metadata)
    assert got == want


def test_val_round_trip_keeps_the_validation_names(val_set: ValSet, tmp_path: Path) -> None:
    first, shards, again = tmp_path / "first", tmp_path / "shards", tmp_path / "again"
    common = ["--split", "val", "--layout", "val-folder"]
    extract(val_set.root, first, *common)
    extract(val_set.root, shards, *common, "--output-format", "webdataset")
    extract(shards, again, "--split", "val")
    assert files(again) == files(first) and files(first)
