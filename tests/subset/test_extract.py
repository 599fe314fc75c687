"""``imagenet subset extract`` over class folders and a tar of tars: output, images, reruns."""

from __future__ import annotations

import csv
import io
import os
import tarfile
from pathlib import Path

from PIL import Image

from tests.conftest import run

from .conftest import IMAGENETTE, QUIRKY, Tree, ValSet, add_bytes, jpeg


def manifest(dst: Path) -> list[dict[str, str]]:
    with open(dst / "manifest.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_copy_writes_imagefolder_classes_and_manifest(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            str(dst),
            "--wnid",
            "n01440764",
            "--wnid",
            "n02102040",
        ]
    )
    assert "8 written" in res.stderr
    assert sorted(p.name for p in (dst / "train").iterdir()) == ["n01440764", "n02102040"]
    for wnid in ("n01440764", "n02102040"):
        for name, data in tree.files[wnid].items():
            assert (dst / "train" / wnid / name).read_bytes() == data  # bytes untouched
    lines = (dst / "classes.tsv").read_text().splitlines()
    assert lines == ["index\twnid\tname", "0\tn01440764\ttench", "1\tn02102040\tEnglish springer"]
    rows = manifest(dst)
    assert list(rows[0]) == ["split", "wnid", "source", "path", "bytes", "width", "height"]
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    for row in rows:
        with Image.open(dst / row["path"]) as im:
            assert (int(row["width"]), int(row["height"])) == im.size
        assert int(row["bytes"]) == (dst / row["path"]).stat().st_size
        assert row["source"] == str(tree.root / row["wnid"] / Path(row["path"]).name)


def test_copy_does_not_decode_so_quirks_pass_through(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    run(["subset", "extract", "--from", str(tree.root), "--to", str(dst), "--wnid", QUIRKY])
    for kind, rel in tree.quirks.items():
        written = (dst / "train" / rel).read_bytes()
        assert written == tree.files[QUIRKY][rel.split("/")[1]], kind
    rows = {r["path"]: r for r in manifest(dst)}
    rotated = rows[f"train/{tree.quirks['rotated']}"]
    assert (rotated["width"], rotated["height"]) == ("64", "32")  # as stored: bytes are copied
    png_row = rows[f"train/{tree.quirks['png']}"]
    assert (png_row["width"], png_row["height"]) == ("64", "48")


def test_resize_handles_every_quirk_and_reports_the_truncated_file(
    tree: Tree, tmp_path: Path
) -> None:
    dst = tmp_path / "out"
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            str(dst),
            "--wnid",
            QUIRKY,
            "--resize",
            "16",
        ],
        expect=1,
    )
    truncated = tree.quirks["truncated"].split("/")[1]
    errors = [line for line in res.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and truncated in errors[0] and "truncated" in errors[0]
    assert "Traceback" not in res.stderr
    rows = {Path(r["path"]).name: r for r in manifest(dst)}
    assert truncated not in rows and not (dst / "train" / tree.quirks["truncated"]).exists()
    for kind in ("cmyk", "gray", "png", "rotated"):
        path = dst / "train" / tree.quirks[kind]
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB", kind
            assert min(im.size) == 16
            assert (int(rows[path.name]["width"]), int(rows[path.name]["height"])) == im.size
    with Image.open(dst / "train" / tree.quirks["rotated"]) as im:
        assert im.size == (16, 32)  # stored 64x32, EXIF orientation 6: upright is portrait


def test_files_that_are_no_image_are_named_plainly(tmp_path: Path) -> None:
    # Pillow's own message names the in-memory buffer by its address; the user gets
    # the file and a plain reason, in copy and resize modes alike, and the rest is done.
    src = tmp_path / "train" / "n01440764"
    src.mkdir(parents=True)
    (src / "empty.JPEG").write_bytes(b"")
    (src / "page.JPEG").write_bytes(b"<html>Photo unavailable</html>")
    (src / "ok.JPEG").write_bytes(jpeg(1, (40, 30)))
    for extra in ([], ["--resize", "16"]):
        dst = tmp_path / f"o{len(extra)}"
        res = run(
            ["subset", "extract", "--from", str(src.parent), "--to", str(dst), *extra], expect=1
        )
        errors = sorted(line for line in res.stderr.splitlines() if "error:" in line)
        assert errors == [
            f"imagenet: error: {src / 'empty.JPEG'}: an empty file, not an image",
            f"imagenet: error: {src / 'page.JPEG'}: not an image Pillow can read",
        ], extra
        assert [r["path"] for r in manifest(dst)] == ["train/n01440764/ok.JPEG"]


def test_resize_modes(tree: Tree, tmp_path: Path) -> None:
    name = sorted(tree.files["n01440764"])[0]
    with Image.open(tree.root / "n01440764" / name) as im:
        w, h = im.size
    for mode, check in (
        ("shorter", lambda s: min(s) == 20),
        ("longer", lambda s: max(s) == 20),
        ("center-crop", lambda s: s == (20, 20)),
    ):
        dst = tmp_path / mode
        run(
            [
                "subset",
                "extract",
                "--from",
                str(tree.root),
                "--to",
                str(dst),
                "--wnid",
                "n01440764",
                "--resize",
                "20",
                "--resize-mode",
                mode,
                "--quality",
                "80",
            ]
        )
        with Image.open(dst / "train" / "n01440764" / name) as im:
            assert check(im.size), (mode, im.size, (w, h))


def test_same_subset_whatever_the_worker_count(tree: Tree, tmp_path: Path) -> None:
    outs = []
    for workers in ("1", "2"):
        dst = tmp_path / f"j{workers}"
        run(
            [
                "subset",
                "extract",
                "--from",
                str(tree.root),
                "--to",
                str(dst),
                "--preset",
                "imagenette",
                "--per-class",
                "2",
                "--seed",
                "7",
                "--resize",
                "24",
                "-j",
                workers,
            ]
        )
        outs.append(((dst / "manifest.csv").read_text(), files_under(dst)))
    assert outs[0] == outs[1]
    assert len(manifest(tmp_path / "j1")) == 20
    other = tmp_path / "seed8"
    run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            str(other),
            "--preset",
            "imagenette",
            "--per-class",
            "2",
            "--seed",
            "8",
            "--resize",
            "24",
        ]
    )
    assert [r["path"] for r in manifest(other)] != [r["path"] for r in manifest(tmp_path / "j1")]


