"""fetch --output-format webdataset|parquet against a loopback server: what is kept goes
into the shards (read back by tarfile, webdataset and pyarrow), what is refused stays in
the manifest; the same shards whatever -j, after a kill, on a rerun."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run

from .conftest import DOG, FISH
from .server import ImageServer, jpeg

IMAGENET = str(Path(sys.executable).parent / "imagenet")
WDS = ["--output-format", "webdataset"]


def seq(wnid: str, i: int) -> int:
    """The server's image number of a synset's i-th URL (each image its own bytes)."""
    return i + (1000 if wnid == DOG else 0)


def lists(server: ImageServer, n: int = 12, slow: bool = False) -> None:
    """Both synsets: ``n`` images each, one refused by X-Robots-Tag, one gone (404);
    with ``slow``, a slow image first in the fish's list."""
    server.robots_tags = {"no": ["noai"]}
    for wnid in (FISH, DOG):
        rows = [(f"{wnid}_{i}", server.url(f"/img/seq/{seq(wnid, i)}.jpg")) for i in range(n)]
        rows.insert(3, (f"{wnid}_refused", server.url("/img/robots/no/x.jpg")))
        rows.append((f"{wnid}_gone", server.url("/img/404/x.jpg")))
        if slow and wnid == FISH:
            rows.insert(0, (f"{wnid}_slow", server.url("/img/slow/x.jpg")))
        server.lists[wnid] = rows


def args(out: Path, *extra: str) -> list[str]:
    return ["fetch", "--wnid", FISH, "--wnid", DOG, "--out", str(out), "-q", "--retries", "0",
            *extra]  # fmt: skip


def fetch(out: Path, *extra: str, expect: int = 0) -> str:
    return run(args(out, *extra), expect=expect).stderr


def image_hits(server: ImageServer) -> int:
    with server.lock:
        return sum(n for k, n in server.counts.items())


def output(root: Path) -> dict[str, bytes]:
    """Everything a run leaves for people and loaders: shards, lists, classes, manifest."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def classes(out: Path) -> list[dict[str, str]]:
    with open(out / "classes.tsv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def manifest(out: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return {r["image_id"]: r for r in rows}


def tar_samples(out: Path) -> list[tuple[str, dict[str, bytes]]]:
    """Each shard's samples, in shard order: (shard name, {suffix: bytes})."""
    found = []
    for shard in sorted((out / "train").glob("*.tar")):
        groups: dict[str, dict[str, bytes]] = defaultdict(dict)
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                key, _, suffix = member.name.partition(".")
                data = tar.extractfile(member)
                assert data is not None
                groups[key][suffix] = data.read()
                groups[key]["__key__"] = key.encode()
        found += [(f"train/{shard.name}", g) for g in groups.values()]
    return found


def test_webdataset_holds_what_was_kept_and_the_manifest_the_rest(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    lists(base_env)
    out = tmp_path / "out"
    fetch(out, *WDS, "--samples-per-shard", "5")
    listed = json.loads((out / "train.json").read_text())
    assert [s["url"] for s in listed["shardlist"]] == [
        f"train/imagenet-train-{n:06d}.tar" for n in range(5)
    ]
    assert [s["nsamples"] for s in listed["shardlist"]] == [5, 5, 5, 5, 4]
    named = classes(out)
    assert [(c["index"], c["wnid"]) for c in named] == [("0", FISH), ("1", DOG)]
    names = {c["wnid"]: c["name"] for c in named}
    rows = manifest(out)
    samples = tar_samples(out)
    assert len(samples) == 24
    for shard, sample in samples:
        key = sample["__key__"].decode()
        meta = json.loads(sample["json"])
        wnid, i = meta["wnid"], int(key.rsplit("_", 1)[1])
        assert key == f"{wnid}_{i}"
        assert sample["jpg"] == jpeg(seed=seq(wnid, i))
        assert int(sample["cls"]) == [c["wnid"] for c in named].index(wnid)
        assert meta == {
            "wnid": wnid,
            "ilsvrc2012_index": 0 if wnid == FISH else None,
            "name": names[wnid],
            "url": base_env.url(f"/img/seq/{seq(wnid, i)}.jpg"),
            "width": 64,
            "height": 48,
        }
        assert (rows[key]["status"], rows[key]["shard"], rows[key]["path"]) == (
            "ok", shard, f"{key}.jpg",
        )  # fmt: skip
    wnids = [json.loads(s["json"])["wnid"] for _, s in samples]
    assert wnids != sorted(wnids)  # shuffled across classes
    for wnid in (FISH, DOG):  # refused or gone: in the manifest, in no shard
        assert rows[f"{wnid}_refused"]["status"] == "robots_disallowed"
        assert rows[f"{wnid}_gone"]["status"] == "http_404"
        assert rows[f"{wnid}_refused"]["shard"] is rows[f"{wnid}_gone"]["shard"] is None
    assert len(rows) == 28
    assert not (out / ".staging").exists()  # the shards are the output
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]

    wds = pytest.importorskip("webdataset")
    urls = [str(out / s["url"]) for s in listed["shardlist"]]
    read = list(wds.WebDataset(urls, shardshuffle=False).to_tuple("__key__", "cls", "json"))
    assert [(k, int(c)) for k, c, _ in read] == [
        (s["__key__"].decode(), int(s["cls"])) for _, s in samples
    ]


