"""The tar index in the cache: what it is keyed by, and a cache it cannot trust or write."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.conftest import run

from .conftest import add_bytes, jpeg

WNID = "n01440764"


def padded(data: bytes, size: int) -> bytes:
    """A JPEG made ``size`` bytes long by bytes after its end (still a valid JPEG)."""
    return data + bytes(size - len(data))


def train_tar(path: Path, members: list[tuple[str, bytes]]) -> bytes:
    """Write a tar of one class tar holding ``members``; its bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as inner:
        for name, data in members:
            add_bytes(inner, name, data)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as outer:
        add_bytes(outer, f"{WNID}.tar", buf.getvalue())
    path.write_bytes(out.getvalue())
    return out.getvalue()


def class_images(tar: Path) -> dict[str, bytes]:
    """The images of the class tar inside ``tar``, as tar itself would extract them."""
    with tarfile.open(tar) as outer:
        inner_fh = outer.extractfile(f"{WNID}.tar")
        assert inner_fh is not None
        with tarfile.open(fileobj=io.BytesIO(inner_fh.read())) as inner:
            out = {}
            for info in inner:
                fh = inner.extractfile(info)
                assert fh is not None
                out[info.name] = fh.read()
            return out


def written(dst: Path) -> dict[str, bytes]:
    folder = dst / "train" / WNID
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_tar_rewritten_with_its_old_size_and_mtime_is_indexed_again(tmp_path: Path) -> None:
    # Same size, same mtime (restored as `touch -d` or `cp -p` would), other members: the
    # index of the old content would cut images and leave one out, without a word.
    tar = tmp_path / "train.tar"
    small = [jpeg(n, (24, 16)) for n in range(5)]
    old = train_tar(
        tar,
        [(f"{WNID}_1.JPEG", padded(small[0], 1500)), (f"{WNID}_2.JPEG", padded(small[1], 1500))],
    )
    run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "a")])
    st = tar.stat()
    new = train_tar(
        tar,
        [
            (f"{WNID}_1.JPEG", padded(small[2], 2000)),
            (f"{WNID}_2.JPEG", padded(small[3], 1000)),
            (f"{WNID}_3.JPEG", padded(small[4], 1000)),
        ],
    )
    assert len(new) == len(old)
    os.utime(tar, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (tar.stat().st_size, tar.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "b")])
    assert written(tmp_path / "b") == class_images(tar)


def test_what_is_not_an_image_in_a_tar_is_passed_over_as_in_a_folder(tmp_path: Path) -> None:
    # A class tar or a val tar repacked with notes, annotations and macOS's ._ files: a
    # folder of them gives the images alone, and so does the tar.
    images = {f"{WNID}_1.JPEG": jpeg(1), f"{WNID}_2.JPEG": jpeg(2)}
    extra = {
        "notes.txt": b"hello",
        f"._{WNID}_1.JPEG": b"\x00\x05\x16\x07",
        f"{WNID}_1.xml": b"<a/>",
    }
    tar = tmp_path / "train.tar"
    train_tar(tar, [*images.items(), *extra.items()])
    res = run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "a")])
    assert "2 images" in res.stderr and "error" not in res.stderr
    assert written(tmp_path / "a") == images

    stem = "ILSVRC2012_val_00000001"
    val = tmp_path / "val.tar"
    with tarfile.open(val, "w") as tf:
        add_bytes(tf, f"val/{stem}.JPEG", jpeg(3))
        add_bytes(tf, f"val/{stem}.xml", b"<annotation/>")
        add_bytes(tf, f"val/._{stem}.JPEG", b"\x00\x05\x16\x07")
        add_bytes(tf, "val/LOC_val_solution.csv", b"ImageId,PredictionString\n")
    res = run(["subset", "extract", "--from", str(val), "--to", str(tmp_path / "b")])
    assert "1 image " in res.stderr and "error" not in res.stderr
    (folder,) = (tmp_path / "b" / "val").iterdir()
    assert [p.name for p in folder.iterdir()] == [f"{stem}.JPEG"]


def no_traceback_one_line(res: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    assert [line for line in res.stderr.splitlines() if text in line], res.stderr


def test_a_damaged_index_database_is_named_in_one_line(tmp_path: Path, isolated: Path) -> None:
    tar = tmp_path / "train.tar"
    train_tar(tar, [(f"{WNID}_1.JPEG", jpeg(1))])
    run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "a")])
    db = isolated / "cache" / "subset" / "tars.sqlite"
    pages = db.read_bytes()
    for damage in (pages[:4096] + b"\xaa" * (len(pages) - 4096), b"not a database" * 300):
        for extra in ("-wal", "-shm"):
            Path(f"{db}{extra}").unlink(missing_ok=True)
        db.write_bytes(damage)
        args = ["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "b")]
        res = subprocess.run(
            [sys.executable, "-m", "imagenet_cli", *args], capture_output=True, text=True
        )
        no_traceback_one_line(res, 2, f"{db}: the tar index in the cache is damaged")
        assert "imagenet cache clean subset" in res.stderr
        run(["cache", "clean", "subset"])  # the way out the message gives
        run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "b")])


