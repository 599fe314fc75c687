"""Where ``imagenet bbox`` writes: inside the output folder given, and nowhere else,
whatever the XML files say; output paths that cannot be written are one error line."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.conftest import run

from .conftest import GOOD, TENCH, write_tree, xml

HOSTILE_NAMES = {
    "trav.xml": "../../../escaped",
    "deep.xml": "a/../../../escaped_deep",
    "back.xml": "..\\..\\escaped_back",
    "tab.xml": 'comma,"quoted"\tname\nnewline',
    "dots.xml": "..",
}


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _hostile(tmp_path: Path) -> Path:
    """Good files, plus files whose <filename> tries to leave the output folder
    (one absolute, into ``tmp_path``)."""
    folder = tmp_path / "in"
    files = {rel: text.encode() for rel, text in GOOD.items()}
    for name, filename in HOSTILE_NAMES.items():
        files[f"evil/{name}"] = xml(filename=filename, objects=[(TENCH, 1, 2, 30, 40)]).encode()
    files["evil/abs.xml"] = xml(
        filename=str(tmp_path / "escaped_abs"), objects=[(TENCH, 1, 2, 30, 40)]
    ).encode()
    write_tree(folder, files)
    return folder


def test_yolo_refuses_file_names_that_leave_the_labels_folder(tmp_path: Path) -> None:
    folder = _hostile(tmp_path)
    before = _files(tmp_path)
    out = tmp_path / "a" / "b" / "c" / "yolo"
    res = run(["bbox", "convert", str(folder), "-f", "yolo", "--out", str(out)], expect=1)
    written = _files(tmp_path) - before
    assert written and all(out in p.parents for p in written), sorted(written)
    labels = sorted(p.name for p in (out / "labels").iterdir())
    assert labels == sorted(f"{Path(rel).stem}.txt" for rel in GOOD)
    errors = res.stderr.splitlines()[:-1]  # the last line is the summary
    assert len(errors) == len(HOSTILE_NAMES) + 1
    for name in [*HOSTILE_NAMES, "abs.xml"]:
        assert sum(f"evil/{name}: <filename>" in line for line in errors) == 1, name
    assert "Traceback" not in res.stderr


def test_yolo_refuses_a_class_that_cannot_be_a_line_of_classes_txt(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_tree(
        folder,
        {
            "mixed.xml": xml(
                filename=f"{TENCH}_5", objects=[(TENCH, 1, 2, 30, 40), ("n0 2", 3, 4, 50, 60)]
            ).encode()
        },
    )
    out = tmp_path / "yolo"
    res = run(["bbox", "convert", str(folder), "-f", "yolo", "--out", str(out)], expect=1)
    assert "mixed.xml: object 2: <name> 'n0 2'" in res.stderr
    assert (out / "classes.txt").read_text() == f"{TENCH}\n"
    assert len((out / "labels" / f"{TENCH}_5.txt").read_text().splitlines()) == 1


def test_crop_refuses_classes_and_names_that_leave_the_output_folder(tmp_path: Path) -> None:
    from .conftest import draw_scene

    images = tmp_path / "images" / TENCH
    images.mkdir(parents=True)
    draw_scene(images / f"{TENCH}_42.JPEG")
    draw_scene(tmp_path / "outside.JPEG")
    (tmp_path / "elsewhere").mkdir()
    draw_scene(tmp_path / "elsewhere" / f"{TENCH}_77.JPEG")
    annotations = tmp_path / "annotations"
    objects = [(TENCH, 40, 50, 159, 169), ("../../../escaped", 40, 50, 159, 169)]
    write_tree(
        annotations,
        {
            "good.xml": xml(filename=f"{TENCH}_42", size=(400, 300, 3), objects=objects).encode(),
            "dots.xml": xml(
                filename=f"{TENCH}_42", size=(400, 300, 3), objects=[("..", 1, 2, 100, 100)]
            ).encode(),
            # the image exists where <filename> points, but the crop name would leave OUT
            "trav.xml": xml(
                folder=None,
                filename="../../../outside",
                size=(400, 300, 3),
                objects=[(TENCH, 1, 2, 100, 100)],
            ).encode(),
            # <folder> may say where to look for the image, never outside --images
            "folder.xml": xml(
                folder="../elsewhere",
                filename=f"{TENCH}_77",
                size=(400, 300, 3),
                objects=[(TENCH, 1, 2, 100, 100)],
            ).encode(),
        },
    )
    before = _files(tmp_path)
    out = tmp_path / "a" / "b" / "crops"
    args = ["bbox", "crop", str(annotations), "--images", str(tmp_path / "images")]
    res = run([*args, "--out", str(out)], expect=1)
    written = _files(tmp_path) - before
    assert written == {out / TENCH / f"{TENCH}_42_0.jpg"}
    errors = [line for line in res.stderr.splitlines() if "error:" in line]
    assert len(errors) == 4
    assert sum(f"folder.xml: image {TENCH}_77 not found" in e for e in errors) == 1
    assert sum("good.xml: object 2: <name> '../../../escaped'" in e for e in errors) == 1
    assert sum("dots.xml: object 1: <name> '..'" in e for e in errors) == 1
    assert sum("trav.xml: <filename> '../../../outside'" in e for e in errors) == 1


def test_output_paths_that_cannot_be_written_are_one_line_exit_2(
    tmp_path: Path, scene: tuple[Path, Path, list[tuple[int, int, int, int]]]
) -> None:
    import subprocess
    import sys

    images, annotations, _ = scene
    image = images / TENCH / f"{TENCH}_42.JPEG"
    folder = tmp_path / "a folder"
    folder.mkdir()
    afile = tmp_path / "afile"
    afile.write_text("not a folder\n")
    cases = [
        (["convert", str(annotations), "-f", "csv", "-o"], folder, "is a folder"),
        (["convert", str(annotations), "-f", "coco", "-o"], afile / "x.json", "is a file"),
        (["convert", str(annotations), "-f", "yolo", "--out"], afile, "is a file, not a folder"),
        (["convert", str(annotations), "-f", "yolo", "--out"], afile / "y", "is a file"),
        (["crop", str(annotations), "--images", str(images), "--out"], afile, "not a folder"),
        (["draw", str(image), "--annotations", str(annotations), "-o"], folder, "is a folder"),
        (["draw", str(image), "--annotations", str(annotations), "-o"], afile / "x.png", "file"),
    ]
    imagenet = str(Path(sys.executable).with_name("imagenet"))
    for args, target, reason in cases:
        proc = subprocess.run(
            [imagenet, "bbox", *args, str(target)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        where = f"{args[0]} {args[-1]} {target}"
        assert proc.returncode == 2, (where, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and str(target) in lines[0] and reason in lines[0], where
        assert "Traceback" not in proc.stderr
    assert list(folder.iterdir()) == [] and afile.read_text() == "not a folder\n"
    left = {p.name for p in tmp_path.iterdir()}
    assert left <= {"a folder", "afile", "annotations", "images", "cache", "config"}


def test_yolo_refuses_to_leave_earlier_labels_that_classes_txt_would_mislabel(
    tmp_path: Path,
) -> None:
    from .conftest import SPRINGER

    def files(*specs: tuple[str, str]) -> Path:
        folder = tmp_path / f"in{len(list(tmp_path.glob('in*')))}"
        write_tree(
            folder,
            {
                f"{image}.xml": xml(filename=image, objects=[(wnid, 1, 2, 30, 40)]).encode()
                for image, wnid in specs
            },
        )
        return folder

    both = files((f"{TENCH}_1", TENCH), (f"{SPRINGER}_1", SPRINGER))
    tench_only = files((f"{TENCH}_2", TENCH))
    out = tmp_path / "yolo"
    run(["bbox", "convert", str(both), "-f", "yolo", "--out", str(out)])
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # SPRINGER's labels say class 1; a classes.txt of TENCH alone would not know it.
    res = run(["bbox", "convert", str(tench_only), "-f", "yolo", "--out", str(out)], expect=2)
    assert "labels/ holds 2 label files this run does not rewrite" in res.stderr
    assert "(classes then: 2, now: 1)" in res.stderr
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # The same classes again: the files left keep their meaning.
    same = files((f"{TENCH}_3", TENCH), (f"{SPRINGER}_3", SPRINGER))
    run(["bbox", "convert", str(same), "-f", "yolo", "--out", str(out)])
    assert len(list((out / "labels").iterdir())) == 4
    # Labels whose numbering nothing tells are refused alike.
    (out / "classes.txt").unlink()
    res = run(["bbox", "convert", str(tench_only), "-f", "yolo", "--out", str(out)], expect=2)
    assert "with no classes.txt" in res.stderr
    # Every label file rewritten: nothing is left to mislabel.
    lone = tmp_path / "lone"
    (lone / "labels").mkdir(parents=True)
    (lone / "labels" / f"{TENCH}_2.txt").write_text("7 0.5 0.5 0.1 0.1\n")
    run(["bbox", "convert", str(tench_only), "-f", "yolo", "--out", str(lone)])
    assert (lone / "labels" / f"{TENCH}_2.txt").read_text().startswith("0 ")


def _read_fifo(path: Path, got: list[bytes]) -> threading.Thread:
    """A thread that reads the FIFO ``path`` to its end into ``got``."""

    def read() -> None:
        with open(path, "rb") as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_output_to_a_fifo_or_device_is_written_in_place_not_replaced(
    tmp_path: Path, scene: tuple[Path, Path, list[tuple[int, int, int, int]]]
) -> None:
    images, annotations, _ = scene
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    res = run(["bbox", "convert", str(annotations), "-f", "csv", "-o", str(fifo)])
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert got and got[0].decode().startswith("image,folder,wnid,")
    assert "Traceback" not in res.stderr
    # A device refusing the write is one line naming it, exit 2.
    if os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode):
        res = run(["bbox", "convert", str(annotations), "-f", "csv", "-o", "/dev/full"], expect=2)
        assert (
            res.stderr.strip()
            == "imagenet: error: -o /dev/full: cannot write: No space left on device"
        )
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    # bbox draw alike.
    got.clear()
    reader = _read_fifo(fifo, got)
    image = images / TENCH / f"{TENCH}_42.JPEG"
    run(["bbox", "draw", str(image), "--annotations", str(annotations), "-o", str(fifo)])
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and got[0].startswith(b"\x89PNG")
