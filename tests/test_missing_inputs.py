"""A missing input file or folder is "not found" (exit 3) in every command that reads
one: one line naming it, nothing on stdout."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagenet_cli.fetch import terms

from .conftest import run

GONE = "{tmp}/gone"
CLASSES = "{tmp}/classes.txt"
TRAIN = "{tmp}/train"
EXTRACT = ["subset", "extract", "--from", TRAIN, "--to", "{tmp}/out"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["bbox", "convert", f"{GONE}.tgz"], f"{GONE}.tgz"),
        (["bbox", "convert", f"{GONE}.tgz", "-f", "csv"], f"{GONE}.tgz"),
        (["bbox", "convert", f"{GONE}.tgz", "-f", "coco", "-o", "{tmp}/c.json"], f"{GONE}.tgz"),
        (["bbox", "convert", f"{GONE}.tgz", "-f", "yolo", "--out", "{tmp}/y"], f"{GONE}.tgz"),
        (["bbox", "convert", f"{GONE}.xml", "{tmp}/gone-too"], f"{GONE}.xml"),
        (["bbox", "convert", "{tmp}/ann", "--images", GONE], GONE),
        (["bbox", "stats", f"{GONE}.tgz", "-f", "tsv"], f"{GONE}.tgz"),
        (["bbox", "crop", GONE, "--out", "{tmp}/crops"], GONE),
        (["bbox", "crop", "{tmp}/ann", "--images", GONE, "--out", "{tmp}/crops"], GONE),
        (["bbox", "draw", f"{GONE}.JPEG", "-o", "{tmp}/d.png"], f"{GONE}.JPEG"),
        (["bbox", "draw", "{tmp}/train/n01440764/n01440764_1.JPEG", f"{GONE}.xml"], f"{GONE}.xml"),
        (
            ["subset", "extract", "--from", GONE, "--to", "{tmp}/out", "--preset", "imagenette"],
            GONE,
        ),
        ([*EXTRACT, "--from", f"{GONE}.tar", "--wnid", "n01440764"], f"{GONE}.tar"),
        ([*EXTRACT, "--wnids", CLASSES.replace("classes", "gone")], "{tmp}/gone.txt"),
        ([*EXTRACT, "--wnids", CLASSES, "--val-labels", GONE], GONE),
        ([*EXTRACT, "--wnids", CLASSES, "--devkit-synsets", GONE], GONE),
        ([*EXTRACT, "--wnids", CLASSES, "--bbox", f"{GONE}.tgz"], f"{GONE}.tgz"),
        (["fetch", "--wnids", GONE, "--out", "{tmp}/f"], GONE),
        (["fetch", "--wnid", "n01440764", "--url-list", GONE, "--out", "{tmp}/f"], GONE),
        (["urls", "index", GONE], GONE),
    ],
    ids=lambda v: " ".join(v[:3]) if isinstance(v, list) else None,
)
def test_a_missing_input_is_not_found(tmp_path: Path, args: list[str], named: str) -> None:
    from PIL import Image

    image = tmp_path / "train" / "n01440764" / "n01440764_1.JPEG"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(image)
    (tmp_path / "classes.txt").write_text("n01440764\n")
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "n01440764_1.xml").write_text(
        "<annotation><filename>n01440764_1</filename><size><width>8</width>"
        "<height>8</height><depth>3</depth></size><object><name>n01440764</name>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox>"
        "</object></annotation>"
    )
    terms.accept("Ada Lovelace", "ada@example.edu", "Analytical Engines Lab")
    res = run([a.replace("{tmp}", str(tmp_path)) for a in args], expect=3)
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1 + ("gone-too" in " ".join(args)), lines
    assert lines[0].startswith(f"imagenet: error: {named.replace('{tmp}', str(tmp_path))}") or (
        f" {named.replace('{tmp}', str(tmp_path))}: no such " in lines[0]
    ), lines
    assert not (tmp_path / "out").exists() and not (tmp_path / "crops").exists()