def test_a_read_only_cache_serves_the_index_it_holds(tmp_path: Path, isolated: Path) -> None:
    from .test_awkward_files import unprivileged

    tar = tmp_path / "train.tar"
    train_tar(tar, [(f"{WNID}_1.JPEG", jpeg(1))])
    other = tmp_path / "other.tar"
    train_tar(other, [(f"{WNID}_2.JPEG", jpeg(2))])
    run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "a")])
    cache = isolated / "cache"
    folders = [p for p in [cache, *cache.rglob("*")] if p.is_dir()]
    for folder in folders:
        folder.chmod(0o555)
    try:
        out = tmp_path / "out"
        out.mkdir()
        res = unprivileged(["subset", "extract", "--from", str(tar), "--to", str(out / "b")])
        assert res.returncode == 0, res.stderr
        assert written(out / "b") == {f"{WNID}_1.JPEG": jpeg(1)}
        res = unprivileged(["subset", "extract", "--from", str(other), "--to", str(out / "c")])
        db = cache / "subset" / "tars.sqlite"
        no_traceback_one_line(res, 2, f"{db}: cannot write the tar index in the cache")
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_a_class_tar_stored_twice_gives_its_last_copy(tmp_path: Path) -> None:
    # `tar -rf train.tar n01440764.tar` appends a new copy of a class tar: tar -x gives
    # that copy alone, not the images of both.
    tar = tmp_path / "train.tar"
    train_tar(tar, [(f"{WNID}_1.JPEG", jpeg(1)), (f"{WNID}_2.JPEG", jpeg(2))])
    run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "a")])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as inner:
        add_bytes(inner, f"{WNID}_2.JPEG", jpeg(3))
        add_bytes(inner, f"{WNID}_3.JPEG", jpeg(4))
    with tarfile.open(tar, "a") as outer:
        add_bytes(outer, f"{WNID}.tar", buf.getvalue())
    assert class_images(tar) == {f"{WNID}_2.JPEG": jpeg(3), f"{WNID}_3.JPEG": jpeg(4)}
    for dst in ("b", "c"):  # the index is built, then read from the cache
        res = run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / dst)])
        assert f"{tar}: member {WNID}.tar: in the archive more than once" in res.stderr
        assert written(tmp_path / dst) == class_images(tar)


def test_a_class_tar_that_is_compressed_or_no_tar_is_named_as_such(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as inner:
        add_bytes(inner, "n02102040_1.JPEG", jpeg(2))
    tar = tmp_path / "train.tar"
    train_tar(tar, [(f"{WNID}_1.JPEG", jpeg(1))])
    with tarfile.open(tar, "a") as outer:
        add_bytes(outer, "n02102040.tar", buf.getvalue())
        add_bytes(outer, "n02979186.tar", b"<html>503 Service Unavailable</html>\n" * 40)
    res = run(["subset", "extract", "--from", str(tar), "--to", str(tmp_path / "a")], expect=1)
    assert f"{tar}: member n02102040.tar: a gzip-compressed class tar, not read" in res.stderr
    assert f"{tar}: member n02979186.tar: not a tar file" in res.stderr
    assert "damage" not in res.stderr
    assert written(tmp_path / "a") == {f"{WNID}_1.JPEG": jpeg(1)}


def test_a_file_beside_the_class_tars_is_passed_over_with_a_warning(tmp_path: Path) -> None:
    tar = tmp_path / "train.tar"
    train_tar(tar, [(f"{WNID}_1.JPEG", jpeg(1)), (f"{WNID}_2.JPEG", jpeg(2))])
    with tarfile.open(tar, "a") as outer:
        add_bytes(outer, "README.txt", b"ImageNet train set\n")
    dst = tmp_path / "out"
    res = run(["subset", "extract", "--from", str(tar), "--to", str(dst)])  # exit 0
    assert (
        f"imagenet: warning: {tar}: member README.txt: not a class tar (<wnid>.tar) in a tar "
        "of tars; skipped\n"
    ) in res.stderr
    assert written(dst) == class_images(tar)
