"""Shards as sources: timm-style WebDataset tars, the hub's Parquet files, and the
shards ``subset extract`` writes; detection, selection, resize, and hostile shards."""

from __future__ import annotations

import io
import json
import random
import sys
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from imagenet_cli import releases
from imagenet_cli.subset.sources import detect_layout, open_source
from tests.conftest import run

from .conftest import IMAGENETTE, Tree, ValSet, add_bytes, jpeg

ILSVRC = releases.classes("ilsvrc2012")
TENCH, SPRINGER = "n01440764", "n02102040"  # the first two Imagenette classes


def images(dst: Path) -> dict[str, bytes]:
    """``split/wnid/name`` -> bytes of every image under DST."""
    return {
        str(p.relative_to(dst)): p.read_bytes()
        for split in ("train", "val")
        if (dst / split).is_dir()
        for p in sorted((dst / split).rglob("*"))
        if p.is_file()
    }


def tree_images(tree: Tree, wnids: list[str] | None = None) -> dict[str, bytes]:
    return {
        f"train/{w}/{n}": data
        for w, files in tree.files.items()
        if wnids is None or w in wnids
        for n, data in files.items()
    }


def extract(src: Path, dst: Path, *extra: str, expect: int = 0) -> str:
    args = ["subset", "extract", "--from", str(src), "--to", str(dst), "-q", *extra]
    return run(args, expect=expect).stderr


def ext_of(data: bytes) -> str:
    return "png" if data.startswith(b"\x89PNG") else "jpg"


def add_sample(tf: tarfile.TarFile, key: str, data: bytes | None, **parts: object) -> None:
    """One WebDataset sample: ``key.cls``, the image, ``key.json`` (as given)."""
    if "cls" in parts:
        add_bytes(tf, f"{key}.cls", str(parts["cls"]).encode())
    if data is not None:
        add_bytes(tf, f"{key}.{parts.get('ext') or ext_of(data)}", data)
    if "json" in parts:
        add_bytes(tf, f"{key}.json", json.dumps(parts["json"]).encode())


def timm_shards(
    root: Path, tree: Tree, val: ValSet | None = None, shards: int = 3, with_json: bool = True
) -> Path:
    """``imagenet1k-train-{0000..}.tar`` (and ``imagenet1k-validation-00.tar``) as timm
    publishes them: samples shuffled across shards, ``.cls`` the ILSVRC-2012 index."""
    root.mkdir(parents=True, exist_ok=True)
    samples = [(w, n, d) for w, files in sorted(tree.files.items()) for n, d in files.items()]
    random.Random(0).shuffle(samples)
    for i in range(shards):
        with tarfile.open(root / f"imagenet1k-train-{i:04d}.tar", "w") as tf:
            for wnid, name, data in samples[i::shards]:
                index = ILSVRC.index(wnid)
                meta = {"filename": name, "label": index, "class_name": "x"}
                parts: dict[str, object] = {"cls": index, **({"json": meta} if with_json else {})}
                add_sample(tf, name.split(".")[0], data, **parts)
    if val is not None:
        with tarfile.open(root / "imagenet1k-validation-00.tar", "w") as tf:
            for name, data in sorted(val.data.items()):
                stem = name.split(".")[0]
                add_sample(tf, stem, data, cls=ILSVRC.index(val.labels[stem]))
    return root


@pytest.fixture
def shards(tree: Tree, val_set: ValSet, tmp_path: Path) -> Path:
    return timm_shards(tmp_path / "wds", tree, val_set)


# -- WebDataset --------------------------------------------------------------------------


def test_timm_shards_are_detected_and_give_the_folder_s_images(
    shards: Path, tree: Tree, tmp_path: Path
) -> None:
    assert detect_layout(shards) == "webdataset"
    assert detect_layout(shards / "imagenet1k-train-0001.tar") == "webdataset"
    extract(shards, tmp_path / "o", "--wnid", TENCH, "--wnid", SPRINGER)
    # names from .json "filename" (the key with ImageNet's .JPEG), bytes as stored
    assert images(tmp_path / "o") == tree_images(tree, [TENCH, SPRINGER])
    rows = (tmp_path / "o" / "classes.tsv").read_text().splitlines()[1:]
    assert [r.split("\t")[:2] for r in rows] == [["0", TENCH], ["1", SPRINGER]]


