"""Small real-shaped ImageNet files, named as README.md and docs/ name them.

The docs test runs the documentation's examples in a folder holding these; the loader test
carves a subset out of them. Every image is a real JPEG, every archive a real tar.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path

from imagenet_cli import releases
from imagenet_cli.cache import TAG, TAG_NAME
from imagenet_cli.hierarchy import Hierarchy
from imagenet_cli.subset import image_lists

from .subset.conftest import IMAGENETTE, add_bytes, jpeg

SIZE = (80, 60)
PER_CLASS = 2
SIMCLR_CLASS = "n01443537"  # goldfish: neither an Imagenette nor a dog class


def dog_classes() -> list[str]:
    return list(Hierarchy.default().descendants("n02084071", release="ilsvrc2012"))


def box_xml(folder: str, stem: str, wnid: str) -> str:
    """A PASCAL-VOC annotation as ImageNet writes them: one box inside an 80x60 image."""
    return (
        f"<annotation>\n\t<folder>{folder}</folder>\n\t<filename>{stem}</filename>\n"
        f"\t<size><width>{SIZE[0]}</width><height>{SIZE[1]}</height><depth>3</depth></size>\n"
        f"\t<object>\n\t\t<name>{wnid}</name>\n\t\t<bndbox><xmin>8</xmin><ymin>6</ymin>"
        "<xmax>70</xmax><ymax>54</ymax></bndbox>\n\t</object>\n</annotation>\n"
    )


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name in sorted(members):
            add_bytes(tf, name, members[name])
    return buf.getvalue()


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def _targz(members: dict[str, bytes]) -> bytes:
    return gzip.compress(_tar_bytes(members), mtime=0)


def write_files(root: Path) -> Path:
    """Write the files into ``root`` (and a cache in ``root/cache``); return ``root``."""
    classes = sorted(set(IMAGENETTE) | set(dog_classes()))
    seed = 0
    train: dict[str, dict[str, bytes]] = {}
    for wnid in classes:
        train[wnid] = {}
        for n in range(1, PER_CLASS + 1):
            seed += 1
            train[wnid][f"{wnid}_{n}.JPEG"] = jpeg(seed, SIZE)
    # SimCLR's 1 % images of one more class (docs/subset.md "Image lists"), under their names
    train[SIMCLR_CLASS] = {
        name: jpeg(seed + n, SIZE)
        for n, name in enumerate(image_lists.names("simclr-1pct"), 1)
        if name.startswith(f"{SIMCLR_CLASS}_")
    }
    # the train folder, the train tar of class tars, the train boxes as a folder and a tar.gz
    boxes: dict[str, bytes] = {}
    for wnid, files in train.items():
        for name, data in files.items():
            _write(root / "train" / wnid / name, data)
            stem = name.rsplit(".", 1)[0]
            boxes[f"{wnid}/{stem}.xml"] = box_xml(wnid, stem, wnid).encode()
    with tarfile.open(root / "ILSVRC2012_img_train.tar", "w") as outer:
        for wnid in sorted(train):
            add_bytes(outer, f"{wnid}.tar", _tar_bytes(train[wnid]))
    for name, data in boxes.items():
        _write(root / "Annotation" / name, data)
    _write(root / "ILSVRC2012_bbox_train_v2.tar.gz", _targz(boxes))
    _write(root / "n01440764_18.JPEG", jpeg(9_999, SIZE))
    _write(root / "train" / "n01440764" / "n01440764_18.JPEG", jpeg(9_999, SIZE))
    _write(
        root / "Annotation/n01440764/n01440764_18.xml",
        box_xml("n01440764", "n01440764_18", "n01440764"),
    )
    # validation: the first images of each class in the official order, flat, with their boxes
    labels = releases.val_labels()
    wanted = set(classes)
    val: dict[str, tuple[str, bytes]] = {}  # stem -> (wnid, JPEG)
    for number, wnid in enumerate(labels, 1):
        if wnid in wanted and sum(1 for w, _ in val.values() if w == wnid) < PER_CLASS:
            val[f"ILSVRC2012_val_{number:08d}"] = (wnid, jpeg(50_000 + number, SIZE))
    val_boxes = {
        f"val/{stem}.xml": box_xml("val", stem, w).encode() for stem, (w, _) in val.items()
    }
    for stem, (wnid, data) in val.items():
        _write(root / "val" / f"{stem}.JPEG", data)
        _write(root / "val" / f"{stem}.xml", box_xml("val", stem, wnid))
    with tarfile.open(root / "ILSVRC2012_img_val.tar", "w") as tf:
        for stem in sorted(val):
            add_bytes(tf, f"{stem}.JPEG", val[stem][1])
    _write(root / "ILSVRC2012_bbox_val_v3.tgz", _targz(val_boxes))
    _write_kaggle(root / "kaggle", train, val)
    # the Hugging Face hub's archives: flat files named <image>_<wnid>.JPEG
    hf = {
        f"{name.rsplit('.', 1)[0]}_{wnid}.JPEG": data
        for wnid in IMAGENETTE
        for name, data in train[wnid].items()
    }
    _write(root / "train_images_0.tar.gz", _targz(hf))
    hf_val = {f"{stem}_{wnid}.JPEG": data for stem, (wnid, data) in val.items()}
    _write(root / "val_images.tar.gz", _targz(hf_val))
    _write_shards(root, train, val)
    # a fall11-style URL list (never fetched: the docs mark the downloading examples)
    _write(
        root / "fall11_urls.txt",
        "".join(
            f"{wnid}_{n}\thttp://127.0.0.1:9/{wnid}/{n}.jpg\n"
            for wnid in IMAGENETTE
            for n in range(1, 4)
        ),
    )
    # a model's predictions for three validation images, as docs/eval.md's example writes them
    _write(
        root / "preds.csv",
        "ImageId,PredictionString\nILSVRC2012_val_00000001,n01751748 n01728572 n01729977\n"
        "ILSVRC2012_val_00000002.JPEG,n09193705 n09246464\nILSVRC2012_val_00000003,0 1 n02105855\n",
    )
    # the per-synset box archive `imagenet bbox fetch` keeps in the cache, tagged as imagenet
    # tags the cache folders it makes
    _write(root / "cache" / TAG_NAME, TAG)
    _write(
        root / "cache" / "bbox" / "n01440764.tar.gz",
        _targz({"Annotation/n01440764/n01440764_1.xml": boxes["n01440764/n01440764_1.xml"]}),
    )
    return root


def _write_shards(
    root: Path, train: dict[str, dict[str, bytes]], val: dict[str, tuple[str, bytes]]
) -> None:
    """timm's ``imagenet-1k-wds`` shards and the hub's ``ILSVRC/imagenet-1k`` Parquet files,
    of the Imagenette classes and the validation images."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    ilsvrc = releases.classes("ilsvrc2012")
    rows = [
        (name.rsplit(".", 1)[0], wnid, data)
        for wnid in IMAGENETTE
        for name, data in train[wnid].items()
    ]
    val_rows = [(stem, wnid, data) for stem, (wnid, data) in sorted(val.items())]
    for split, samples in (("train-0000", rows), ("validation-00", val_rows)):
        members = {}
        for key, wnid, data in samples:
            index = ilsvrc.index(wnid)
            members[f"{key}.cls"] = str(index).encode()
            members[f"{key}.jpg"] = data
            meta = {"filename": f"{key}.JPEG", "label": index, "class_name": wnid}
            members[f"{key}.json"] = json.dumps(meta).encode()
        _write(root / "imagenet-1k-wds" / f"imagenet1k-{split}.tar", _tar_bytes(members))
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    for split, samples in (("train", rows), ("validation", val_rows)):
        table = pa.table(
            {
                "image": pa.array(
                    [{"bytes": d, "path": f"{k}_{w}.JPEG"} for k, w, d in samples], type=image
                ),
                "label": pa.array([ilsvrc.index(w) for _, w, _ in samples], type=pa.int64()),
            }
        )
        path = root / "imagenet-1k" / "data" / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, row_group_size=8)