def test_rerun_skips_finished_files(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    args = [
        "subset",
        "extract",
        "--from",
        str(tree.root),
        "--to",
        str(dst),
        "--preset",
        "imagenette",
        "--per-class",
        "3",
        "--resize",
        "24",
    ]
    run(args)
    first = (dst / "manifest.csv").read_text()
    victim = dst / "train" / "n01440764" / Path(manifest(dst)[0]["path"]).name
    victim.unlink()
    stamps = {p: p.stat().st_mtime_ns for p in (dst / "train").rglob("*.JPEG")}
    res = run(args)
    assert "1 written, 29 already there" in res.stderr
    assert (dst / "manifest.csv").read_text() == first
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    assert not list(dst.rglob("*.part"))


def test_rerun_with_other_settings_is_refused(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    run(["subset", "extract", "--from", str(tree.root), "--to", str(dst), "--wnid", "n01440764"])
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            str(dst),
            "--wnid",
            "n01440764",
            "--resize",
            "16",
        ],
        expect=2,
    )
    assert "other settings" in res.stderr


def test_dry_run_writes_nothing(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            str(dst),
            "--preset",
            "imagenette",
            "--per-class",
            "3",
            "--dry-run",
            "-f",
            "tsv",
        ]
    )
    assert not dst.exists()
    lines = res.lines
    assert lines[0] == "split\twnid\tavailable\timages\tbytes"
    assert [line.split("\t")[1] for line in lines[1:]] == IMAGENETTE
    assert all(line.split("\t")[2:4] == ["4", "3"] for line in lines[1:])
    assert "10 classes, 30 images" in res.stderr and "nothing written" in res.stderr


def test_hardlink_and_symlink_modes(tree: Tree, tmp_path: Path) -> None:
    for mode in ("hardlink", "symlink"):
        dst = tmp_path / mode
        run(
            [
                "subset",
                "extract",
                "--from",
                str(tree.root),
                "--to",
                str(dst),
                "--wnid",
                "n01440764",
                "--mode",
                mode,
            ]
        )
        for name in tree.files["n01440764"]:
            out, src = dst / "train" / "n01440764" / name, tree.root / "n01440764" / name
            if mode == "hardlink":
                assert out.stat().st_ino == src.stat().st_ino and not out.is_symlink()
            else:
                assert (
                    out.is_symlink()
                    and os.path.isabs(os.readlink(out))
                    and out.resolve() == src.resolve()
                )
        assert len(manifest(dst)) == 4


