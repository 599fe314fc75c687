"""``imagenet bbox`` end to end: inputs of every kind, bad files, filters, formats,
stats, draw, crop, exit codes, and real subprocess pipes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from imagenet_cli.bbox.engine import ParseOptions, parse_batch, plan
from imagenet_cli.bbox.inputs import iter_items
from imagenet_cli.drivers import map_batches
from tests.conftest import run

from .conftest import BAD, CASSETTE, GOOD, QUIRKS, SPRINGER, TENCH, Fixture, tar_of

IMAGENET = str(Path(sys.executable).with_name("imagenet"))
GOOD_BOXES = sum(t.count("<object>") for t in {**GOOD, **QUIRKS}.values()) + 1  # + the Latin-1 file


def _rows(text: str, sep: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=sep))


def _key(row: dict[str, str]) -> tuple[str, ...]:
    """A row without its source (which names the container)."""
    return tuple(v for k, v in row.items() if k != "source")


def test_folder_tar_and_tgz_give_the_same_boxes(ann: Fixture) -> None:
    by_kind = {}
    for src in (ann.folder, ann.tar, ann.tgz):
        res = run(["bbox", "convert", str(src), "-f", "csv", "-j", "1"])
        rows = _rows(res.stdout)
        assert len(rows) == GOOD_BOXES
        by_kind[src] = sorted(_key(r) for r in rows)
    assert by_kind[ann.folder] == by_kind[ann.tar] == by_kind[ann.tgz]
    sources = [
        r["source"] for r in _rows(run(["bbox", "convert", str(ann.tgz), "-f", "csv"]).stdout)
    ]
    assert sources[0].startswith(f"{ann.tgz}!") and sources[0].endswith(".xml")


def test_quirks_warn_once_each_and_exit_zero(ann: Fixture) -> None:
    res = run(["bbox", "convert", str(ann.folder), "-f", "csv"])
    warnings = [line for line in res.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 5  # swapped, outside, float, no size, zero size
    assert any("_swapped.xml: box 1: min > max, corners swapped" in w for w in warnings)
    assert any("_outside.xml: box 1: past the image edge, kept (use --clip)" in w for w in warnings)
    rows = {r["image"]: r for r in _rows(res.stdout)}
    assert rows[f"{TENCH}_placeholder"]["source"].endswith(f"{TENCH}_placeholder.xml")
    assert rows[f"{TENCH}_nofilename"]["xmax"] == "3"
    assert rows[f"{TENCH}_latin"]["pose"] == "Façade"
    assert f"{TENCH}_empty" not in rows
    assert run(["bbox", "convert", str(ann.folder), "-q"]).stderr == ""


def test_bad_files_one_line_each_exit_one(ann: Fixture) -> None:
    res = run(["bbox", "convert", str(ann.hostile), str(ann.folder), "-f", "csv"], expect=1)
    errors = [line for line in res.stderr.splitlines() if "error:" in line]
    assert len(errors) == len(BAD) + 1  # + the 50 MB file
    for rel, (_, reason) in BAD.items():
        assert any(rel in e and reason in e for e in errors), rel
    assert any("big.xml" in e and "over the limit" in e for e in errors)
    assert any("xxe.xml: line 2: DOCTYPE" in e for e in errors)
    assert len(_rows(res.stdout)) == GOOD_BOXES  # every good file still converted
    assert "Traceback" not in res.stderr


def test_strict_stops_at_the_first_bad_file(ann: Fixture) -> None:
    res = run(["bbox", "convert", str(ann.hostile), "--strict", "-f", "csv"], expect=1)
    assert res.stderr.count("error:") == 1 and "--strict" in res.stderr


def test_bad_members_inside_an_archive(tmp_path: Path, ann: Fixture) -> None:
    files = {f"x/{rel}": data for rel, (data, _) in BAD.items()}
    files["x/good.xml"] = GOOD[f"{TENCH}/{TENCH}_1.xml"].encode()
    tgz = tar_of(tmp_path / "mixed.tgz", files, "w:gz")
    res = run(["bbox", "convert", str(tgz), "-f", "csv"], expect=1)
    assert f"{tgz}!x/bad/truncated.xml: line" in res.stderr
    assert len(_rows(res.stdout)) == 1


def test_truncated_archive_reports_and_keeps_what_it_read(tmp_path: Path, ann: Fixture) -> None:
    cut = tmp_path / "cut.tar"
    cut.write_bytes(ann.tar.read_bytes()[:4000])
    res = run(["bbox", "convert", str(cut), "-f", "csv"], expect=1)
    assert f"{cut}: archive ends" in res.stderr
    assert len(_rows(res.stdout)) >= 1


def test_missing_input_is_not_found_and_the_rest_is_read(ann: Fixture) -> None:
    res = run(["bbox", "convert", "nowhere.xml", str(ann.folder), "-f", "csv"], expect=3)
    assert res.stderr.startswith("imagenet: error: nowhere.xml: no such file or folder\n")
    assert len(_rows(res.stdout)) == GOOD_BOXES


def test_paths_on_stdin(ann: Fixture) -> None:
    paths = f"{ann.folder / TENCH / (TENCH + '_1.xml')}\n{ann.tgz}\n"
    res = run(["bbox", "convert", "-", "-f", "csv"], input=paths)
    assert len(_rows(res.stdout)) == 1 + GOOD_BOXES
    for args in (["-", "-"], ["-", "--wnid", "-"]):
        res = run(["bbox", "convert", *args, "-f", "csv"], input=paths, expect=2)
        assert res.stderr == (
            "imagenet: error: stdin ('-') can be read once: give '-' to one of INPUT, --wnid, "
            "once\n"
        )


def test_nested_archives(tmp_path: Path, ann: Fixture) -> None:
    outer = tmp_path / "outer.tar"
    with tarfile.open(outer, "w") as tar:
        tar.add(ann.tgz, arcname=f"{TENCH}.tar.gz")
    rows = _rows(run(["bbox", "convert", str(outer), "-f", "csv"]).stdout)
    assert len(rows) == GOOD_BOXES
    assert rows[0]["source"].startswith(f"{outer}!{TENCH}.tar.gz!")


def test_order_is_deterministic_whatever_the_workers(tmp_path: Path) -> None:
    from .conftest import write_tree, xml

    files = {}
    for i in range(1200):  # several batches
        wnid = (TENCH, SPRINGER, CASSETTE)[i % 3]
        files[f"{wnid}/{wnid}_{i}.xml"] = xml(
            folder=wnid, filename=f"{wnid}_{i}", objects=[(wnid, i % 50, 1, 60, 70)]
        ).encode()
    files["a-b/x.xml"] = files[f"{TENCH}/{TENCH}_0.xml"]  # '-' sorts before '/'
    write_tree(tmp_path / "many", files)
    one = run(["bbox", "convert", str(tmp_path / "many"), "-f", "csv", "-j", "1"]).stdout
    two = run(["bbox", "convert", str(tmp_path / "many"), "-f", "csv", "-j", "2"]).stdout
    assert one == two
    sources = [r["source"] for r in _rows(one)]
    assert sources == sorted(sources)
    tgz = tar_of(tmp_path / "many.tgz", files, "w:gz")
    assert (
        run(["bbox", "convert", str(tgz), "-f", "jsonl", "-j", "2"]).stdout
        == run(["bbox", "convert", str(tgz), "-f", "jsonl", "-j", "1"]).stdout
    )


def test_folders_are_read_in_sorted_full_path_order(tmp_path: Path) -> None:
    for rel in ("a/x.xml", "a-b/x.xml", "a.b.xml", "b.tgz", "c.txt", "a/z/y.xml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    items = iter_items([str(tmp_path)], max_bytes=1 << 20)
    found = [os.path.relpath(i.source, tmp_path) for i in items]  # b.tgz: an empty archive
    assert found == sorted(["a/x.xml", "a-b/x.xml", "a.b.xml", "b.tgz", "a/z/y.xml"])


def test_items_in_path_order_read_relative_to_their_folder(tmp_path: Path) -> None:
    import pickle

    from imagenet_cli.bbox.inputs import FolderReader, Items

    for rel in ("a/x.xml", "a/y.xml", "a.b.xml", "a/z/y.xml", "b/q.xml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    (tmp_path / "d.xml").mkdir()  # a folder that looks like a file: walked into
    (tmp_path / "d.xml" / "in.xml").write_text("d.xml/in.xml")
    items = Items(iter_items([str(tmp_path)], max_bytes=1 << 20))
    assert [os.path.relpath(i.source, tmp_path) for i in items] == [
        "a.b.xml",  # sorted as full paths: '.' before '/'
        "a/x.xml",
        "a/y.xml",
        "a/z/y.xml",
        "b/q.xml",
        "d.xml/in.xml",
    ]
    assert pickle.loads(pickle.dumps(items)) == items
    with FolderReader() as reader:
        texts = [reader.read(i.path, 1 << 20).decode() for i in items if i.path]
        assert texts == [os.path.relpath(i.path, tmp_path) for i in items if i.path]
        with pytest.raises(FileNotFoundError):
            reader.read(str(tmp_path / "a" / "gone.xml"), 1 << 20)
        with pytest.raises(IsADirectoryError):
            reader.read(str(tmp_path / "d.xml"), 1 << 20)
        with pytest.raises(ValueError, match="over the limit"):
            reader.read(str(tmp_path / "a" / "x.xml"), 0)


def test_driver_keeps_plan_order_in_a_pool(ann: Fixture) -> None:
    items = list(iter_items([str(ann.folder)], max_bytes=1 << 20)) * 300
    opts = ParseOptions()
    jobs = list(plan(items, opts))
    assert len(jobs) > 2
    pooled = [r for batch in map_batches(parse_batch, jobs, workers=2, window=2) for r in batch]
    assert pooled == [r for job in jobs for r in parse_batch(job)]


def test_filters_wnid_under_release(ann: Fixture) -> None:
    def images(*args: str) -> set[str]:
        return {
            r["wnid"]
            for r in _rows(run(["bbox", "convert", str(ann.folder), "-f", "csv", *args]).stdout)
        }

    assert images("--wnid", SPRINGER) == {SPRINGER}
    assert images("--wnid", "n02102040", "--wnid", "tench.n.01") == {SPRINGER, TENCH}
    assert images("--under", "dog.n.01") == {SPRINGER}
    assert images("--release", "imagenette") == {TENCH, SPRINGER, CASSETTE}
    assert images("--under", "dog.n.01", "--release", "imagenette") == {SPRINGER}
    res = run(["bbox", "convert", str(ann.folder), "--wnid", "n99999999"], expect=3)
    assert "n99999999" in res.stderr


def test_with_names(ann: Fixture) -> None:
    rows = _rows(
        run(
            ["bbox", "convert", str(ann.folder), "-f", "csv", "--with-names", "--wnid", TENCH]
        ).stdout
    )
    assert {(r["name"], r["ilsvrc_index"]) for r in rows} == {("tench", "0")}


def test_wnid_without_input_reads_the_cached_archive(ann: Fixture) -> None:
    res = run(["bbox", "convert", "--wnid", TENCH], expect=3)
    assert "imagenet bbox fetch" in res.stderr and TENCH in res.stderr
    from imagenet_cli.cache import cache_dir

    (cache_dir() / "bbox").mkdir(parents=True, exist_ok=True)
    shutil.copy(ann.tgz, cache_dir() / "bbox" / f"{TENCH}.tar.gz")
    rows = _rows(run(["bbox", "convert", "--wnid", "tench.n.01", "-f", "csv"]).stdout)
    assert rows and {r["wnid"] for r in rows} == {TENCH}
    assert run(["bbox", "convert"], expect=2).stderr


def test_wnids_not_cached_are_reported_and_the_others_converted(
    tmp_path: Path, ann: Fixture
) -> None:
    from imagenet_cli.cache import cache_dir

    (cache_dir() / "bbox").mkdir(parents=True, exist_ok=True)
    shutil.copy(ann.tgz, cache_dir() / "bbox" / f"{TENCH}.tar.gz")
    res = run(["bbox", "convert", "--wnid", TENCH, "--wnid", SPRINGER, "-f", "csv"], expect=3)
    rows = _rows(res.stdout)
    cached = str(cache_dir() / "bbox" / f"{TENCH}.tar.gz")
    assert rows and {r["source"].split("!")[0] for r in rows} == {cached}
    errors = [line for line in res.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and SPRINGER in errors[0]
    # the hint is a command line that works as written
    assert f"run 'imagenet bbox fetch --wnid {SPRINGER}' first" in errors[0]
    stats = run(["bbox", "stats", "--wnid", TENCH, "--wnid", SPRINGER, "-f", "json"], expect=3)
    totals = {r["key"]: r["value"] for r in json.loads(stats.stdout) if r["section"] == "total"}
    assert totals["boxes"] == len(rows)
    # Nothing cached at all: nothing is written, not even a header or an empty file.
    out = tmp_path / "none.csv"
    res = run(["bbox", "convert", "--wnid", SPRINGER, "--wnid", CASSETTE, "-o", str(out)], expect=3)
    assert res.stdout == "" and not out.exists()
    assert len(res.stderr.splitlines()) == 2
    res = run(["bbox", "convert", "--wnid", TENCH, "--wnid", SPRINGER, "--strict"], expect=3)
    assert res.stdout == ""


def test_normalize_clip_and_usage_errors(ann: Fixture) -> None:
    res = run(["bbox", "convert", str(ann.folder), "-f", "csv", "--normalize", "--clip"], expect=1)
    rows = _rows(res.stdout)
    assert rows and all(
        0.0 <= float(r[c]) <= 1.0 for r in rows for c in ("xmin", "ymin", "xmax", "ymax")
    )
    assert res.stderr.count("size unknown") == 2  # the two files without a size are refused
    run(["bbox", "convert", str(ann.folder), "-f", "coco", "--normalize"], expect=2)
    run(["bbox", "convert", str(ann.folder), "-f", "yolo"], expect=2)
    run(["bbox", "convert", str(ann.folder), "-f", "csv", "--out", "x"], expect=2)


def test_output_file_and_formats(tmp_path: Path, ann: Fixture) -> None:
    out = tmp_path / "boxes.json"
    res = run(["bbox", "convert", str(ann.tgz), "-f", "coco", "-o", str(out)])
    assert res.stdout == ""
    doc = json.loads(out.read_text())
    assert len(doc["annotations"]) == GOOD_BOXES
    assert {c["name"] for c in doc["categories"]} >= {"tench", "English springer"}
    lines = run(["bbox", "convert", str(ann.folder), "-f", "jsonl"]).stdout.splitlines()
    assert all("boxes" in json.loads(line) for line in lines)
    loc = run(["bbox", "convert", str(ann.folder), "-f", "loc"]).stdout.splitlines()
    assert loc[0] == "ImageId,PredictionString"
    yolo = tmp_path / "yolo"
    res = run(["bbox", "convert", str(ann.folder), "-f", "yolo", "--out", str(yolo)], expect=1)
    assert (yolo / "classes.txt").read_text().split() == sorted([TENCH, SPRINGER, CASSETTE])
    assert res.stderr.count("size unknown") == 2
    tsv = run(["bbox", "convert", str(ann.folder)]).stdout  # piped: tsv
    assert tsv.splitlines()[0].split("\t")[:3] == ["image", "folder", "wnid"]


def test_images_dir_fills_missing_size(tmp_path: Path, ann: Fixture) -> None:
    from PIL import Image

    (tmp_path / "img" / TENCH).mkdir(parents=True)
    for stem in (f"{TENCH}_nosize", f"{TENCH}_zerosize"):
        Image.new("RGB", (64, 48)).save(tmp_path / "img" / TENCH / f"{stem}.JPEG")
    res = run(["bbox", "convert", str(ann.folder), "-f", "csv", "--images", str(tmp_path / "img")])
    rows = {r["image"]: r for r in _rows(res.stdout)}
    assert (rows[f"{TENCH}_nosize"]["width"], rows[f"{TENCH}_nosize"]["height"]) == ("64", "48")
    assert "read from the image" in res.stderr


def test_stats(ann: Fixture) -> None:
    res = run(["bbox", "stats", str(ann.folder), "-f", "json"])
    rows = json.loads(res.stdout)
    value = {(r["section"], r["key"]): r["value"] for r in rows}
    assert value[("total", "boxes")] == GOOD_BOXES
    assert value[("total", "images")] == len(GOOD) + len(QUIRKS) + 1
    assert value[("total", "images without boxes")] == 1
    assert value[("quirks", "min > max, corners swapped")] == 1
    assert value[("class", SPRINGER)] == 1
    names = {r["key"]: r["name"] for r in rows if r["section"] == "class"}
    assert names[TENCH] == "tench"
    tsv = run(["bbox", "stats", str(ann.hostile), str(ann.folder)], expect=1).stdout
    assert tsv.splitlines()[0] == "section\tkey\tvalue\tname"
    assert f"total\tbad files\t{len(BAD) + 1}" in tsv


def test_draw_puts_boxes_on_the_objects(
    tmp_path: Path, scene: tuple[Path, Path, list[tuple[int, int, int, int]]]
) -> None:
    from PIL import Image

    images, annotations, boxes = scene
    out = tmp_path / "drawn.png"
    image = images / TENCH / f"{TENCH}_42.JPEG"
    run(["bbox", "draw", str(image), "--annotations", str(annotations), "-o", str(out)])
    drawn = Image.open(out).convert("RGB")
    plain = Image.open(image).convert("RGB")
    assert drawn.size == plain.size
    # Outline pixels changed on each box edge, inside of the objects untouched.
    for x0, y0, x1, y1 in boxes:
        mid_y = (y0 + y1) // 2
        assert drawn.getpixel((x0, mid_y)) != plain.getpixel((x0, mid_y))
        assert drawn.getpixel((x1, mid_y)) != plain.getpixel((x1, mid_y))
        centre = ((x0 + x1) // 2, mid_y)
        assert drawn.getpixel(centre) == plain.getpixel(centre)
    # The XML beside the image also works.
    shutil.copy(annotations / TENCH / f"{TENCH}_42.xml", image.with_suffix(".xml"))
    run(["bbox", "draw", str(image), "-o", str(tmp_path / "beside.png")])
    res = run(
        ["bbox", "draw", str(tmp_path / "none.JPEG"), "-o", str(tmp_path / "x.png")], expect=3
    )
    assert res.stderr == f"imagenet: error: {tmp_path / 'none.JPEG'}: no such file\n"


def test_draw_refuses_a_suffix_no_image_format_has(
    tmp_path: Path, scene: tuple[Path, Path, list[tuple[int, int, int, int]]]
) -> None:
    images, annotations, _ = scene
    image = images / TENCH / f"{TENCH}_42.JPEG"
    args = ["bbox", "draw", str(image), "--annotations", str(annotations), "-o"]
    res = run([*args, str(tmp_path / "drawn.xyz")], expect=2)
    assert res.stderr == (
        f"imagenet: error: -o {tmp_path / 'drawn.xyz'}: Pillow writes no image format named "
        ".xyz (try .png)\n"
    )
    assert not list(tmp_path.glob("*drawn*"))
    run([*args, str(tmp_path / "drawn.webp")])
    assert (tmp_path / "drawn.webp").read_bytes()[8:12] == b"WEBP"


def test_crop(tmp_path: Path, scene: tuple[Path, Path, list[tuple[int, int, int, int]]]) -> None:
    from PIL import Image

    images, annotations, boxes = scene
    out = tmp_path / "crops"
    res = run(
        [
            "bbox",
            "crop",
            str(annotations),
            "--images",
            str(images),
            "--out",
            str(out),
            "--margin",
            "2",
        ]
    )
    first = Image.open(out / TENCH / f"{TENCH}_42_0.jpg")
    x0, y0, x1, y1 = boxes[0]
    assert first.size == (x1 - x0 + 1 + 4, y1 - y0 + 1 + 4)
    r, _, b = first.getpixel((first.width // 2, first.height // 2))
    assert b > 120 and r < 80  # the blue square
    assert (out / SPRINGER / f"{TENCH}_42_1.jpg").is_file()
    assert "2 crops written" in res.stderr
    run(
        [
            "bbox",
            "crop",
            str(annotations),
            "--images",
            str(images),
            "--out",
            str(tmp_path / "c2"),
            "--min-size",
            "125",
        ]
    )
    assert not (tmp_path / "c2" / TENCH).exists() and (tmp_path / "c2" / SPRINGER).is_dir()
    res = run(
        ["bbox", "crop", str(annotations), "--images", str(tmp_path), "--out", str(out)], expect=1
    )
    assert "not found" in res.stderr


def test_draw_and_crop_turn_an_exif_rotated_image_to_its_annotated_size(
    tmp_path: Path, scene: tuple[Path, Path, list[tuple[int, int, int, int]]]
) -> None:
    """A JPEG stored on its side with an EXIF orientation, whose ``<size>`` is that of
    the upright image: the boxes are drawn and cut on the upright image."""
    from PIL import Image, ImageOps

    images, annotations, boxes = scene
    image = images / TENCH / f"{TENCH}_42.JPEG"
    upright = Image.open(image).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter left: shown turned back
    upright.transpose(Image.Transpose.ROTATE_90).save(image, "JPEG", quality=95, exif=exif)
    assert ImageOps.exif_transpose(Image.open(image)).size == upright.size == (400, 300)
    out = tmp_path / "drawn.png"
    run(["bbox", "draw", str(image), "--annotations", str(annotations), "-o", str(out)])
    drawn = Image.open(out).convert("RGB")
    assert drawn.size == (400, 300)
    x0, y0, x1, y1 = boxes[0]
    mid_y = (y0 + y1) // 2
    r, _, b = drawn.getpixel(((x0 + x1) // 2, mid_y))
    assert b > 120 and r < 80  # the blue square, inside its box
    assert drawn.getpixel((x0, mid_y)) != upright.getpixel((x0, mid_y))  # its outline
    crops = tmp_path / "crops"
    run(["bbox", "crop", str(annotations), "--images", str(images), "--out", str(crops)])
    first = Image.open(crops / TENCH / f"{TENCH}_42_0.jpg")
    assert first.size == (x1 - x0 + 1, y1 - y0 + 1)
    r, _, b = first.getpixel((first.width // 2, first.height // 2))
    assert b > 120 and r < 80


def test_help_has_examples() -> None:
    for command in ("convert", "stats", "draw", "crop"):
        assert "Example:" in run(["bbox", command, "--help"]).stdout


# ---------------------------------------------------------------- real processes


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["IMAGENET_CACHE"] = os.environ["IMAGENET_CACHE"]
    env["IMAGENET_CONFIG"] = str(tmp / "config")
    return env


def _many_files(folder: Path, count: int) -> None:
    """``count`` one-box tench annotations under ``folder``."""
    from .conftest import write_tree, xml

    many = {
        f"{TENCH}/{TENCH}_{i}.xml": xml(
            filename=f"{TENCH}_{i}", objects=[(TENCH, 1, 2, 3, 4)]
        ).encode()
        for i in range(count)
    }
    write_tree(folder, many)


def test_subprocess_pipe_to_head(tmp_path: Path, ann: Fixture) -> None:
    _many_files(tmp_path / "ann", 3000)
    proc = subprocess.run(
        f"'{IMAGENET}' bbox convert ann/ -f csv | head -3",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert proc.stdout.splitlines()[0].startswith("image,folder,wnid")
    assert len(proc.stdout.splitlines()) == 3
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr


def test_subprocess_exit_codes(tmp_path: Path, ann: Fixture) -> None:
    bad = subprocess.run(
        [IMAGENET, "bbox", "convert", str(ann.hostile), "-q"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run(
        [IMAGENET, "bbox", "convert", "x", "-f", "nope"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert usage.returncode == 2


@pytest.mark.parametrize("module", ["imagenet_cli.cli.bbox_actions"])
def test_cli_module_imports_nothing_heavy(module: str) -> None:
    heavy = "('lxml', 'PIL', 'httpx', 'numpy')"
    code = f"import sys, {module}; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_bbox_runs_through_typer_where_start_up_does_not_matter(ann: Fixture) -> None:
    from imagenet_cli.cli import fastpath

    for args in (
        ["bbox", "convert", str(ann.folder), str(ann.tgz), "-f", "csv", "-j", "1"],
        ["bbox", "stats", str(ann.folder), "-f", "json", "-j", "1"],
    ):
        assert fastpath.try_run(args) is None
    assert run(["bbox", "convert", str(ann.folder), "-f", "CSV", "-j", "1"]).code == 0


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts workers in /proc")
def test_subprocess_ctrl_c_in_a_worker_pool_exits_130_without_traceback(tmp_path: Path) -> None:
    import signal
    import time

    _many_files(tmp_path / "ann", 2000)
    out = tmp_path / "out.json"
    # Much more work than the test waits for: the signal comes while workers run.
    args = [IMAGENET, "bbox", "convert", *["ann"] * 100, "-f", "coco", "-o", str(out), "-j", "6"]
    proc = subprocess.Popen(
        args,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        start_new_session=True,  # its own process group, as a shell job has
    )
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 60
    while len(children.read_text().split()) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    # More workers than cores: most wait for their next batch, where an interrupted
    # worker printed a traceback (or died holding the queue's lock: a hang).
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    try:
        _, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("still running 30 s after Ctrl-C") from None
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert not out.exists()