def test_shards_sample_as_the_folder_does(shards: Path, tree: Tree, tmp_path: Path) -> None:
    """Same names, so the same seeded choice per class as from the train folder."""
    opts = ["--preset", "imagenette", "--per-class", "2", "--seed", "7"]
    extract(tree.root, tmp_path / "folder", *opts)
    extract(shards, tmp_path / "from-shards", *opts)
    got = images(tmp_path / "from-shards")
    assert got == images(tmp_path / "folder") and len(got) == 20


def test_without_json_names_are_key_and_extension(tree: Tree, tmp_path: Path) -> None:
    src = timm_shards(tmp_path / "wds", tree, with_json=False)
    extract(src, tmp_path / "o", "--wnid", TENCH)
    assert images(tmp_path / "o") == {
        f"train/{TENCH}/{n.replace('.JPEG', '.jpg')}": d for n, d in tree.files[TENCH].items()
    }


def test_val_shards_split_and_resize(shards: Path, val_set: ValSet, tmp_path: Path) -> None:
    opts = ["--preset", "ilsvrc2012", "--allow-missing", "--resize", "20"]
    extract(shards, tmp_path / "o", "--split", "val", *opts)
    got = images(tmp_path / "o")
    want = {f"val/{w}/{s}.jpg" for s, w in val_set.labels.items()}  # no .json: <key>.jpg
    assert set(got) == want
    for data in got.values():
        assert min(Image.open(io.BytesIO(data)).size) == 20
    assert set(open_source(shards).splits) == {"train", "val"}


def test_split_folders_and_the_classes_tsv_beside_them(tree: Tree, tmp_path: Path) -> None:
    """The shards ``subset extract`` writes: DST/<split>/*.tar, .cls indexing DST/classes.tsv."""
    dst = tmp_path / "sub"
    (dst / "train").mkdir(parents=True)
    wnids = [SPRINGER, TENCH]  # deliberately not sorted: the file decides
    (dst / "classes.tsv").write_text(
        "index\twnid\tname\n" + "".join(f"{i}\t{w}\tx\n" for i, w in enumerate(wnids))
    )
    (dst / "train.json").write_text("{}")
    (dst / "train" / ".sub-train-000002.tar").write_bytes(b"a killed writer's temp file")
    with tarfile.open(dst / "train" / "sub-train-000000.tar", "w") as tf:
        for wnid in wnids:
            for name, data in tree.files[wnid].items():
                key = name.split(".")[0]
                meta = {"wnid": wnid, "ilsvrc2012_index": ILSVRC.index(wnid), "path": name}
                # the .cls of a sample with a .json is not needed: leave one out
                extra = {"cls": wnids.index(wnid)} if wnid == TENCH else {}
                add_sample(tf, key, data, json=meta, **extra)
    with tarfile.open(dst / "train" / "sub-train-000001.tar", "w") as tf:
        add_sample(tf, "only_cls", jpeg(77), cls=0)  # no .json: index 0 of classes.tsv
    assert detect_layout(dst) == "webdataset"
    extract(dst, tmp_path / "o")
    want = tree_images(tree, wnids)
    want[f"train/{SPRINGER}/only_cls.jpg"] = jpeg(77)
    assert images(tmp_path / "o") == want