def test_links_from_a_tar_are_a_usage_error(train_tar: Path, tmp_path: Path) -> None:
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(train_tar),
            "--to",
            str(tmp_path / "o"),
            "--wnid",
            "n01440764",
            "--mode",
            "hardlink",
        ],
        expect=2,
    )
    assert "tar source can only be copied" in res.stderr


def test_tar_of_tars_gives_what_the_folder_gives(
    tree: Tree, train_tar: Path, tmp_path: Path
) -> None:
    args = ["--preset", "imagenette", "--per-class", "3", "--seed", "3"]
    run(["subset", "extract", "--from", str(tree.root), "--to", str(tmp_path / "a"), *args])
    run(["subset", "extract", "--from", str(train_tar), "--to", str(tmp_path / "b"), *args])
    images_a = {k: v for k, v in files_under(tmp_path / "a").items() if k.startswith("train/")}
    assert len(images_a) == 30
    assert images_a == {
        k: v for k, v in files_under(tmp_path / "b").items() if k.startswith("train/")
    }
    rows_a, rows_b = manifest(tmp_path / "a"), manifest(tmp_path / "b")
    strip = [{k: v for k, v in r.items() if k != "source"} for r in rows_a]
    assert strip == [{k: v for k, v in r.items() if k != "source"} for r in rows_b]
    assert rows_b[0]["source"] == f"{train_tar}:n01440764.tar/{Path(rows_b[0]['path']).name}"


def test_tar_of_tars_resize_from_the_cached_index(
    tree: Tree, train_tar: Path, tmp_path: Path
) -> None:
    from imagenet_cli.subset import tars

    assert tars.open_index(train_tar).built is True
    assert tars.open_index(train_tar).built is False  # second run: the index is reused
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(train_tar),
            "--to",
            str(tmp_path / "o"),
            "--wnid",
            QUIRKY,
            "--resize",
            "16",
        ],
        expect=1,
    )
    assert "n01443537.tar/" in res.stderr and "truncated" in res.stderr
    assert len(manifest(tmp_path / "o")) == 4 + 4


def test_output_loads_as_imagefolder(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            str(dst),
            "--classes",
            "5",
            "--seed",
            "1",
            "--resize",
            "32",
            "--resize-mode",
            "center-crop",
        ]
    )
    # torchvision's ImageFolder: classes are the sorted folder names, index = position.
    folders = sorted(p.name for p in (dst / "train").iterdir() if p.is_dir())
    rows = [line.split("\t") for line in (dst / "classes.tsv").read_text().splitlines()[1:]]
    assert [r[1] for r in rows] == folders and [int(r[0]) for r in rows] == list(range(5))
    for folder in folders:
        for path in (dst / "train" / folder).iterdir():
            assert not path.name.startswith(".")
            with Image.open(path) as im:
                im.load()
                assert im.size == (32, 32)


def test_bbox_annotations_are_copied(tree: Tree, tmp_path: Path) -> None:
    boxes = tmp_path / "bbox"
    wanted = sorted(tree.files["n01440764"])[:2]
    for name in wanted:
        stem = name.rsplit(".", 1)[0]
        (boxes / "n01440764").mkdir(parents=True, exist_ok=True)
        (boxes / "n01440764" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}</filename></annotation>"
        )
    dst = tmp_path / "out"
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            str(dst),
            "--wnid",
            "n01440764",
            "--bbox",
            str(boxes),
        ]
    )
    assert "2 annotations" in res.stderr
    got = sorted(p.name for p in (dst / "bbox" / "train" / "n01440764").iterdir())
    assert got == sorted(n.rsplit(".", 1)[0] + ".xml" for n in wanted)


