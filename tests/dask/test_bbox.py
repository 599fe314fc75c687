"""bbox convert on the cluster: the same bytes as the local run, from a tree and a .tar.gz."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bbox.conftest import BAD, TENCH, good_files, tar_of, write_tree, xml
from tests.conftest import run

from .conftest import tree_bytes

IMAGENET = str(Path(sys.executable).with_name("imagenet"))


def make_inputs(root: Path, count: int = 300) -> tuple[Path, Path]:
    """A folder of good, quirky and bad box files (``count`` extra generated ones),
    and the same files as a .tar.gz."""
    files = good_files()
    for i in range(count):
        files[f"gen/{TENCH}/{TENCH}_{i}.xml"] = xml(
            filename=f"{TENCH}_{i}", objects=[(TENCH, i % 50, 2, 100 + i % 300, 200)]
        ).encode()
    files.update({rel: data for rel, (data, _) in BAD.items()})
    write_tree(root / "tree", files)
    return root / "tree", tar_of(root / "boxes.tar.gz", files, "w:gz")


@pytest.mark.parametrize("fmt", ["csv", "coco", "jsonl", "loc"])
def test_convert_same_as_local(scheduler: str, tmp_path: Path, fmt: str) -> None:
    folder, tgz = make_inputs(tmp_path)
    for source in (folder, tgz):
        local = run(["bbox", "convert", str(source), "-f", fmt, "-j", "2"], expect=1)
        remote = run(
            [
                "bbox",
                "convert",
                str(source),
                "-f",
                fmt,
                "--scheduler",
                scheduler,
                "--batch-size",
                "16",
            ],
            expect=1,
        )
        assert remote.stdout == local.stdout
        assert remote.stderr == local.stderr  # the same warnings and error lines, in order
        assert len(local.stdout) > 10_000
        assert "bad/xxe.xml" in remote.stderr


def test_yolo_same_as_local(scheduler: str, tmp_path: Path) -> None:
    folder, _ = make_inputs(tmp_path, count=50)
    run(["bbox", "convert", str(folder), "-f", "yolo", "--out", str(tmp_path / "l")], expect=1)
    run(
        [
            "bbox",
            "convert",
            str(folder),
            "-f",
            "yolo",
            "--out",
            str(tmp_path / "d"),
            "--scheduler",
            scheduler,
            "--batch-size",
            "8",
        ],
        expect=1,
    )
    local, remote = tree_bytes(tmp_path / "l"), tree_bytes(tmp_path / "d")
    assert len(local) > 50
    # data.yaml names its folder: the rest must be byte for byte the same.
    assert local.pop("data.yaml").replace(b"/l", b"/d") == remote.pop("data.yaml")
    assert local == remote


def test_relative_paths_resolve_from_the_client(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers started elsewhere: relative INPUT paths still reach the files,
    and the output names them as given."""
    make_inputs(tmp_path, count=20)
    monkeypatch.chdir(tmp_path)
    local = run(["bbox", "convert", "tree", "-f", "tsv", "-j", "1"], expect=1)
    remote = run(["bbox", "convert", "tree", "--scheduler", scheduler], expect=1)
    assert remote.stdout == local.stdout
    assert "\ttree/gen/" in remote.stdout


def test_output_file_and_strict(scheduler: str, tmp_path: Path) -> None:
    folder, _ = make_inputs(tmp_path, count=20)
    out = tmp_path / "boxes.csv"
    res = run(
        [
            "bbox",
            "convert",
            str(folder),
            "-f",
            "csv",
            "-o",
            str(out),
            "--strict",
            "--scheduler",
            scheduler,
        ],
        expect=1,
    )
    assert "stopped: --strict" in res.stderr
    assert not out.exists()  # all or nothing


def test_subprocess_local_cluster_pipe(need_dask: object, tmp_path: Path) -> None:
    """`--scheduler local:2` starts and stops its own cluster; `| head` ends quietly."""
    _, tgz = make_inputs(tmp_path, count=2000)
    env = {**os.environ, "IMAGENET_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        f"{IMAGENET} bbox convert {tgz} --scheduler local:2 --batch-size 100 | head -3",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.stdout.splitlines()[0].startswith("image\tfolder\twnid")
    assert len(proc.stdout.splitlines()) == 3
    assert "Traceback" not in proc.stderr