def test_hostile_and_broken_samples_are_named_and_the_rest_used(tree: Tree, tmp_path: Path) -> None:
    src = tmp_path / "wds"
    src.mkdir()
    good = tree.files[TENCH]
    shard = src / "x-train-0000.tar"
    with tarfile.open(shard, "w") as tf:
        for name, data in good.items():
            add_sample(tf, name.split(".")[0], data, cls=0)
        add_sample(tf, "no_image", None, cls=0)
        add_sample(tf, "no_label", jpeg(1))
        add_sample(tf, "unknown", jpeg(2), cls=1000)
        add_sample(tf, "words", jpeg(3), cls="tench")
        add_sample(tf, "badjson", jpeg(4), json="[1, 2]")
        add_bytes(tf, "../evil.jpg", jpeg(5))
        add_bytes(tf, "../evil.cls", b"0")
    cut = src / "x-train-0001.tar"
    with tarfile.open(cut, "w") as tf:
        add_sample(tf, f"{TENCH}_1", jpeg(6), cls=0)
        add_sample(tf, f"{TENCH}_2", jpeg(7, (200, 200)), cls=0)
    with tarfile.open(cut) as tf:
        end = tf.getmember(f"{TENCH}_2.jpg").offset_data + 100
    cut.write_bytes(cut.read_bytes()[:end])  # inside the second sample's image
    (src / "y-train-0002.tar").write_bytes(b"not a tar at all" * 40)
    err = extract(src, tmp_path / "o", "--wnid", TENCH, expect=1)
    assert f"{shard}: sample no_image: no image (cls); left out" in err
    assert f"{shard}: sample no_label: no label (.cls, or .json with a wnid); left out" in err
    assert (
        f"{shard}: sample unknown: unknown.cls: class index 1000 is not one of ILSVRC-2012 "
        "(0-999); left out"
    ) in err
    assert f"{shard}: sample words: words.cls: class index 'tench' is not one" in err
    assert f"{shard}: sample badjson: badjson.json is not a JSON object; left out" in err
    assert f"{shard}: member ../evil.jpg: '..' in path refused" in err
    assert f"{cut}: member {TENCH}_2.jpg: the archive ends at byte" in err
    assert "y-train-0002.tar: not a readable tar file" in err
    want = {f"train/{TENCH}/{n.replace('.JPEG', '.jpg')}": d for n, d in good.items()}
    want[f"train/{TENCH}/{TENCH}_1.jpg"] = jpeg(6)
    assert images(tmp_path / "o") == want
    assert not list((tmp_path / "o").rglob("evil*"))


def test_splits_named_by_file_and_unnamed_shards(tree: Tree, tmp_path: Path) -> None:
    src = tmp_path / "wds"
    src.mkdir()
    for name in ("shard-0.tar", "shard-test-0.tar", "data-validation-0.tar"):
        with tarfile.open(src / name, "w") as tf:
            add_sample(tf, f"{TENCH}_{name[:5]}", jpeg(len(name)), cls=0)
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(src),
            "--to",
            str(tmp_path / "o"),
            "--split",
            "val",
            "--dry-run",
            "-f",
            "tsv",
        ],
        expect=1,
    )
    assert f"{src / 'shard-0.tar'}: its name names no split" in res.stderr
    assert "1 test file(s) not used (no labels)" in res.stderr
    assert f"val\t{TENCH}" in res.stdout


def test_link_modes_are_refused_for_shards(shards: Path, tmp_path: Path) -> None:
    err = extract(shards, tmp_path / "o", "--mode", "hardlink", expect=2)
    assert "a shard or tar source can only be copied" in err


def test_a_folder_of_class_tars_is_not_taken_for_shards(tree: Tree, tmp_path: Path) -> None:
    from .conftest import tar_of_tars

    folder = tmp_path / "tars"
    folder.mkdir()
    tar_of_tars(tree, folder / "ILSVRC2012_img_train.tar")
    assert detect_layout(folder / "ILSVRC2012_img_train.tar") == "train-tar"
    with pytest.raises(Exception, match="cannot tell its layout"):
        detect_layout(folder)


# -- Parquet -----------------------------------------------------------------------------

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def write_parquet(path: Path, rows: list[tuple[bytes | None, str | None, int | None]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "image": pa.array([{"bytes": b, "path": p} for b, p, _ in rows], type=IMAGE),
            "label": pa.array([label for *_, label in rows], type=pa.int64()),
        }
    )
    pq.write_table(table, path, row_group_size=3)


def hub_parquet(root: Path, tree: Tree, val: ValSet | None = None, files: int = 2) -> Path:
    """``data/{train,validation,test}-0000N-of-0000M.parquet`` as ``ILSVRC/imagenet-1k``
    holds them: names ``<image>_<wnid>.JPEG``, labels the sorted-wnid index."""
    rows = [
        (d, f"{n.split('.')[0]}_{w}.JPEG", ILSVRC.index(w))
        for w, fs in sorted(tree.files.items())
        for n, d in fs.items()
    ]
    random.Random(1).shuffle(rows)
    for i in range(files):
        write_parquet(root / "data" / f"train-{i:05d}-of-{files:05d}.parquet", rows[i::files])
    if val is not None:
        stems = {n: n.split(".")[0] for n in val.data}
        val_rows = [
            (d, f"{stems[n]}_{val.labels[stems[n]]}.JPEG", ILSVRC.index(val.labels[stems[n]]))
            for n, d in sorted(val.data.items())
        ]
        write_parquet(root / "data" / "validation-00000-of-00001.parquet", val_rows)
        write_parquet(
            root / "data" / "test-00000-of-00001.parquet",
            [(jpeg(9), "ILSVRC2012_test_00000001.JPEG", -1)],
        )
    return root