def test_bbox_annotations_from_an_archive(tree: Tree, tmp_path: Path) -> None:
    # ImageNet ships its boxes as archives: ILSVRC2012_bbox_train_v2.tar.gz holds
    # <wnid>/<image>.xml, the full release one <wnid>.tar.gz per synset. Both are read
    # as they are; members that could escape are refused and named.
    first, second = sorted(tree.files["n01440764"])[:2], sorted(tree.files["n02102040"])[:1]

    def xml(name: str) -> bytes:
        return f"<annotation><filename>{name[:-5]}</filename></annotation>".encode()

    nested = io.BytesIO()
    with tarfile.open(fileobj=nested, mode="w:gz") as inner:
        for name in second:
            add_bytes(inner, f"Annotation/n02102040/{name[:-5]}.xml", xml(name))
    archive = tmp_path / "boxes.tar.gz"
    with tarfile.open(archive, "w:gz") as outer:
        for name in first:
            add_bytes(outer, f"n01440764/{name[:-5]}.xml", xml(name))
        add_bytes(outer, "n01440764/n01440764_0.xml", b"<annotation/>")  # no such image
        add_bytes(outer, "n02102040.tar.gz", nested.getvalue())
        add_bytes(outer, f"../{first[0][:-5]}.xml", b"<evil/>")
    dst = tmp_path / "out"
    args = ["subset", "extract", "--from", str(tree.root), "--to", str(dst), "--bbox"]
    args += [str(archive), "--wnid", "n01440764", "--wnid", "n02102040"]
    res = run(args, expect=1)
    assert "3 annotations" in res.stderr
    errors = [line for line in res.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and f"!../{first[0][:-5]}.xml: '..' in path" in errors[0]
    for wnid, names in (("n01440764", first), ("n02102040", second)):
        for name in names:
            assert (dst / "bbox" / "train" / wnid / f"{name[:-5]}.xml").read_bytes() == xml(name)
    assert len(list((dst / "bbox").rglob("*.xml"))) == 3 and not (tmp_path / "evil.xml").exists()
    assert "3 annotations" in run(args, expect=1).stderr  # a rerun finds them in place


def test_copy_batches_keep_to_one_folder_each() -> None:
    # Threads creating files in one folder wait on its lock in the kernel: a batch
    # never spans two target folders, and the jobs keep their order.
    from types import SimpleNamespace
    from typing import Any, cast

    from imagenet_cli.subset.run import folder_batches

    def jobs(counts: dict[str, int]) -> list[Any]:
        return [
            SimpleNamespace(dest=f"/out/train/{w}/{w}_{i}.JPEG")
            for w, n in counts.items()
            for i in range(n)
        ]

    many = jobs({f"n{k:08d}": 3 + k for k in range(6)})
    batches = list(folder_batches(cast(Any, many), workers=2))
    assert [j for b in batches for j in b] == many
    assert [len(b) for b in batches] == [3 + k for k in range(6)]  # a whole folder each
    assert all(len({j.dest.rsplit("/", 1)[0] for j in b}) == 1 for b in batches)
    # Fewer folders than two per worker: each is shared out, so no thread idles.
    few = jobs({"n00000001": 10})
    assert [len(b) for b in folder_batches(cast(Any, few), workers=2)] == [5, 5]
    assert [len(b) for b in folder_batches(cast(Any, many), workers=2, cap=4)][:3] == [3, 4, 4]


def test_resize_batches_are_large_then_shrink_to_the_end() -> None:
    # Each batch costs the parent process CPU the workers need, so most are large;
    # the last ones are small so that both workers finish together. Order is kept.
    from typing import Any, cast

    from imagenet_cli.subset.run import shrinking_batches

    jobs = list(range(2000))
    sizes = [len(b) for b in shrinking_batches(cast(Any, jobs), workers=2)]
    assert [j for b in shrinking_batches(cast(Any, jobs), workers=2) for j in b] == jobs
    assert sizes[0] == 64 and max(sizes) == 64
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-2] == 4 and sizes[-1] <= 4  # the tail: a few images each
    assert len(sizes) < 2000 // 16  # far fewer than batches of 16
    assert [len(b) for b in shrinking_batches(cast(Any, list(range(10))), workers=2)] == [4, 4, 2]
    assert list(shrinking_batches([], workers=2)) == []


def test_hardlink_of_a_symlinked_source_links_the_image(tmp_path: Path) -> None:
    # A train folder of symbolic links into a flat store (relative, as `ln -s` makes them):
    # a hard link must reach the image, not copy the link, whose relative target means
    # nothing from the target folder.
    store, folder = tmp_path / "store", tmp_path / "train" / "n01440764"
    store.mkdir()
    folder.mkdir(parents=True)
    for i in range(2):
        (store / f"n01440764_{i}.JPEG").write_bytes(jpeg(i))
        (folder / f"n01440764_{i}.JPEG").symlink_to(f"../../store/n01440764_{i}.JPEG")
    dst = tmp_path / "out"
    run(
        [
            "subset",
            "extract",
            "--from",
            str(tmp_path / "train"),
            "--to",
            str(dst),
            "--mode",
            "hardlink",
        ]
    )
    for i in range(2):
        out = dst / "train" / "n01440764" / f"n01440764_{i}.JPEG"
        assert not out.is_symlink()
        assert out.stat().st_ino == (store / f"n01440764_{i}.JPEG").stat().st_ino


