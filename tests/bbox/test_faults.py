"""bbox convert -f yolo on a full disk: one line, and the rerun writes every file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import resize_disk, run

from .conftest import TENCH, xml

pytestmark = pytest.mark.fault


def test_a_full_disk_stops_yolo_and_the_rerun_completes(
    small_disk: Callable[[int], Path], tmp_path: Path
) -> None:
    boxes = tmp_path / "boxes" / TENCH
    boxes.mkdir(parents=True)
    for i in range(40):
        name = f"{TENCH}_{i}"
        obj = (TENCH, 10 + i, 20, 200, 300)
        (boxes / f"{name}.xml").write_text(xml(filename=name, objects=[obj]))
    args = ["bbox", "convert", str(tmp_path / "boxes"), "-f", "yolo", "-q", "--out"]
    whole = tmp_path / "whole"
    run([*args, str(whole)])

    disk = small_disk(64)  # a page a file on tmpfs: room for a dozen
    out = disk / "yolo"
    res = run([*args, str(out)], expect=1)
    assert "Traceback" not in res.stderr
    assert res.stderr.rstrip().endswith("cannot write: No space left on device"), res.stderr
    assert f"imagenet: error: {out}" in res.stderr
    assert (out / "classes.txt").is_file() and (out / "data.yaml").is_file()
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]

    resize_disk(disk, 4096)
    run([*args, str(out)])
    want = sorted(p.relative_to(whole) for p in whole.rglob("*"))
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == want
    for rel in want:
        if rel.suffix == ".txt":
            assert (out / rel).read_text() == (whole / rel).read_text()