@pytest.fixture
def hub(tree: Tree, val_set: ValSet, tmp_path: Path) -> Path:
    return hub_parquet(tmp_path / "imagenet-1k", tree, val_set)


def test_hub_parquet_detected_and_the_folder_s_images(
    hub: Path, tree: Tree, tmp_path: Path
) -> None:
    assert detect_layout(hub) == "hf-parquet"
    assert detect_layout(hub / "data") == "hf-parquet"
    args = ["subset", "extract", "--from", str(hub), "--to", str(tmp_path / "o")]
    err = run([*args, "--preset", "imagenette"]).stderr
    assert f"{hub / 'data'}: 1 test file(s) not used (no labels)" in err
    # image.path without the hub's _<wnid> suffix: ImageNet's own names
    assert images(tmp_path / "o") == tree_images(tree, IMAGENETTE)
    opts = ["--preset", "imagenette", "--per-class", "3", "--seed", "3"]
    extract(tree.root, tmp_path / "folder", *opts)
    extract(hub, tmp_path / "hub", *opts)
    assert images(tmp_path / "hub") == images(tmp_path / "folder")


def test_hub_parquet_val_resized_in_processes(hub: Path, val_set: ValSet, tmp_path: Path) -> None:
    opts = ["--preset", "ilsvrc2012", "--allow-missing", "--resize", "24", "-j", "2"]
    extract(hub, tmp_path / "o", "--split", "val", *opts)
    got = images(tmp_path / "o")
    assert set(got) == {f"val/{w}/{s}.JPEG" for s, w in val_set.labels.items()}
    assert all(min(Image.open(io.BytesIO(d)).size) == 24 for d in got.values())


def test_parquet_rows_without_path_label_or_bytes(tmp_path: Path) -> None:
    src = tmp_path / "pq"
    good = src / "train-00000-of-00002.parquet"
    write_parquet(
        good,
        [
            (jpeg(1), None, 0),  # no path: a name of the file and row
            (jpeg(2), "a/b/n01440764_7.JPEG", 0),  # folders dropped
            (jpeg(3), "../../n01440764_7.JPEG", 0),  # same name again: left out, named
            (None, "n01440764_8.JPEG", 0),  # no bytes: that image fails
            (jpeg(4), "x.JPEG", 1000),  # no such class
            (jpeg(5), "y.JPEG", -1),
            (jpeg(6), "z.JPEG", None),
        ],
    )
    bad = src / "train-00001-of-00002.parquet"
    bad.write_bytes(good.read_bytes()[:200])
    res = run(["subset", "extract", "--from", str(src), "--to", str(tmp_path / "o")], expect=1)
    err = res.stderr
    assert f"{good}: row 4: class index 1000 is not one of ILSVRC-2012 (0-999); left out" in err
    assert f"{good}: 2 row(s) have no label (-1 or empty); left out" in err
    assert f"{good}:row 2: would be written under the name of {good}:row 1" in err
    assert f"{bad}: not a readable Parquet file" in err
    assert f"{good}:row 3" in err and "no image bytes" in err
    assert images(tmp_path / "o") == {
        f"train/{TENCH}/train-00000-of-00002_00000000.jpg": jpeg(1),
        f"train/{TENCH}/n01440764_7.JPEG": jpeg(2),
    }
    manifest = (tmp_path / "o" / "manifest.csv").read_text()
    assert f"{good}:row 1" in manifest


def test_parquet_classes_tsv_beside_the_data_folder(tmp_path: Path) -> None:
    src = tmp_path / "sub"
    write_parquet(src / "data" / "val-00000-of-00001.parquet", [(jpeg(1), "v.JPEG", 1)])
    (src / "classes.tsv").write_text(f"index\twnid\tname\n0\t{TENCH}\tt\n1\t{SPRINGER}\ts\n")
    extract(src, tmp_path / "o", "--split", "val")
    assert images(tmp_path / "o") == {f"val/{SPRINGER}/v.JPEG": jpeg(1)}
    (src / "classes.tsv").write_text("index\twnid\tname\n0\tdog\tt\n")
    err = extract(src, tmp_path / "p", "--split", "val", expect=2)
    assert f"{src / 'classes.tsv'}: line 2: expected" in err


