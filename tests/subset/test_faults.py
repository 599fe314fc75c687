"""subset extract on a full disk: one line, nothing half-written, the rerun completes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import resize_disk, run

from .conftest import Tree

pytestmark = pytest.mark.fault


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def run_out_of_space(
    args: list[str], small_disk: Callable[[int], Path], tmp_path: Path
) -> tuple[Path, Path, str]:
    """Run ``args`` whole into ``tmp_path/whole``, then onto a disk a third its size:
    the whole output, the target on the small disk and the failed run's stderr."""
    whole = tmp_path / "whole"
    run([*args, "--to", str(whole)])
    size = sum(len(v) for v in files(whole).values())
    dst = small_disk(max(48, size // 1024 // 3)) / "dst"
    res = run([*args, "--to", str(dst)], expect=1)
    assert "Traceback" not in res.stderr
    assert f"imagenet: error: {dst}" in res.stderr
    return whole, dst, res.stderr


@pytest.mark.parametrize("resize", [False, True])
def test_a_full_disk_stops_subset_and_the_rerun_completes(
    tree: Tree, small_disk: Callable[[int], Path], tmp_path: Path, resize: bool
) -> None:
    args = ["subset", "extract", "--from", str(tree.root), "--preset", "imagenette", "-q"]
    args += ["--resize", "40", "-j", "2"] if resize else []
    whole, dst, stderr = run_out_of_space(args, small_disk, tmp_path)
    assert stderr.rstrip().endswith("cannot write: No space left on device"), stderr
    assert not [p for p in dst.rglob("*") if p.name.endswith(".part")]
    for name, data in files(dst).items():  # whatever is there is whole
        if name not in ("manifest.csv", "classes.tsv", ".imagenet-subset.json"):
            assert data == files(whole)[name]

    resize_disk(dst.parent, 64 * 1024)
    run([*args, "--to", str(dst)])
    assert files(dst) == files(whole)
    assert not [p for p in dst.rglob("*") if p.name.endswith(".part")]


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_a_full_disk_stops_shards_and_the_rerun_completes(
    tree: Tree, small_disk: Callable[[int], Path], tmp_path: Path, fmt: str
) -> None:
    args = ["subset", "extract", "--from", str(tree.root), "--preset", "imagenette", "-q"]
    args += ["--output-format", fmt, "--samples-per-shard", "7"]
    whole, dst, stderr = run_out_of_space(args, small_disk, tmp_path)
    assert "No space left on device" in stderr.rstrip().splitlines()[-1], stderr
    # no temporary shard left, and every shard under its own name is whole
    assert not [p for p in dst.rglob("*") if p.name.startswith(".") and p.is_file()
                and p.name not in (".imagenet-subset.json", ".imagenet-shards.jsonl",
                                   ".imagenet-subset.lock")]  # fmt: skip
    for name, data in files(dst).items():
        if name.endswith((".tar", ".parquet")):
            assert data == files(whole)[name], name

    resize_disk(dst.parent, 64 * 1024)
    run([*args, "--to", str(dst)])
    assert files(dst) == files(whole)
