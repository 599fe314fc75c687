"""Writers: each format read back gives the same boxes (hypothesis round trip),
COCO loads in pycocotools, YOLO follows the ultralytics layout, loc is Kaggle's CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from imagenet_cli.bbox.records import COLUMNS, Annotation, Box
from imagenet_cli.bbox.writers import CocoWriter, make_writer

Corners = tuple[str, int, int, int, int]


def _write(fmt: str, anns: list[Annotation], **kw: object) -> str:
    out = io.StringIO()
    writer = make_writer(fmt, out, None, **kw)  # type: ignore[arg-type]
    for ann in anns:
        writer.write(ann)
    writer.close()
    return out.getvalue()


# ------------------------------------------------ readers, independent of the writers


def read_rows(text: str, sep: str) -> dict[str, list[Corners]]:
    found: dict[str, list[Corners]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(text), delimiter=sep):
        if row["wnid"]:
            found[row["image"]].append(
                (
                    row["wnid"],
                    int(row["xmin"]),
                    int(row["ymin"]),
                    int(row["xmax"]),
                    int(row["ymax"]),
                )
            )
    return dict(found)


def read_json_docs(docs: list[dict[str, object]]) -> dict[str, list[Corners]]:
    found: dict[str, list[Corners]] = defaultdict(list)
    for doc in docs:
        for b in doc["boxes"]:  # type: ignore[attr-defined]
            found[doc["image"]].append((b["wnid"], b["xmin"], b["ymin"], b["xmax"], b["ymax"]))  # type: ignore[index]
    return dict(found)


def read_loc(text: str) -> dict[str, list[Corners]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["ImageId", "PredictionString"]
    found: dict[str, list[Corners]] = {}
    for image, pred in rows[1:]:
        parts = pred.split()
        assert len(parts) % 5 == 0
        found[image] = [
            (parts[i], int(parts[i + 1]), int(parts[i + 2]), int(parts[i + 3]), int(parts[i + 4]))
            for i in range(0, len(parts), 5)
        ]
    return found


def read_coco(text: str) -> dict[str, list[Corners]]:
    from pycocotools.coco import COCO

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(text)
    try:
        coco = COCO(fh.name)
    finally:
        os.unlink(fh.name)
    cats = {c["id"]: c["wnid"] for c in coco.loadCats(coco.getCatIds())}
    found: dict[str, list[Corners]] = {}
    for img in coco.loadImgs(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        anns.sort(key=lambda a: a["id"])
        image = img["file_name"].removesuffix(".JPEG")
        found[image] = [
            (
                cats[a["category_id"]],
                a["bbox"][0],
                a["bbox"][1],
                a["bbox"][0] + a["bbox"][2],
                a["bbox"][1] + a["bbox"][3],
            )
            for a in anns
        ]
    return found


def read_yolo(folder: Path, sizes: dict[str, tuple[int, int]]) -> dict[str, list[Corners]]:
    classes = (folder / "classes.txt").read_text().split()
    found: dict[str, list[Corners]] = {}
    for label in sorted((folder / "labels").glob("*.txt")):
        w, h = sizes[label.stem]
        boxes = []
        for line in label.read_text().splitlines():
            c, cx, cy, bw, bh = line.split()
            fx, fy, fw, fh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
            boxes.append(
                (
                    classes[int(c)],
                    round(fx - fw / 2),
                    round(fy - fh / 2),
                    round(fx + fw / 2),
                    round(fy + fh / 2),
                )
            )
        found[label.stem] = boxes
    return found


# ---------------------------------------------------------------- strategies

wnids = st.sampled_from(["n01440764", "n02102040", "n02979186", "n03000684"])


@st.composite
def annotations(draw: st.DrawFn) -> list[Annotation]:
    count = draw(st.integers(1, 6))
    anns = []
    for i in range(count):
        w, h = draw(st.integers(1, 2000)), draw(st.integers(1, 2000))
        boxes = []
        for _ in range(draw(st.integers(1, 4))):
            x0, x1 = sorted((draw(st.integers(0, w)), draw(st.integers(0, w))))
            y0, y1 = sorted((draw(st.integers(0, h)), draw(st.integers(0, h))))
            boxes.append(
                Box(
                    draw(wnids),
                    x0,
                    y0,
                    x1,
                    y1,
                    0,
                    0,
                    draw(st.sampled_from(["Unspecified", "Left", None])),
                )
            )
        anns.append(Annotation(f"img_{i}", "n01440764", w, h, 3, f"src/img_{i}.xml", tuple(boxes)))
    return anns


def expected(anns: list[Annotation]) -> dict[str, list[Corners]]:
    return {a.image: [(b.wnid, b.xmin, b.ymin, b.xmax, b.ymax) for b in a.boxes] for a in anns}


@settings(max_examples=40, deadline=None)
@given(anns=annotations())
def test_round_trip_every_format(anns: list[Annotation]) -> None:
    want = expected(anns)
    assert read_rows(_write("csv", anns), ",") == want
    assert read_rows(_write("tsv", anns), "\t") == want
    assert read_json_docs(json.loads(_write("json", anns))) == want
    assert read_json_docs([json.loads(line) for line in _write("jsonl", anns).splitlines()]) == want
    assert read_loc(_write("loc", anns)) == want
    assert read_coco(_write("coco", anns)) == want
    with tempfile.TemporaryDirectory() as tmp:
        writer = make_writer("yolo", None, tmp)
        for ann in anns:
            writer.write(ann)
        writer.close()
        sizes = {a.image: (a.width or 0, a.height or 0) for a in anns}
        got = read_yolo(Path(tmp), sizes)
    # YOLO keeps 6 decimals of a fraction: within a pixel on images up to 2000 px.
    assert got.keys() == want.keys()
    for image, boxes in want.items():
        assert len(got[image]) == len(boxes)
        for (wa, *ca), (wb, *cb) in zip(got[image], boxes, strict=True):
            assert wa == wb and all(abs(a - b) <= 1 for a, b in zip(ca, cb, strict=True))


SAMPLE = [
    Annotation(
        "ILSVRC2012_val_00000001",
        "val",
        500,
        375,
        3,
        "v/1.xml",
        (Box("n01751748", 111, 108, 441, 352, 0, 0, "Unspecified"),),
    ),
    Annotation(
        "ILSVRC2012_val_00000002",
        "val",
        500,
        333,
        3,
        "v/2.xml",
        (
            Box("n09193705", 1, 1, 499, 332, 0, 0, None),
            Box("n09193705", 10, 20, 30, 40, 1, 0, None),
        ),
    ),
    Annotation("ILSVRC2012_val_00000003", "val", 500, 375, 3, "v/3.xml", ()),
]


def test_csv_columns_and_keep_empty() -> None:
    text = _write("csv", SAMPLE, keep_empty=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert rows[1] == [
        "ILSVRC2012_val_00000001",
        "val",
        "n01751748",
        "111",
        "108",
        "441",
        "352",
        "500",
        "375",
        "3",
        "0",
        "0",
        "Unspecified",
        "v/1.xml",
    ]
    assert rows[-1] == [
        "ILSVRC2012_val_00000003",
        "val",
        "",
        "",
        "",
        "",
        "",
        "500",
        "375",
        "3",
        "",
        "",
        "",
        "v/3.xml",
    ]
    assert len(rows) == 5
    assert len(_write("csv", SAMPLE).splitlines()) == 4  # no empty row by default


def test_csv_with_names() -> None:
    def names(wnid: str) -> tuple[str | None, int | None]:
        return ("sea snake", 65) if wnid == "n01751748" else (None, None)

    rows = list(csv.DictReader(io.StringIO(_write("csv", SAMPLE[:1], names=names))))
    assert rows[0]["name"] == "sea snake" and rows[0]["ilsvrc_index"] == "65"
    assert list(rows[0])[2:5] == ["wnid", "name", "ilsvrc_index"]


def test_loc_is_kaggles_solution_format() -> None:
    lines = _write("loc", SAMPLE).splitlines()
    assert lines == [
        "ImageId,PredictionString",
        "ILSVRC2012_val_00000001,n01751748 111 108 441 352",
        "ILSVRC2012_val_00000002,n09193705 1 1 499 332 n09193705 10 20 30 40",
    ]


def test_coco_document_shape() -> None:
    out = io.StringIO()
    writer = CocoWriter(
        out, keep_empty=True, names=lambda w: ({"n01751748": "sea snake"}.get(w), None)
    )
    for ann in SAMPLE:
        writer.write(ann)
    writer.close()
    doc = json.loads(out.getvalue())
    assert [c["wnid"] for c in doc["categories"]] == ["n01751748", "n09193705"]
    assert doc["categories"][0] == {
        "id": 1,
        "name": "sea snake",
        "supercategory": "",
        "wnid": "n01751748",
    }
    assert doc["categories"][1]["name"] == "n09193705"  # no name known: the wnid
    assert [i["id"] for i in doc["images"]] == [1, 2, 3]
    assert doc["images"][0] == {
        "id": 1,
        "file_name": "ILSVRC2012_val_00000001.JPEG",
        "width": 500,
        "height": 375,
    }
    first = doc["annotations"][0]
    assert first == {
        "id": 1,
        "category_id": 1,
        "image_id": 1,
        "bbox": [111, 108, 330, 244],
        "area": 330 * 244,
        "iscrowd": 0,
    }
    assert [a["id"] for a in doc["annotations"]] == [1, 2, 3]


def test_yolo_ultralytics_layout(tmp_path: Path) -> None:
    writer = make_writer("yolo", None, str(tmp_path), keep_empty=True)
    for ann in SAMPLE:
        writer.write(ann)
    writer.close()
    assert (tmp_path / "classes.txt").read_text() == "n01751748\nn09193705\n"
    assert (tmp_path / "images").is_dir()
    one = (tmp_path / "labels" / "ILSVRC2012_val_00000001.txt").read_text()
    assert one == f"0 {276 / 500:.6f} {230 / 375:.6f} {330 / 500:.6f} {244 / 375:.6f}\n"
    assert (tmp_path / "labels" / "ILSVRC2012_val_00000002.txt").read_text().count("\n") == 2
    assert (
        tmp_path / "labels" / "ILSVRC2012_val_00000003.txt"
    ).read_text() == ""  # a background image
    yaml = (tmp_path / "data.yaml").read_text()
    assert "nc: 2" in yaml and '  0: "n01751748"' in yaml


def test_yolo_clips_boxes_past_the_image_edge(tmp_path: Path) -> None:
    """Ultralytics drops every label of an image with a coordinate outside 0-1: a box
    past the edge (as some ImageNet files have) is clipped to the image."""
    from tests.conftest import run

    from .conftest import TENCH, xml

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "edge.xml").write_text(
        xml(
            filename=f"{TENCH}_3",
            size=(500, 375, 3),
            objects=[(TENCH, -5, 10, 530, 390), (TENCH, 10, 20, 30, 40)],
        )
    )
    out = tmp_path / "yolo"
    res = run(["bbox", "convert", str(folder), "-f", "yolo", "--out", str(out)])
    assert "box 1: past the image edge, clipped" in res.stderr
    lines = (out / "labels" / f"{TENCH}_3.txt").read_text().splitlines()
    values = [float(v) for line in lines for v in line.split()[1:]]
    assert len(lines) == 2 and all(0.0 <= v <= 1.0 for v in values)
    assert lines[0] == "0 0.500000 0.513333 1.000000 0.973333"


def test_coco_gives_an_image_named_by_two_files_one_entry(tmp_path: Path) -> None:
    """Two annotation files for one image (ILSVRC's train boxes and ImageNet-21k's
    per-synset archive both hold some images): one COCO image, its file name once,
    every box on it, as YOLO gives one label file."""
    from pycocotools.coco import COCO

    from tests.conftest import run

    from .conftest import SPRINGER, TENCH, xml

    for folder, box in (("a", (TENCH, 1, 2, 30, 40)), ("b", (SPRINGER, 5, 6, 70, 80))):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{TENCH}_7.xml").write_text(xml(filename=f"{TENCH}_7", objects=[box]))
    (tmp_path / "b" / f"{TENCH}_8.xml").write_text(
        xml(filename=f"{TENCH}_8.JPEG", objects=[(TENCH, 3, 3, 9, 9)])
    )
    out = tmp_path / "coco.json"
    run(["bbox", "convert", str(tmp_path / "a"), str(tmp_path / "b"), "-f", "coco", "-o", str(out)])
    doc = json.loads(out.read_text())
    names = [i["file_name"] for i in doc["images"]]
    assert names == [f"{TENCH}_7.JPEG", f"{TENCH}_8.JPEG"]
    assert [i["id"] for i in doc["images"]] == [1, 2]
    assert [a["image_id"] for a in doc["annotations"]] == [1, 1, 2]
    assert [a["id"] for a in doc["annotations"]] == [1, 2, 3]
    coco = COCO(str(out))
    assert len(coco.getAnnIds(imgIds=[1])) == 2


def test_loc_image_id_has_no_file_extension(tmp_path: Path) -> None:
    """Kaggle's ImageId is the image's name without its extension: a ``<filename>``
    written with one (``x.JPEG``) gives the same ImageId as one without."""
    from tests.conftest import run

    from .conftest import TENCH, xml

    for stem, filename in (("a", f"{TENCH}_1.JPEG"), ("b", f"{TENCH}_2"), ("c", "v2.1.jpg")):
        (tmp_path / f"{stem}.xml").write_text(xml(filename=filename, objects=[(TENCH, 1, 2, 3, 4)]))
    lines = run(["bbox", "convert", str(tmp_path), "-f", "loc"]).stdout.splitlines()
    assert [line.split(",")[0] for line in lines] == ["ImageId", f"{TENCH}_1", f"{TENCH}_2", "v2.1"]
    anns = [Annotation(f"{TENCH}_1.jpeg", None, 5, 5, 3, "s", (Box(TENCH, 1, 1, 2, 2),))]
    assert _write("loc", anns).splitlines()[1] == f"{TENCH}_1,{TENCH} 1 1 2 2"