def test_the_hub_s_parquet_conversion_split_by_folder(tree: Tree, tmp_path: Path) -> None:
    """``default/<split>/0000.parquet``, as the hub converts a dataset to Parquet."""
    src = tmp_path / "conv"
    rows = [(d, f"{n.split('.')[0]}_{TENCH}.JPEG", 0) for n, d in tree.files[TENCH].items()]
    write_parquet(src / "default" / "train" / "0000.parquet", rows)
    write_parquet(src / "default" / "validation" / "0000.parquet", rows[:1])
    assert detect_layout(src) == "hf-parquet"
    extract(src, tmp_path / "o", "--split", "both")
    want = tree_images(tree, [TENCH])
    first = next(iter(tree.files[TENCH]))
    want[f"val/{TENCH}/{first}"] = tree.files[TENCH][first]
    assert images(tmp_path / "o") == want


def test_without_pyarrow_one_line_says_what_to_install(
    hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyarrow is installed here; a missing one can only be simulated
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    res = run(["subset", "extract", "--from", str(hub), "--to", str(tmp_path / "o")], expect=2)
    assert res.stderr.strip().splitlines() == [
        "imagenet: error: reading Parquet needs pyarrow: pip install 'pyarrow' into this "
        "environment (in a clone: pip install '.[parquet]')"
    ]


def test_a_batch_reads_each_row_group_once_and_answers_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagenet_cli.subset import parquet_source
    from imagenet_cli.subset.items import Job
    from imagenet_cli.subset.plan import Options, WorkItem
    from imagenet_cli.subset.run import process_batch
    from imagenet_cli.subset.sources import SourceFile

    file = tmp_path / "train-00000-of-00001.parquet"
    write_parquet(file, [(jpeg(i), f"{i}.JPEG", 0) for i in range(9)])  # 3 row groups of 3
    reads: list[int] = []
    real = pq.ParquetFile.read_row_group

    def counted(self: pq.ParquetFile, i: int, *args: object, **kw: object) -> pa.Table:
        reads.append(i)
        return real(self, i, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", counted)
    monkeypatch.setattr(parquet_source, "_local", type(parquet_source._local)())
    (tmp_path / "o").mkdir()
    jobs = [
        Job(
            WorkItem("train", TENCH, SourceFile(f"{i}.JPEG", 0, str(file), i // 3, "", i % 3), ""),
            str(tmp_path / "o" / f"{i}.JPEG"),
            Options(),
            fresh=True,
        )
        for i in (8, 0, 4, 7, 1, 3, 6, 2, 5)  # each row group's rows apart
    ]
    results = process_batch(("", jobs))
    assert [r.status for r in results] == ["written"] * 9
    assert [r.bytes for r in results] == [len(jpeg(i)) for i in (8, 0, 4, 7, 1, 3, 6, 2, 5)]
    assert sorted(reads) == [0, 1, 2]
    assert (tmp_path / "o" / "4.JPEG").read_bytes() == jpeg(4)


def test_sample_labels_are_cached_and_read_again_when_a_shard_changes(
    tree: Tree, tmp_path: Path
) -> None:
    import os

    src = timm_shards(tmp_path / "wds", tree, shards=1)

    def classes() -> set[str]:
        res = run(["subset", "extract", "--from", str(src), "--to", str(tmp_path / "o"),
                   "--dry-run", "-f", "tsv", "--no-header", "-q"])  # fmt: skip
        return {line.split("\t")[1] for line in res.lines}

    assert classes() == set(tree.files)
    entries = list((Path(os.environ["IMAGENET_CACHE"]) / "shard-samples").iterdir())
    assert len(entries) == 1 and json.loads(entries[0].read_text())["samples"]
    assert classes() == set(tree.files)  # from the cache: the same answer
    # the same shard rewritten with every sample of one class: read again
    shard = src / "imagenet1k-train-0000.tar"
    with tarfile.open(shard) as tf:
        images = [(m.name, tf.extractfile(m).read()) for m in tf if m.name.endswith(".JPEG")
                  or m.name.endswith((".jpg", ".png"))]  # fmt: skip
    shard.unlink()
    with tarfile.open(shard, "w") as tf:
        for name, data in images:
            add_sample(tf, name.rsplit(".", 1)[0], data, cls=ILSVRC.index(IMAGENETTE[0]))
    assert classes() == {IMAGENETTE[0]}
