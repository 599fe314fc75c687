"""What real copies hold besides clean images: odd names, twins, empty classes, files
that cannot be read, destinations that cannot be written, leftovers of earlier runs."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from PIL import Image

from imagenet_cli.cache import remove_stale_temp, temp_name
from imagenet_cli.subset import imaging
from tests.conftest import run

from .conftest import Tree, add_bytes, jpeg, png

WNID = "n01440764"


def manifest(dst: Path) -> list[dict[str, str]]:
    with open(dst / "manifest.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def images_on_disk(dst: Path) -> list[str]:
    return sorted(str(p.relative_to(dst)) for p in (dst / "train").rglob("*") if p.is_file())


def one_class_tar(path: Path, members: list[tuple[str, bytes]], **kw: object) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", **kw) as inner:  # type: ignore[call-overload]
        for name, data in members:
            add_bytes(inner, name, data)
    with tarfile.open(path, "w") as outer:
        add_bytes(outer, f"{WNID}.tar", buf.getvalue())
    return path


def extract(*args: str, expect: int = 0) -> str:
    return run(["subset", "extract", *args], expect=expect).stderr


def test_a_name_that_is_not_utf8_is_left_out_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "train" / WNID
    folder.mkdir(parents=True)
    (folder / f"{WNID}_1.JPEG").write_bytes(jpeg(1))
    with open(os.fsencode(folder) + b"/" + WNID.encode() + b"_caf\xe9.JPEG", "wb") as fh:
        fh.write(jpeg(2))
    dst = tmp_path / "out"
    err = extract("--from", str(tmp_path / "train"), "--to", str(dst), expect=1)
    assert f"{WNID}_caf\\xe9.JPEG: file name is not valid UTF-8" in err
    assert [r["path"] for r in manifest(dst)] == [f"train/{WNID}/{WNID}_1.JPEG"]

    tar = one_class_tar(
        tmp_path / "latin1.tar",
        [(f"{WNID}_café.JPEG", jpeg(3)), (f"{WNID}_ok.JPEG", jpeg(4))],
        format=tarfile.GNU_FORMAT,
        encoding="latin-1",
    )
    for _ in range(2):  # the index is built, then read from the cache
        err = extract("--from", str(tar), "--to", str(tmp_path / "out2"), expect=1)
        assert f"{WNID}_caf\\xe9.JPEG: a name that is not UTF-8 refused" in err
    assert images_on_disk(tmp_path / "out2") == [f"train/{WNID}/{WNID}_ok.JPEG"]


def test_two_files_for_one_name_give_one_file_and_one_row(tmp_path: Path) -> None:
    # A member stored twice: the later copy, as tar itself would extract it.
    twice = one_class_tar(
        tmp_path / "twice.tar",
        [
            (f"{WNID}_1.JPEG", jpeg(1, (30, 20))),
            (f"{WNID}_1.JPEG", jpeg(2, (40, 30))),
            (f"{WNID}_2.JPEG", jpeg(3)),
        ],
    )
    dst = tmp_path / "a"
    err = extract("--from", str(twice), "--to", str(dst))
    assert "in the archive more than once; the last copy is used" in err
    rows = manifest(dst)
    assert [(r["path"], r["width"]) for r in rows] == [
        (f"train/{WNID}/{WNID}_1.JPEG", "40"),
        (f"train/{WNID}/{WNID}_2.JPEG", "64"),
    ]
    # Resizing names x.png x.JPEG: the file already called x.JPEG keeps the name.
    folder = tmp_path / "src" / WNID
    folder.mkdir(parents=True)
    (folder / "x.JPEG").write_bytes(jpeg(4, (80, 60)))
    (folder / "x.png").write_bytes(png(5, (60, 80)))
    dst = tmp_path / "b"
    err = extract("--from", str(tmp_path / "src"), "--to", str(dst), "--resize", "30", expect=1)
    assert f"{folder}/x.png: would be written under the name of {folder}/x.JPEG" in err
    assert [(r["path"], r["width"], r["height"]) for r in manifest(dst)] == [
        (f"train/{WNID}/x.JPEG", "40", "30")
    ]
    assert images_on_disk(dst) == [f"train/{WNID}/x.JPEG"]


def test_a_repacked_class_tar_with_a_subfolder_goes_flat(tmp_path: Path) -> None:
    tar = one_class_tar(
        tmp_path / "repacked.tar",
        [(f"{WNID}/{WNID}_1.JPEG", jpeg(1)), (f"{WNID}/{WNID}_2.JPEG", jpeg(2))],
    )
    dst = tmp_path / "out"
    extract("--from", str(tar), "--to", str(dst))
    assert images_on_disk(dst) == [f"train/{WNID}/{WNID}_1.JPEG", f"train/{WNID}/{WNID}_2.JPEG"]
    assert manifest(dst)[0]["source"] == f"{tar}:{WNID}.tar/{WNID}/{WNID}_1.JPEG"


def test_a_class_without_images_is_missing_not_an_empty_folder(tmp_path: Path) -> None:
    src = tmp_path / "train"
    (src / "n03888257").mkdir(parents=True)  # a class folder with nothing in it
    (src / WNID).mkdir()
    (src / WNID / "a.JPEG").write_bytes(jpeg(1))
    dst = tmp_path / "out"
    both = ("--wnid", WNID, "--wnid", "n03888257")
    err = extract("--from", str(src), "--to", str(dst), *both, expect=3)
    assert "1 selected class(es) have no images: n03888257 (train)" in err
    assert not dst.exists()
    err = extract("--from", str(src), "--to", str(dst), *both, "--allow-missing")
    assert "have no images in the source; skipped: n03888257" in err
    assert sorted(p.name for p in (dst / "train").iterdir()) == [WNID]
    assert (dst / "classes.tsv").read_text().splitlines()[1:] == [f"0\t{WNID}\ttench"]
    # not named: a folder without images is simply not a class of the subset
    err = extract("--from", str(src), "--to", str(tmp_path / "all"))
    assert "skipped: n03888257" in err


def test_a_rerun_names_images_it_does_not_write_and_sweeps_dead_temp_files(
    tree: Tree, tmp_path: Path
) -> None:
    dst = tmp_path / "out"
    args = ("--from", str(tree.root), "--to", str(dst), "--wnid", WNID)
    extract(*args, "--per-class", "3")
    folder = dst / "train" / WNID
    dead = re.sub(r"\.\d+(_\d+)?-", ".999999999-", Path(temp_name(str(folder / "x.JPEG"))).name)
    (folder / dead).write_bytes(b"half")
    (dst / dead.replace("x.JPEG", "manifest.csv")).write_bytes(b"half")
    err = extract(*args, "--per-class", "2", "--seed", "7")
    assert "file(s) in the class folders of" in err and "are not part of this subset" in err
    assert not (folder / dead).exists() and not list(dst.glob("*.part"))
    assert len(manifest(dst)) == 2


def test_16_bit_gray_keeps_its_tones_when_resized() -> None:
    ramp = Image.new("I;16", (256, 4))
    ramp.putdata([x * 257 for x in range(256)] * 4)
    buf = io.BytesIO()
    ramp.save(buf, "PNG")
    data, width, height = imaging.resize(buf.getvalue(), 2, "shorter", 95)
    out = Image.open(io.BytesIO(data)).convert("L")
    assert (width, height) == (128, 2)
    row = [out.getpixel((x, 0)) for x in range(0, 128, 16)]
    assert row == sorted(row) and 100 < row[4] < 160 and row[0] < 10, row


def test_label_files_that_do_not_exist_are_named_up_front(tree: Tree, tmp_path: Path) -> None:
    for option in ("--val-labels", "--devkit-synsets"):
        err = extract(
            "--from", str(tree.root), "--to", str(tmp_path / "o"), option, "/no/such", expect=3
        )
        assert f"{option} /no/such: no such file or folder" in err


def test_bbox_from_an_unpacked_annotation_folder(tree: Tree, tmp_path: Path) -> None:
    # ImageNet's bbox archives unpack to Annotation/<wnid>/<image>.xml
    boxes = tmp_path / "boxes" / "Annotation" / WNID
    boxes.mkdir(parents=True)
    name = sorted(tree.files[WNID])[0].rsplit(".", 1)[0]
    (boxes / f"{name}.xml").write_text(f"<annotation><filename>{name}</filename></annotation>")
    args = ("--from", str(tree.root), "--wnid", WNID)
    err = extract(*args, "--to", str(tmp_path / "o"), "--bbox", str(tmp_path / "boxes"))
    assert "1 annotations" in err
    (tmp_path / "elsewhere").mkdir()
    err = extract(*args, "--to", str(tmp_path / "o2"), "--bbox", str(tmp_path / "elsewhere"))
    assert "no annotation matches any image of this subset" in err


def _zombie() -> int:
    """A child process that has exited and is not reaped yet: a zombie."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return pid


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_a_zombies_and_a_reused_pids_temp_files_are_stale(tmp_path: Path) -> None:
    from imagenet_cli.cache import _owner, _proc_stat, process_alive

    zombie = _zombie()
    try:
        assert not process_alive(zombie)
        mine = Path(temp_name(str(tmp_path / "a.JPEG")))
        host = mine.name.split(".")[-3]
        started = _proc_stat(zombie)
        assert started is not None
        of_zombie = tmp_path / f".a.JPEG.{host}.{zombie}_{started[1]}-0.part"
        # this process's pid, with another start time: an earlier process that had it
        reused = tmp_path / f".a.JPEG.{host}.{os.getpid()}_1-0.part"
        for path in (mine, of_zombie, reused):
            path.write_bytes(b"")
        assert mine.name.split(".")[-2].startswith(_owner(os.getpid()) + "-")
        assert [remove_stale_temp(str(p)) for p in (mine, of_zombie, reused)] == [
            False,
            True,
            True,
        ]
    finally:
        os.waitpid(zombie, 0)


