"""subset extract on the cluster: the same tree and manifest as the local run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run
from tests.subset.conftest import IMAGENETTE, OTHERS, write_tree

from .conftest import tree_bytes


def extract(src: Path, dst: Path, *extra: str, expect: int = 0) -> str:
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(src),
            "--to",
            str(dst),
            "--preset",
            "imagenette",
            "--under",
            "n01440764",
            "-q",
            *extra,
        ],
        expect=expect,
    )
    return res.stderr


@pytest.fixture
def train(tmp_path: Path) -> Path:
    write_tree(tmp_path / "train", sorted(IMAGENETTE + OTHERS), 12)
    return tmp_path / "train"


def test_subset_extract_same_as_local(scheduler: str, train: Path, tmp_path: Path) -> None:
    for name, opts in (("copy", []), ("resize", ["--resize", "24"])):
        extract(train, tmp_path / f"{name}-local", "-j", "2", *opts)
        extract(
            train, tmp_path / f"{name}-dask", "--scheduler", scheduler, "--batch-size", "5", *opts
        )
        local, remote = (
            tree_bytes(tmp_path / f"{name}-local"),
            tree_bytes(tmp_path / f"{name}-dask"),
        )
        assert len(local) == 12 + 4  # images, manifest, classes, settings, lock
        assert local == remote


def test_resume_across_local_and_cluster(scheduler: str, train: Path, tmp_path: Path) -> None:
    """Half by the cluster, the rest locally (and the other way round): the result is
    the uninterrupted local run's."""
    ref = tmp_path / "ref"
    extract(train, ref, "--resize", "24")
    for first, then in ((["--scheduler", scheduler], []), ([], ["--scheduler", scheduler])):
        dst = tmp_path / f"mixed{len(first)}"
        extract(train, dst, "--resize", "24", "--per-class", "5", *first)
        extract(train, dst, "--resize", "24", *then)
        assert tree_bytes(dst) == tree_bytes(ref)


def test_relative_paths(
    scheduler: str, train: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    extract(Path("train"), Path("rel-local"))
    extract(Path("train"), Path("rel-dask"), "--scheduler", scheduler)
    manifest = (tmp_path / "rel-dask" / "manifest.csv").read_text()
    assert ",train/n01440764/" in manifest  # the source as given
    assert tree_bytes(tmp_path / "rel-local") == tree_bytes(tmp_path / "rel-dask")


def test_a_worker_dies_mid_run(own_cluster: tuple[Any, str], train: Path, tmp_path: Path) -> None:
    """One worker process is killed as it starts its second batch: its batches are
    rerun elsewhere and the output is still the local run's."""
    from .plugins import KillOnce

    client, scheduler = own_cluster

    write_tree(tmp_path / "more", sorted(IMAGENETTE), 30, quirks=False)
    extract(tmp_path / "more", tmp_path / "local", "--resize", "24")
    marker = tmp_path / "killed"
    client.register_plugin(KillOnce(str(marker), after=2))
    try:
        pids = set(client.run(os.getpid).values())
        extract(
            tmp_path / "more",
            tmp_path / "dask",
            "--resize",
            "24",
            "--scheduler",
            scheduler,
            "--batch-size",
            "2",
        )
    finally:
        client.unregister_worker_plugin(KillOnce.name)
    assert marker.exists(), "no worker was killed"
    assert int(marker.read_text()) in pids
    assert tree_bytes(tmp_path / "dask") == tree_bytes(tmp_path / "local")


def test_shards_and_parquet_on_the_cluster(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images of WebDataset shards (an offset of a tar) and of Parquet rows (read by
    row group on the worker) come out as from a local run, relative paths included."""
    from tests.subset.test_shard_sources import hub_parquet, timm_shards

    tree = write_tree(tmp_path / "train", sorted(IMAGENETTE + OTHERS), 6)
    timm_shards(tmp_path / "wds", tree)
    hub_parquet(tmp_path / "hub", tree)
    monkeypatch.chdir(tmp_path)
    for src in ("wds", "hub"):
        for name, opts in (("copy", []), ("resize", ["--resize", "24"])):
            local, remote = Path(f"{src}-{name}-local"), Path(f"{src}-{name}-dask")
            extract(Path(src), local, "-j", "2", *opts)
            extract(Path(src), remote, "--scheduler", scheduler, "--batch-size", "4", *opts)
            assert tree_bytes(local) == tree_bytes(remote)
            assert len(tree_bytes(local)) == 6 + 4
