"""subset extract --output-format webdataset|parquet: shards read back by the real loaders,
the same bytes whatever runs them, resumed per shard after a kill."""

from __future__ import annotations

import csv
import importlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import ModuleType

import pytest

from imagenet_cli.errors import UsageError
from imagenet_cli.shards import ShardOptions, parse_size
from imagenet_cli.shards.plan import cut, tar_bytes
from tests.conftest import run

from .conftest import IMAGENETTE, Tree, ValSet, jpeg, write_tree

IMAGENET = str(Path(sys.executable).parent / "imagenet")


def need(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # wids is installed with the tests but needs torch
        pytest.skip(f"{module} cannot be imported ({exc}): `make loaders` installs what it needs")


def extract(src: Path | str, dst: Path, *more: str, expect: int = 0) -> str:
    res = run(
        ["subset", "extract", "--from", str(src), "--to", str(dst), "-q", *more], expect=expect
    )
    return res.stderr


def shard_files(root: Path) -> dict[str, bytes]:
    """Everything a loader reads (and the manifest): shards, lists, classes.tsv."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def classes(dst: Path) -> list[str]:
    with open(dst / "classes.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    return [r["wnid"] for r in rows]


def manifest(dst: Path) -> list[dict[str, str]]:
    with open(dst / "manifest.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def source_bytes(tree: Tree) -> dict[str, bytes]:
    """Sample key -> the image's bytes in the source."""
    return {name.rsplit(".", 1)[0]: data for f in tree.files.values() for name, data in f.items()}


# ---------------------------------------------------------------- the plan


def test_sizes_read_as_people_write_them() -> None:
    assert parse_size("1G") == parse_size("1GB") == 10**9
    assert parse_size("500M") == 500 * 10**6
    assert parse_size("64MiB") == 64 * 2**20
    assert parse_size("1.5k") == 1500
    assert parse_size("123456") == 123456
    for bad in ("", "G", "1X", "-1G", "1iB", "0"):
        with pytest.raises(UsageError):
            parse_size(bad)


def test_a_shard_ends_before_the_sample_that_would_overflow_it() -> None:
    sizes = [1000, 1000, 1000, 5000, 10]
    one = tar_bytes(1000)
    assert cut(sizes, ShardOptions("webdataset", shard_size=2 * one)) == [
        range(0, 2),
        range(2, 3),
        range(3, 4),  # larger than a shard: a shard of its own
        range(4, 5),
    ]
    by_count = ShardOptions("webdataset", samples_per_shard=2)
    assert cut(sizes, by_count) == [range(0, 2), range(2, 4), range(4, 5)]
    assert cut([], by_count) == []


# ---------------------------------------------------------------- webdataset


def test_webdataset_shards_read_back_by_webdataset(tree: Tree, tmp_path: Path) -> None:
    wds = need("webdataset")
    dst = tmp_path / "wds"
    extract(tree.root, dst, "--output-format", "webdataset", "--samples-per-shard", "10")
    wnids = classes(dst)
    listed = json.loads((dst / "train.json").read_text())
    assert listed["__kind__"] == "wids-shard-index-v1" and listed["wids_version"] == 1
    urls = [s["url"] for s in listed["shardlist"]]
    assert urls == [f"train/imagenet-train-{n:06d}.tar" for n in range(len(urls))]
    assert sorted(p.name for p in (dst / "train").iterdir()) == [u[6:] for u in urls]
    data = source_bytes(tree)
    seen = {}
    for url, entry in zip(urls, listed["shardlist"], strict=True):
        samples = list(wds.WebDataset(str(dst / url), shardshuffle=False))
        assert len(samples) == entry["nsamples"]
        for s in samples:
            meta = json.loads(s["json"])
            assert int(s["cls"]) == wnids.index(meta["wnid"])
            assert s["jpg"] == data[s["__key__"]]
            assert meta["source"] == str(tree.root / meta["wnid"] / f"{s['__key__']}.JPEG")
            assert meta["ilsvrc2012_index"] is not None and meta["name"]
            seen[s["__key__"]] = url
    assert set(seen) == set(data)
    rows = manifest(dst)
    assert {r["path"][: -len(".jpg")]: r["shard"] for r in rows} == seen
    assert len(set(seen.values())) == len(urls)
    # shuffled across classes: the first shard is a mix, not the first class
    head = [r["wnid"] for r in rows[:10]]
    assert len(set(head)) > 3, head


def test_tar_headers_carry_nothing_of_the_machine(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "wds"
    extract(tree.root, dst, "--output-format", "webdataset", "--prefix", "in13")
    (shard,) = (dst / "train").iterdir()
    assert shard.name == "in13-train-000000.tar"
    with tarfile.open(shard) as tf:
        members = tf.getmembers()
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {
        (0, 0, 0, "", "", 0o644)
    }
    names = [m.name for m in members]
    for i in range(0, len(names), 3):  # a sample's members together, in name order
        key = names[i].split(".", 1)[0]
        assert names[i : i + 3] == [f"{key}.cls", f"{key}.jpg", f"{key}.json"]
    assert shard.stat().st_size % 10240 == 0


def test_wids_reads_every_sample_through_the_shard_list(tree: Tree, tmp_path: Path) -> None:
    wids = need("wids")
    dst = tmp_path / "wds"
    extract(tree.root, dst, "--output-format", "webdataset", "--samples-per-shard", "7")
    wnids = classes(dst)
    ds = wids.ShardListDataset(str(dst / "train.json"))
    assert len(ds) == len(source_bytes(tree))
    keys = set()
    for i in range(len(ds)):
        sample = ds[i]
        meta = sample[".json"]
        meta = json.loads(meta) if isinstance(meta, bytes | str) else meta
        assert int(sample[".cls"]) == wnids.index(meta["wnid"])
        keys.add(sample["__key__"])
    assert keys == set(source_bytes(tree))


def test_val_keeps_its_order_and_train_follows_the_seed(val_set: ValSet, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tr", sorted(set(val_set.labels.values())), 3, quirks=False)
    args = ["--from", str(val_set.root), "--split", "both", "--output-format", "webdataset"]
    one, two, other = tmp_path / "one", tmp_path / "two", tmp_path / "other"
    extract(tree.root, one, *args)
    extract(tree.root, two, *args)
    extract(tree.root, other, *args, "--seed", "7")
    assert shard_files(one) == shard_files(two)
    rows = manifest(one)
    val = [r["path"] for r in rows if r["split"] == "val"]
    assert val == sorted(val) and val[0] == "ILSVRC2012_val_00000001.jpg"
    assert (one / "val.json").is_file()
    train = [r["path"] for r in rows if r["split"] == "train"]
    again = [r["path"] for r in manifest(other) if r["split"] == "train"]
    assert sorted(train) == sorted(again) and train != again
    assert [r["path"] for r in manifest(other) if r["split"] == "val"] == val


def test_keys_never_hold_a_dot_and_never_meet(tmp_path: Path) -> None:
    wds = need("webdataset")
    src = tmp_path / "src"
    for n, wnid in enumerate(IMAGENETTE[:2]):
        (src / wnid).mkdir(parents=True)
        (src / wnid / "a.b.JPEG").write_bytes(jpeg(n))
        (src / wnid / "same.jpg").write_bytes(jpeg(10 + n))
    dst = tmp_path / "dst"
    extract(src, dst, "--output-format", "webdataset")
    (shard,) = (dst / "train").iterdir()
    keys = sorted(s["__key__"] for s in wds.WebDataset(str(shard), shardshuffle=False))
    assert keys == sorted(f"{w}_{k}" for w in IMAGENETTE[:2] for k in ("a_b", "same"))


# ---------------------------------------------------------------- parquet


def test_parquet_in_the_hubs_layout(tree: Tree, tmp_path: Path) -> None:
    pq = need("pyarrow.parquet")
    dst = tmp_path / "pq"
    extract(tree.root, dst, "--output-format", "parquet", "--samples-per-shard", "30")
    wnids = classes(dst)
    files = sorted((dst / "data").iterdir())
    assert [f.name for f in files] == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]
    data = source_bytes(tree)
    seen = {}
    for f in files:
        meta = pq.read_metadata(f)
        assert all(meta.row_group(g).num_rows <= 100 for g in range(meta.num_row_groups))
        table = pq.read_table(f)
        assert str(table.schema.field("image").type) == "struct<bytes: binary, path: string>"
        assert str(table.schema.field("label").type) == "int64"
        hf = json.loads(table.schema.metadata[b"huggingface"])
        features = hf["info"]["features"]
        assert features["image"] == {"_type": "Image"}
        assert features["label"] == {"_type": "ClassLabel", "names": wnids}
        for row in table.to_pylist():
            key = row["image"]["path"].rsplit(".", 1)[0]
            assert row["image"]["bytes"] == data[key]
            seen[key] = row["label"]
    assert set(seen) == set(data)
    for wnid, files_of in tree.files.items():
        for name in files_of:
            assert seen[name.rsplit(".", 1)[0]] == wnids.index(wnid)
    assert {r["shard"] for r in manifest(dst)} == {f"data/{f.name}" for f in files}


def test_parquet_without_pyarrow_is_one_line(
    tree: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # what an absent module gives
    err = extract(tree.root, tmp_path / "pq", "--output-format", "parquet", expect=2)
    assert err.strip() == (
        "imagenet: error: --output-format parquet needs pyarrow: pip install 'pyarrow' into "
        "this environment (in a clone: pip install '.[parquet]')"
    )
    assert not (tmp_path / "pq").exists()


def test_datasets_loads_both_formats_with_the_class_names(tmp_path: Path) -> None:
    datasets = need("datasets")
    tree = write_tree(tmp_path / "train", sorted(IMAGENETTE), 5, quirks=False)  # all decode
    extract(tree.root, tmp_path / "pq", "--output-format", "parquet", "--samples-per-shard", "20")
    extract(
        tree.root, tmp_path / "wds", "--output-format", "webdataset", "--samples-per-shard", "20"
    )
    wnids = classes(tmp_path / "pq")
    want = {r["path"].rsplit(".", 1)[0]: wnids.index(r["wnid"]) for r in manifest(tmp_path / "pq")}
    cache = str(tmp_path / "hf")
    files = sorted(str(p) for p in (tmp_path / "pq" / "data").iterdir())
    ds = datasets.load_dataset(
        "parquet", data_files={"train": files}, split="train", cache_dir=cache
    )
    assert ds.features["label"].names == wnids
    assert type(ds.features["image"]).__name__ == "Image"
    got = {}
    for row in ds.cast_column("image", datasets.Image(decode=False)):
        got[row["image"]["path"].rsplit(".", 1)[0]] = row["label"]
    assert got == want
    tars = sorted(str(p) for p in (tmp_path / "wds" / "train").iterdir())
    web = datasets.load_dataset(
        "webdataset", data_files={"train": tars}, split="train", cache_dir=cache
    )
    assert type(web.features["jpg"]).__name__ == "Image"
    assert {r["__key__"]: r["cls"] for r in web} == want
    assert {r["__key__"]: r["json"]["wnid"] for r in web} == {k: wnids[v] for k, v in want.items()}


# ---------------------------------------------------------------- the same bytes


def test_every_worker_count_writes_the_same_shards(tree: Tree, tmp_path: Path) -> None:
    for fmt in ("webdataset", "parquet"):
        for resize in ((), ("--resize", "32", "--shard-size", "20k")):
            args = ["--output-format", fmt, *resize]
            args += [] if resize else ["--samples-per-shard", "9"]
            one, two = tmp_path / f"{fmt}{len(resize)}-1", tmp_path / f"{fmt}{len(resize)}-2"
            # resized, the truncated JPEG fails (exit 1): left out of its shard, named
            code = 1 if resize else 0
            err = extract(tree.root, one, *args, "-j", "1", expect=code)
            assert err == extract(
                tree.root, two, *args, "-j", "2", "--batch-size", "5", expect=code
            )
            assert shard_files(one) == shard_files(two)
            assert len([n for n in shard_files(one) if n.endswith((".tar", ".parquet"))]) > 1


def test_the_train_tar_gives_what_the_folder_gives(
    tree: Tree, train_tar: Path, tmp_path: Path
) -> None:
    extract(tree.root, tmp_path / "a", "--output-format", "webdataset", "--preset", "imagenette")
    extract(train_tar, tmp_path / "b", "--output-format", "webdataset", "--preset", "imagenette")
    a, b = shard_files(tmp_path / "a"), shard_files(tmp_path / "b")
    assert [k for k in a if k.endswith(".tar")] == [k for k in b if k.endswith(".tar")]
    for name in a:
        if name.endswith(".tar"):
            with (
                tarfile.open(tmp_path / "a" / name) as ta,
                tarfile.open(tmp_path / "b" / name) as tb,
            ):
                # the same images in the same order; .json names its own source
                assert [m.name for m in ta] == [m.name for m in tb]
                for m in ta:
                    if not m.name.endswith(".json"):
                        assert ta.extractfile(m).read() == tb.extractfile(m).read()  # type: ignore[union-attr]


def test_a_cluster_writes_what_one_process_writes(tree: Tree, tmp_path: Path) -> None:
    need("distributed")
    args = ["--output-format", "webdataset", "--samples-per-shard", "8", "--resize", "32"]
    err = extract(tree.root, tmp_path / "local", *args, "-j", "2", expect=1)  # the truncated one
    assert err == extract(tree.root, tmp_path / "dask", *args, "--scheduler", "local:2", expect=1)
    assert shard_files(tmp_path / "local") == shard_files(tmp_path / "dask")


# ---------------------------------------------------------------- resume


def test_a_rerun_keeps_finished_shards_and_redoes_a_damaged_one(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "wds"
    args = ["--output-format", "webdataset", "--samples-per-shard", "10"]
    extract(tree.root, dst, *args)
    whole = shard_files(dst)
    shards = sorted((dst / "train").iterdir())
    kept = shards[0].stat().st_mtime_ns
    shards[1].write_bytes(shards[1].read_bytes()[:5000])  # a half shard where a whole one was
    shards[2].unlink()
    stray_temp = dst / "train" / f".{shards[3].name}.{os.uname().nodename}.999999999-1.part"
    stray_temp.write_bytes(b"half")
    (dst / "train" / "imagenet-train-000099.tar").write_bytes(b"")  # not of this plan
    res = run(["subset", "extract", "--from", str(tree.root), "--to", str(dst), *args])
    assert f"in {dst} (6 shards): 20 written, 37 already there" in res.stderr
    assert "also holds 1 shard(s) this run does not write" in res.stderr
    (dst / "train" / "imagenet-train-000099.tar").unlink()
    assert shard_files(dst) == whole
    assert shards[0].stat().st_mtime_ns == kept
    assert not stray_temp.exists()


def test_other_settings_or_another_plan_are_refused(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "wds"
    extract(tree.root, dst, "--output-format", "webdataset", "--samples-per-shard", "10")
    err = extract(
        tree.root, dst, "--output-format", "webdataset", "--samples-per-shard", "5", expect=2
    )
    assert f"{dst} was written with other settings" in err and "samples_per_shard=10" in err
    err = extract(tree.root, dst, "--output-format", "parquet", expect=2)
    assert "output_format=webdataset" in err
    err = extract(tree.root, dst, expect=2)  # a folder into a folder of shards
    assert "other settings" in err
    err = extract(
        tree.root, dst, "--output-format", "webdataset", "--samples-per-shard", "10",
        "--per-class", "2", expect=2,
    )  # fmt: skip
    assert f"--to {dst} holds shards of another plan" in err
    folder = tmp_path / "folder"
    extract(tree.root, folder)
    err = extract(tree.root, folder, "--output-format", "webdataset", expect=2)
    assert "other settings" in err


def test_shard_options_that_do_not_fit_are_refused(tree: Tree, tmp_path: Path) -> None:
    dst = str(tmp_path / "x")
    cases = [
        (["--shard-size", "1G"], "--shard-size goes with --output-format webdataset or parquet"),
        (["--output-format", "webdataset", "--shard-size", "1Q"], "--shard-size 1Q: give bytes"),
        (["--output-format", "webdataset", "--shard-size", "1G", "--samples-per-shard", "3"],
         "not both"),
        (["--output-format", "webdataset", "--mode", "hardlink"], "does not go with --mode"),
        (["--output-format", "webdataset", "--prefix", "a.b"], "--prefix 'a.b'"),
        (["--output-format", "parquet", "--bbox", str(tree.root)], "--bbox writes annotation"),
    ]  # fmt: skip
    for args, message in cases:
        res = run(["subset", "extract", "--from", str(tree.root), "--to", dst, *args], expect=2)
        assert message in res.stderr, (args, res.stderr)
    assert not Path(dst).exists()


@pytest.mark.fault
def test_kill_9_then_the_rerun_gives_the_shards_of_one_run(tmp_path: Path) -> None:
    big = write_tree(tmp_path / "big", sorted(IMAGENETTE), 40, quirks=False)
    for wnid in big.files:  # larger images: resizing takes long enough to be cut short
        for n, name in enumerate(big.files[wnid]):
            (big.root / wnid / name).write_bytes(jpeg(n, (320, 240)))
    args = ["subset", "extract", "--from", str(big.root), "--output-format", "webdataset"]
    args += ["--samples-per-shard", "8", "--resize", "96", "-j", "2", "-q"]
    env = dict(os.environ)
    whole = tmp_path / "whole"
    subprocess.run([IMAGENET, *args, "--to", str(whole)], check=True, env=env, timeout=300)
    want = shard_files(whole)
    total = len(list((whole / "train").iterdir()))

    dst = tmp_path / "dst"
    proc = subprocess.Popen(
        [IMAGENET, *args, "--to", str(dst)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # kill -9 of the group takes its workers too
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (dst / "train").is_dir() and len(list((dst / "train").glob("*.tar"))) >= 3:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    finished = sorted((dst / "train").glob("*.tar"))
    assert 3 <= len(finished) < total  # stopped in the middle
    for shard in finished:  # whatever looks finished is
        assert shard.read_bytes() == want[f"train/{shard.name}"]
    assert not (dst / "manifest.csv").exists()
    subprocess.run([IMAGENET, *args, "--to", str(dst)], check=True, env=env, timeout=300)
    assert shard_files(dst) == want
    assert not [p for p in dst.rglob("*") if p.name.endswith(".part")]


def test_tar_headers_built_directly_are_tarfiles_own() -> None:
    import random
    import string

    from imagenet_cli.shards.writers import MODE, MTIME, member_header

    rng = random.Random(0)
    letters = string.ascii_letters + string.digits + "._-/é"
    for _ in range(2000):
        name = "".join(rng.choice(letters) for _ in range(rng.randint(1, 120)))
        size = rng.choice([0, 1, 511, 512, 513, rng.randint(0, 10**10), 8**11 + 5])
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, MTIME, MODE
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        assert member_header(name, size) == info.tobuf(
            tarfile.PAX_FORMAT, "utf-8", "surrogateescape"
        ), (name, size)