def test_a_target_whose_split_folder_is_the_source_is_refused(tree: Tree, tmp_path: Path) -> None:
    # --from X/train --to X: DST/train/<wnid>/ would be the source's own class folders, so
    # nothing could be written (each image "already there") and a resized PNG would land
    # beside its source.
    before = files_under(tree.root)
    args = ["subset", "extract", "--from", str(tree.root), "--resize", "16", "--wnid", QUIRKY]
    for dst in (tree.root.parent, tree.root.parent / "." / "x" / ".."):
        res = run([*args, "--to", str(dst)], expect=2)
        assert res.stderr.count("\n") == 1 and str(tree.root) in res.stderr
    assert files_under(tree.root) == before
    assert not (tree.root.parent / "manifest.csv").exists()


def test_quality_and_resize_mode_without_resize_are_no_other_settings(
    tree: Tree, tmp_path: Path
) -> None:
    dst = tmp_path / "out"
    base = ["subset", "extract", "--from", str(tree.root), "--to", str(dst), "--wnid", "n01440764"]
    run(base)
    res = run([*base, "--quality", "70", "--resize-mode", "longer"])  # bytes copied either way
    assert "0 written, 4 already there" in res.stderr


def test_a_second_run_into_the_same_folder_at_once_is_refused(tree: Tree, tmp_path: Path) -> None:
    from imagenet_cli.cache import file_lock

    dst = tmp_path / "out"
    args = ["subset", "extract", "--from", str(tree.root), "--to", str(dst), "--wnid", "n01440764"]
    with file_lock(dst / ".imagenet-subset.lock"):  # as the first run holds it
        res = run(args, expect=2)
    assert res.stderr == (
        f"imagenet: error: --to {dst}: another 'imagenet subset extract' is writing into "
        "this folder\n"
    )
    assert not (dst / "train").exists()
    assert "4 written" in run(args).stderr  # free again once the first run ends
    assert "4 written" not in run([*args, "--dry-run"]).stderr  # a plan takes no lock


def test_options_for_a_split_not_taken_are_named(
    tree: Tree, val_set: ValSet, tmp_path: Path
) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"{val_set.labels[s]}\n" for s in sorted(val_set.labels)))
    out = ["--to", str(tmp_path / "out"), "--dry-run"]
    res = run(["subset", "extract", "--from", str(val_set.root), *out, "--per-class", "1"])
    assert res.stderr.startswith(
        "imagenet: warning: --per-class applies to the train split, which this run does not "
        "take; not used (--val-per-class samples val)\n"
    )
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            *out,
            "--val-per-class",
            "1",
            "--val-labels",
            str(labels),
        ]
    )
    warned = [line for line in res.stderr.splitlines() if "which this run does not take" in line]
    assert [w.split()[2] for w in warned] == ["--val-per-class", "--val-labels"]


def test_a_symlink_rerun_trusts_the_manifest_as_other_modes_do(tree: Tree, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    args = ["subset", "extract", "--from", str(tree.root), "--to", str(dst), "--wnid"]
    run([*args, "n01440764", "--mode", "symlink"])
    text = (dst / "manifest.csv").read_text()
    row = manifest(dst)[0]
    marked = text.replace(
        f"{row['path']},{row['bytes']},{row['width']},", f"{row['path']},{row['bytes']},999,"
    )
    (dst / "manifest.csv").write_text(marked)
    res = run([*args, "n01440764", "--mode", "symlink"])
    assert "0 written, 4 already there" in res.stderr
    # the size matched, so the image was not opened again for its header
    assert manifest(dst)[0]["width"] == "999"


def test_the_run_lock_names_only_its_own_failures(tmp_path: Path) -> None:
    import pytest

    from imagenet_cli.errors import UsageError
    from imagenet_cli.subset.dst import writing

    with pytest.raises(FileNotFoundError), writing(tmp_path / "out"):
        raise FileNotFoundError(2, "No such file or directory", "source.JPEG")  # the run's
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="cannot write there"), writing(tmp_path / "file" / "o"):
        pass