def test_only_dead_processes_temp_files_of_this_machine_are_removed(tmp_path: Path) -> None:
    tmp_path = tmp_path / "folder"
    tmp_path.mkdir()
    alive = Path(temp_name(str(tmp_path / "a.JPEG")))
    dead = tmp_path / re.sub(r"\.\d+(_\d+)?-", ".999999999-", alive.name)
    elsewhere = tmp_path / ".a.JPEG.otherhost.999999999-0.part"
    mine = tmp_path / ".notes.part"
    for path in (alive, dead, elsewhere, mine):
        path.write_bytes(b"")
    assert [remove_stale_temp(str(p)) for p in (alive, dead, elsewhere, mine)] == [
        False,
        True,
        False,
        False,
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (alive, elsewhere, mine)
    )


# ------------------------------------------------ permissions, in a real process


def unprivileged(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``imagenet ARGS`` in a process that file permissions apply to: as root (CI), with
    the capabilities that override them dropped."""
    cmd = [sys.executable, "-m", "imagenet_cli", *args]
    if os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})


def one_line_error(res: subprocess.CompletedProcess[str], code: int, *wanted: str) -> None:
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    for text in wanted:
        assert text in res.stderr, res.stderr


def test_what_cannot_be_read_or_written_is_one_line_each(tree: Tree, tmp_path: Path) -> None:
    locked = tree.root / "n02102040"
    tar = one_class_tar(tmp_path / "locked.tar", [(f"{WNID}_1.JPEG", jpeg(1))])
    boxes = tmp_path / "boxes" / WNID
    boxes.mkdir(parents=True)
    first = sorted(tree.files[WNID])[0].rsplit(".", 1)[0]
    (boxes / f"{first}.xml").write_text("<annotation/>")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    for path in (locked, tar, boxes / f"{first}.xml", read_only):
        path.chmod(0o555 if path == read_only else 0)
    try:
        src = ["subset", "extract", "--from", str(tree.root)]
        res = unprivileged(
            [*src, "--to", str(tmp_path / "a"), "--wnid", "n02102040", "--wnid", WNID]
        )
        one_line_error(res, 3, f"{locked}: cannot read the folder (Permission denied)")
        res = unprivileged(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "b")])
        one_line_error(res, 2, f"{tar}: cannot read (Permission denied)")
        res = unprivileged(
            [*src, "--to", str(tmp_path / "c"), "--wnid", WNID, "--bbox", str(tmp_path / "boxes")]
        )
        one_line_error(res, 1, f"{boxes}/{first}.xml: annotation not copied (Permission denied)")
        assert len(manifest(tmp_path / "c")) == 4  # the image itself was fine
        for dst in (read_only, read_only / "sub", tree.root / WNID / f"{first}.JPEG" / "x"):
            res = unprivileged([*src, "--to", str(dst), "--wnid", WNID])
            one_line_error(res, 2, f"--to {dst}: cannot write there")
    finally:
        for path in (locked, tar, boxes / f"{first}.xml", read_only):
            path.chmod(0o755)


def test_a_source_that_is_neither_folder_nor_file_is_named_as_such(tmp_path: Path) -> None:
    err = extract("--from", "/dev/null", "--to", str(tmp_path / "o"), "--dry-run", expect=2)
    assert err == "imagenet: error: /dev/null: not a folder or a tar archive\n"