def test_parquet_in_the_hubs_layout(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    lists(base_env)
    out = tmp_path / "out"
    fetch(out, "--output-format", "parquet", "--samples-per-shard", "10")
    files = sorted(p.name for p in (out / "data").iterdir())
    assert files == [f"train-{n:05d}-of-00003.parquet" for n in range(3)]
    wnids = [c["wnid"] for c in classes(out)]
    rows = manifest(out)
    seen = []
    for name in files:
        table = pq.read_table(out / "data" / name)
        features = json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]
        assert features["label"] == {"_type": "ClassLabel", "names": wnids}
        for record in table.to_pylist():
            key = record["image"]["path"].rsplit(".", 1)[0]
            wnid = key.rsplit("_", 1)[0]
            assert record["label"] == wnids.index(wnid)
            assert record["image"]["bytes"] == jpeg(seed=seq(wnid, int(key.rsplit("_", 1)[1])))
            assert rows[key]["shard"] == f"data/{name}"
            seen.append(key)
    assert sorted(seen) == sorted(f"{w}_{i}" for w in (FISH, DOG) for i in range(12))
    assert not (out / "train.json").exists()


def test_every_worker_count_gives_the_same_shards(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    lists(base_env, 40)
    runs = []
    for workers in ("1", "2"):
        out = tmp_path / f"j{workers}"
        fetch(out, *WDS, "--shard-size", "20K", "-j", workers, "--concurrency", "8")
        runs.append(output(out))
    assert runs[0] == runs[1]
    assert len([n for n in runs[0] if n.endswith(".tar")]) >= 3


def test_a_rerun_downloads_nothing_and_a_lost_shard_only_its_images(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    lists(base_env)
    out = tmp_path / "out"
    fetch(out, *WDS, "--samples-per-shard", "5", "--seed", "3")
    want = output(out)
    base_env.counts.clear()
    fetch(out, *WDS, "--samples-per-shard", "5", "--seed", "3")
    assert image_hits(base_env) == 0
    assert output(out) == want
    lost = out / "train" / "imagenet-train-000002.tar"
    in_lost = {s["__key__"].decode() for shard, s in tar_samples(out) if shard.endswith("2.tar")}
    lost.unlink()
    res = run([a for a in args(out, *WDS, "--samples-per-shard", "5", "--seed", "3") if a != "-q"])
    assert "24 images in 5 shards (1 written by this run)" in res.stderr
    assert image_hits(base_env) == len(in_lost) == 5
    assert output(out) == want


def test_another_plan_over_the_shards_is_refused_before_any_download(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    lists(base_env)
    out = tmp_path / "out"
    fetch(out, *WDS, "--samples-per-shard", "5")
    want = output(out)
    base_env.counts.clear()
    for extra in (
        ["--samples-per-shard", "6"],
        ["--samples-per-shard", "5", "--seed", "1"],
        ["--samples-per-shard", "5", "--limit", "6"],
        ["--output-format", "parquet"],
    ):
        more = extra if extra[0] == "--output-format" else [*WDS, *extra]
        res = run(args(out, *more), expect=2)
        line = res.stderr.strip().splitlines()[-1]
        assert line.startswith(f"imagenet: error: --out {out} holds shards of another plan")
        assert image_hits(base_env) == 0
    assert output(out) == want
    fetch(tmp_path / "other", *WDS, "--samples-per-shard", "6")  # a new folder is fine


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--urls-only", *WDS], "--output-format webdataset does not go with --urls-only"),
        (["--shard-size", "1G"], "--shard-size goes with --output-format webdataset or parquet"),
        ([*WDS, "--shard-size", "1X"], "--shard-size 1X: give bytes"),
        ([*WDS, "--prefix", "a.b"], "--prefix 'a.b'"),
        ([*WDS, "--original"], "does not go with --original"),
    ],
)
def test_options_that_do_not_fit_are_refused(
    base_env: ImageServer, accepted: object, tmp_path: Path, extra: list[str], message: str
) -> None:
    lists(base_env)
    res = run(args(tmp_path / "out", *extra), expect=2)
    assert message in res.stderr
    assert image_hits(base_env) == 0


# ------------------------------------------------------------------ kill -9


def start(out: Path, *extra: str) -> subprocess.Popen[bytes]:
    # Its own session, so that kill -9 of the group also takes its worker processes.
    return subprocess.Popen(
        [IMAGENET, *args(out, *extra)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    assert proc.poll() is None, "the run ended before the kill"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.fault
def test_kill_9_during_the_downloads_then_the_rerun_gives_the_same_shards(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    """A slow image holds the run in its downloads: killed there, no shard is written;
    the rerun fetches the slow one only and packs what one run packs."""
    lists(base_env, 40, slow=True)
    base_env.slow_seconds = 3.0
    extra = [*WDS, "--shard-size", "20K", "--concurrency", "8"]
    whole = tmp_path / "whole"
    subprocess.run([IMAGENET, *args(whole, *extra)], check=True, timeout=120)
    base_env.counts.clear()
    out = tmp_path / "out"
    proc = start(out, *extra)
    deadline = time.monotonic() + 60
    while len(list(out.glob(".staging/*/*.jpg"))) < 80 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the last rows on their way; the slow image has seconds to go
    kill(proc)
    assert not (out / "train").exists() and not (out / "train.json").exists()
    subprocess.run([IMAGENET, *args(out, *extra)], check=True, timeout=120)
    with base_env.lock:
        hits = dict(base_env.counts)
    assert hits.pop("slow/x.jpg") == 2  # the killed run's and the rerun's
    # nothing the killed run recorded asked again (two synsets share the refused URLs)
    assert {k: n for k, n in hits.items() if not k.startswith("seq/")} == {
        "robots/no/x.jpg": 2,
        "404/x.jpg": 2,
    }
    assert len(hits) == 82 and all(n == 1 for k, n in hits.items() if k.startswith("seq/"))
    assert output(out) == output(whole)


def noise_jpeg(seed: int) -> bytes:
    """A JPEG of noise: large for its pixels (packing it takes a while)."""
    from PIL import Image

    data = bytes((seed * 7919 + i * 104729) % 251 for i in range(400 * 300 * 3))
    buf = io.BytesIO()
    Image.frombytes("RGB", (400, 300), data).save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.mark.fault
def test_kill_9_during_packing_then_the_rerun_gives_the_same_shards(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    n = 120
    for i in range(n):
        base_env.images[f"noise{i}"] = noise_jpeg(i)
    for k, wnid in enumerate((FISH, DOG)):
        base_env.lists[wnid] = [
            (f"{wnid}_{i}", base_env.url(f"/img/noise{i}/x.jpg")) for i in range(k, n, 2)
        ]
    extra = [*WDS, "--samples-per-shard", "1"]
    whole = tmp_path / "whole"
    subprocess.run([IMAGENET, *args(whole, *extra)], check=True, timeout=120)
    want = output(whole)
    out = tmp_path / "out"
    proc = start(out, *extra)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (out / "train").is_dir() and len(list((out / "train").glob("*.tar"))) >= 3:
            break
        time.sleep(0.002)
    kill(proc)
    finished = sorted((out / "train").glob("*.tar"))
    assert 3 <= len(finished) < n  # stopped in the middle
    for shard in finished:  # whatever looks finished is
        assert shard.read_bytes() == want[f"train/{shard.name}"]
    assert not (out / "train.json").exists()
    base_env.counts.clear()
    subprocess.run([IMAGENET, *args(out, *extra)], check=True, timeout=120)
    assert image_hits(base_env) == 0  # the staged images were all there
    assert output(out) == want
    assert not (out / ".staging").exists()


def test_a_csv_manifest_gets_a_shard_column(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    lists(base_env)
    out, book = tmp_path / "out", tmp_path / "rows.csv"
    fetch(out, *WDS, "--samples-per-shard", "5", "--manifest", str(book))
    with open(book, encoding="utf-8", newline="") as fh:
        rows = {r["image_id"]: r for r in csv.DictReader(fh)}
    assert len(rows) == 28
    assert rows[f"{FISH}_0"]["shard"].startswith("train/imagenet-train-")
    assert rows[f"{FISH}_0"]["path"] == f"{FISH}_0.jpg"
    assert rows[f"{FISH}_refused"]["shard"] == ""
    want = output(out)
    base_env.counts.clear()
    fetch(out, *WDS, "--samples-per-shard", "5", "--manifest", str(book))
    assert image_hits(base_env) == 0
    assert output(out) == want