def _write_kaggle(
    root: Path, train: dict[str, dict[str, bytes]], val: dict[str, tuple[str, bytes]]
) -> None:
    """Kaggle's ImageNet Object Localization Challenge, unzipped (the Imagenette classes)."""
    loc = root / "ILSVRC" / "Data" / "CLS-LOC"
    notes = root / "ILSVRC" / "Annotations" / "CLS-LOC"
    rows = ["ImageId,PredictionString"]
    for wnid in IMAGENETTE:
        for name, data in train[wnid].items():
            _write(loc / "train" / wnid / name, data)
            stem = name.rsplit(".", 1)[0]
            _write(notes / "train" / wnid / f"{stem}.xml", box_xml(wnid, stem, wnid))
    for stem, (wnid, data) in sorted(val.items()):
        if wnid in IMAGENETTE:
            _write(loc / "val" / f"{stem}.JPEG", data)
            _write(notes / "val" / f"{stem}.xml", box_xml("val", stem, wnid))
            rows.append(f"{stem},{wnid} 8 6 70 54 ")
    _write(loc / "test" / "ILSVRC2012_test_00000001.JPEG", jpeg(77, SIZE))
    _write(root / "LOC_val_solution.csv", "\n".join(rows) + "\n")
    h = Hierarchy.default()
    _write(
        root / "LOC_synset_mapping.txt",
        "".join(
            f"{w} {', '.join(lemma.replace('_', ' ') for lemma in h.get(w).lemmas)}\n"
            for w in sorted(IMAGENETTE)
        ),
    )


def copy_files(template: Path, dest: Path, index: Path) -> Path:
    """A fresh copy of ``template`` at ``dest``, its cache holding a link to the built index."""
    shutil.copytree(template, dest)
    (dest / "cache" / "index").mkdir(parents=True)
    try:
        os.link(index, dest / "cache" / "index" / index.name)
    except OSError:
        shutil.copy(index, dest / "cache" / "index" / index.name)
    return dest
