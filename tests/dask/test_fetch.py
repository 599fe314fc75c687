"""fetch on the cluster against loopback servers: the local run's files and manifest,
and --per-host / --concurrency held over all workers together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagenet_cli.fetch import terms
from tests.conftest import run
from tests.fetch.server import ImageServer

from .conftest import tree_bytes

FISH = "n01440764"
DOG = "n02084071"
KINDS = ["ok", "gray", "cmyk", "palette", "png", "404", "html", "truncated", "placeholder"]


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ImageServer, ImageServer]]:
    """Two image servers on 127.0.0.1 (two hosts: two ports); lists on the first."""
    one, two = ImageServer().start(), ImageServer().start()
    monkeypatch.setenv("IMAGENET_BASE_URL", one.base)
    terms.accept("Ada Lovelace", "ada@example.edu", "Analytical Engines Lab")
    try:
        yield one, two
    finally:
        one.stop()
        two.stop()


def lists(one: ImageServer, two: ImageServer, count: int) -> None:
    """Both synsets' lists, their URLs alternating between the two hosts."""
    for wnid in (FISH, DOG):
        rows = []
        for i in range(count):
            srv = one if i % 2 else two
            path = f"/img/{KINDS[i]}/x.jpg" if i < len(KINDS) else f"/img/seq/{i}.jpg"
            rows.append((f"{wnid}_{i}", srv.url(path)))
        rows.append((f"{wnid}_r", one.url("/img/redirect/2/x.jpg")))
        one.lists[wnid] = rows


def fetch(out: Path, *extra: str) -> str:
    res = run(["fetch", "--wnid", FISH, "--wnid", DOG, "--out", str(out), "-q", *extra])
    return res.stderr


def test_fetch_same_as_local(
    scheduler: str, servers: tuple[ImageServer, ImageServer], tmp_path: Path
) -> None:
    lists(*servers, 40)
    fetch(tmp_path / "local", "--concurrency", "8")
    fetch(tmp_path / "dask", "--concurrency", "8", "--scheduler", scheduler, "--batch-size", "7")
    local, remote = tree_bytes(tmp_path / "local"), tree_bytes(tmp_path / "dask")
    manifest = local["manifest.jsonl"].decode()
    assert manifest.count("\n") == 82
    assert '"status": "ok"' in manifest and '"status": "http_404"' in manifest
    assert '"status": "placeholder"' in manifest and '"status": "corrupt"' in manifest
    assert local == remote


def test_resume_across_local_and_cluster(
    scheduler: str, servers: tuple[ImageServer, ImageServer], tmp_path: Path
) -> None:
    """A run cut short (here: after the first synset) finished by the other driver
    ends as the uninterrupted run: same files, same manifest."""
    lists(*servers, 30)
    fetch(tmp_path / "ref")
    for first, then in ((["--scheduler", scheduler], []), ([], ["--scheduler", scheduler])):
        dst = tmp_path / f"mixed{len(first)}"
        run(["fetch", "--wnid", FISH, "--out", str(dst), "-q", *first])
        seen = len(servers[0].requests) + len(servers[1].requests)
        fetch(dst, *then)
        fetch(dst, "--scheduler", scheduler)  # nothing left to do
        assert tree_bytes(dst) == tree_bytes(tmp_path / "ref")
        after = len(servers[0].requests) + len(servers[1].requests)
        assert after - seen == 31 + 2  # the dog's 31 URLs (one redirected twice), no more


def test_limits_hold_across_workers(
    scheduler: str, servers: tuple[ImageServer, ImageServer], tmp_path: Path
) -> None:
    """Two workers, each batch running up to 8 threads: still at most 2 requests per
    host and 3 in all at any moment."""
    one, two = servers
    lists(one, two, 60)
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    for srv in (one, two):
        srv.latency = 0.03
        route = srv.route

        def counted(h: object, route: object = route) -> None:
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                route(h)  # type: ignore[operator]
            finally:
                with lock:
                    state["now"] -= 1

        srv.route = counted  # type: ignore[method-assign]
    fetch(
        tmp_path / "out",
        "--per-host",
        "2",
        "--concurrency",
        "3",
        "--scheduler",
        scheduler,
        "--batch-size",
        "8",
    )
    hosts = {**one.max_inflight, **two.max_inflight}
    assert len(hosts) == 2
    assert max(hosts.values()) <= 2, hosts
    assert state["max"] <= 3, state
    assert (tmp_path / "out" / "manifest.jsonl").read_text().count('"status": "ok"') > 100


def test_original_stays_on_the_client() -> None:
    text = run(["fetch", "--help"]).stdout
    words = " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())
    assert "the access key never goes to workers" in words


def test_a_slow_batch_holds_back_no_other_batchs_rows(
    scheduler: str, servers: tuple[ImageServer, ImageServer], tmp_path: Path
) -> None:
    """Batches are recorded as they finish: while the first waits on a slow URL, the
    rows of those behind it are in the manifest already (a kill then loses none)."""
    import contextlib
    import json

    from imagenet_cli.fetch.cluster import fetch_on_cluster
    from imagenet_cli.fetch.download import DownloadOptions
    from imagenet_cli.fetch.item import FetchOptions
    from imagenet_cli.fetch.sources import ImageRef

    one, _ = servers
    one.slow_seconds = 3.0
    refs = [ImageRef(FISH, f"{FISH}_slow", one.url("/img/slow/x.jpg"))]
    refs += [ImageRef(FISH, f"{FISH}_{i}", one.url(f"/img/seq/{i}.jpg")) for i in range(20)]
    out = tmp_path / "out"
    options = FetchOptions(out=out, download=DownloadOptions(concurrency=8, timeout=10))
    results = fetch_on_cluster(refs, options, scheduler, batch_size=3)
    with contextlib.closing(results):  # closed (the cluster released) even on a failure
        first = next(results)  # the slow URL's, in plan order, once its batch is done
        assert first.image_id == f"{FISH}_slow"
        text = (out / "manifest.jsonl").read_text()
        assert text.count("\n") >= 9  # more than its own batch's three
        rest = list(results)
    assert [r.image_id for r in rest] == [r.image_id for r in refs[1:]]
    ids = [json.loads(line)["image_id"] for line in (out / "manifest.jsonl").open()]
    assert ids == [r.image_id for r in refs]  # in list order at the end


def test_shards_on_the_cluster_are_those_of_a_local_run(
    scheduler: str, servers: tuple[ImageServer, ImageServer], tmp_path: Path
) -> None:
    """Downloaded by the workers, packed on the client: the local run's shards, byte
    for byte (and its manifest, naming each image's shard)."""
    lists(*servers, 40)
    shards = ["--output-format", "webdataset", "--shard-size", "30K", "--concurrency", "8"]
    fetch(tmp_path / "local", *shards)
    fetch(tmp_path / "dask", *shards, "--scheduler", scheduler, "--batch-size", "7")
    local, remote = tree_bytes(tmp_path / "local"), tree_bytes(tmp_path / "dask")
    assert local == remote
    assert len([n for n in local if n.endswith(".tar")]) >= 2
    assert '"shard": "train/imagenet-train-000000.tar"' in local["manifest.jsonl"].decode()
