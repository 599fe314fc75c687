"""Source layouts: validation folder and tar by each label source, Kaggle, fetch, hostile tars."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import pytest

from imagenet_cli import releases
from imagenet_cli.subset.sources import detect_layout
from tests.conftest import run

from .conftest import Tree, ValSet, add_bytes, jpeg, tar_of_tars, val_xml, write_tree


def written(dst: Path, split: str = "val") -> dict[str, set[str]]:
    """class -> file names under DST/<split>/."""
    return {p.name: {f.name for f in p.iterdir()} for p in (dst / split).iterdir()}


def expected(val: ValSet) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for stem, wnid in val.labels.items():
        out.setdefault(wnid, set()).add(f"{stem}.JPEG")
    return out


def extract_all(src: Path, dst: Path, *extra: str, expect: int = 0) -> str:
    return run(
        ["subset", "extract", "--from", str(src), "--to", str(dst), "--split", "val", *extra],
        expect=expect,
    ).stderr


def test_val_folder_with_built_in_labels(val_set: ValSet, tmp_path: Path) -> None:
    assert detect_layout(val_set.root) == "val-folder"
    extract_all(val_set.root, tmp_path / "o")
    assert written(tmp_path / "o") == expected(val_set)
    for wnid, names in expected(val_set).items():
        for name in names:
            assert (tmp_path / "o" / "val" / wnid / name).read_bytes() == val_set.data[name]


def test_val_tar_with_built_in_labels(val_set: ValSet, tmp_path: Path) -> None:
    tar = tmp_path / "ILSVRC2012_img_val.tar"
    with tarfile.open(tar, "w") as tf:
        for name, data in sorted(val_set.data.items()):
            add_bytes(tf, name, data)
    assert detect_layout(tar) == "val-tar"
    extract_all(tar, tmp_path / "o", "--val-per-class", "1")
    got = written(tmp_path / "o")
    assert set(got) == set(expected(val_set)) and all(len(v) == 1 for v in got.values())


def _shifted(val: ValSet) -> dict[str, str]:
    """Labels unlike the built-in ones (so a test can tell which source was used)."""
    ilsvrc = releases.classes("ilsvrc2012")
    return {s: ilsvrc[(ilsvrc.index(w) + 1) % 1000] for s, w in val.labels.items()}


def test_kaggle_solution_csv(val_set: ValSet, tmp_path: Path) -> None:
    labels = _shifted(val_set)
    sol = tmp_path / "LOC_val_solution.csv"
    with open(sol, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ImageId", "PredictionString"])
        for stem, wnid in labels.items():
            w.writerow([stem, f"{wnid} 1 2 30 20 {wnid} 3 4 10 10"])
    extract_all(val_set.root, tmp_path / "o", "--val-labels", str(sol))
    assert written(tmp_path / "o") == expected(ValSet(val_set.root, labels, val_set.data))


def test_label_files_saved_with_a_byte_order_mark(val_set: ValSet, tmp_path: Path) -> None:
    # Windows editors and Excel save UTF-8 with a BOM; the header must still be known.
    labels = _shifted(val_set)
    sol = tmp_path / "LOC_val_solution.csv"
    rows = [f"{stem},{wnid} 1 2 30 20" for stem, wnid in labels.items()]
    sol.write_text("\ufeffImageId,PredictionString\r\n" + "\r\n".join(rows) + "\r\n")
    extract_all(val_set.root, tmp_path / "o", "--val-labels", str(sol))
    assert written(tmp_path / "o") == expected(ValSet(val_set.root, labels, val_set.data))
    wnids = tmp_path / "wnids.txt"
    wnids.write_text("\ufeff" + "".join(f"{labels[s]}\n" for s in sorted(labels)))
    extract_all(val_set.root, tmp_path / "o2", "--val-labels", str(wnids))
    assert written(tmp_path / "o2") == expected(ValSet(val_set.root, labels, val_set.data))


def test_devkit_ground_truth_with_devkit_synsets(val_set: ValSet, tmp_path: Path) -> None:
    # A devkit-style class order unlike the sorted one: ids count from the end.
    order = list(reversed(releases.classes("ilsvrc2012")))
    synsets = tmp_path / "devkit_synsets.txt"
    synsets.write_text("\n".join(order) + "\n")
    labels = _shifted(val_set)
    gt = tmp_path / "ILSVRC2012_validation_ground_truth.txt"
    gt.write_text("".join(f"{order.index(labels[s]) + 1}\n" for s in sorted(labels)))
    extract_all(
        val_set.root, tmp_path / "o", "--val-labels", str(gt), "--devkit-synsets", str(synsets)
    )
    assert written(tmp_path / "o") == expected(ValSet(val_set.root, labels, val_set.data))


def test_devkit_ground_truth_order_derived_from_built_in_labels(
    val_set: ValSet, tmp_path: Path
) -> None:
    order = list(reversed(releases.classes("ilsvrc2012")))
    ids = [order.index(w) + 1 for w in releases.val_labels()]
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{i}\n" for i in ids))
    extract_all(val_set.root, tmp_path / "o", "--val-labels", str(gt))
    assert written(tmp_path / "o") == expected(val_set)
    # ids that contradict the built-in labels cannot be mapped: the user must name the order
    ids[3] = ids[0] if ids[0] != ids[3] else ids[1]
    gt.write_text("".join(f"{i}\n" for i in ids))
    err = extract_all(val_set.root, tmp_path / "o2", "--val-labels", str(gt), expect=2)
    assert "--devkit-synsets" in err and "line 4" in err


def test_folder_of_bbox_xmls_as_labels(val_set: ValSet, tmp_path: Path) -> None:
    labels = _shifted(val_set)
    xmls = tmp_path / "xml"
    xmls.mkdir()
    for stem, wnid in labels.items():
        (xmls / f"{stem}.xml").write_text(val_xml(stem, wnid))
    extract_all(val_set.root, tmp_path / "o", "--val-labels", str(xmls))
    assert written(tmp_path / "o") == expected(ValSet(val_set.root, labels, val_set.data))
    (xmls / "evil.xml").write_text('<!DOCTYPE a [<!ENTITY x "y">]><annotation/>')
    err = extract_all(val_set.root, tmp_path / "o2", "--val-labels", str(xmls), expect=2)
    assert "evil.xml" in err and "refused" in err


def test_kaggle_layout_both_splits(val_set: ValSet, tmp_path: Path) -> None:
    root = tmp_path / "kaggle"
    cls = root / "ILSVRC" / "Data" / "CLS-LOC"
    wnids = sorted(set(val_set.labels.values()))[:3]
    write_tree(cls / "train", wnids, 3, quirks=False)
    (cls / "val").mkdir(parents=True)
    with open(root / "LOC_val_solution.csv", "w") as fh:
        fh.write("ImageId,PredictionString\n")
        for stem, wnid in val_set.labels.items():
            (cls / "val" / f"{stem}.JPEG").write_bytes(val_set.data[f"{stem}.JPEG"])
            fh.write(f"{stem},{wnid} 1 1 5 5\n")
    assert detect_layout(root) == "kaggle"
    dst = tmp_path / "o"
    run(
        [
            "subset",
            "extract",
            "--from",
            str(root),
            "--to",
            str(dst),
            "--split",
            "both",
            *[a for w in wnids for a in ("--wnid", w)],
        ]
    )
    assert sorted(written(dst, "train")) == wnids == sorted(written(dst, "val"))
    want = expected(val_set)
    assert all(written(dst, "val")[w] == want[w] for w in wnids)


def test_fetch_folder(tmp_path: Path) -> None:
    root = tmp_path / "fetched"
    for i, wnid in enumerate(("n01440764", "n02102040")):
        (root / wnid).mkdir(parents=True)
        (root / wnid / f"{100 + i}.jpg").write_bytes(jpeg(i))
        (root / wnid / f"{200 + i}.png").write_bytes(jpeg(i + 9))
        (root / wnid / f".{300 + i}.jpg.part").write_bytes(b"partial")
    (root / "manifest.jsonl").write_text('{"wnid": "n01440764"}\n')
    assert detect_layout(root) == "fetch"
    dst = tmp_path / "o"
    run(["subset", "extract", "--from", str(root), "--to", str(dst), "--resize", "16"])
    assert written(dst, "train") == {
        "n01440764": {"100.jpg", "200.JPEG"},
        "n02102040": {"101.jpg", "201.JPEG"},
    }


def test_train_and_val_from_two_sources(val_set: ValSet, tmp_path: Path) -> None:
    wnids = sorted(set(val_set.labels.values()))[:2]
    extra = write_tree(tmp_path / "extra", [*wnids, "n01440764"], 2, quirks=False)
    tar = tar_of_tars(extra, tmp_path / "extra.tar")
    dst = tmp_path / "o"
    # --under keeps the classes both splits hold (train and val share one class list)
    run(
        [
            "subset",
            "extract",
            "--from",
            str(tar),
            "--from",
            str(val_set.root),
            "--to",
            str(dst),
            "--split",
            "both",
            "--under",
            "entity.n.01",
        ]
    )
    assert sorted(written(dst, "train")) == wnids == sorted(written(dst, "val"))


def test_a_source_of_a_split_not_taken_is_named(val_set: ValSet, tmp_path: Path) -> None:
    # Without --split, train is taken: a second --from holding only val is not used, and
    # the user who gave it is told so instead of finding no val folder later.
    wnids = sorted(set(val_set.labels.values()))[:2]
    train = write_tree(tmp_path / "train", wnids, 2, quirks=False).root
    dst = tmp_path / "o"
    args = ["subset", "extract", "--from", str(train), "--from", str(val_set.root)]
    res = run([*args, "--to", str(dst)])
    assert not (dst / "val").exists()
    warning = [line for line in res.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and str(val_set.root) in warning[0] and "--split" in warning[0]
    res = run([*args, "--to", str(tmp_path / "o2"), "--split", "both"])
    assert "not used" not in res.stderr


def hostile_tar(path: Path) -> Path:
    """A tar of tars whose class tar holds one good image and every kind of escape."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as inner:
        add_bytes(inner, "n01440764_1.JPEG", jpeg(1))
        add_bytes(inner, "../escape.JPEG", jpeg(2))
        add_bytes(inner, "/abs.JPEG", jpeg(3))
        for kind, name in ((tarfile.SYMTYPE, "sym.JPEG"), (tarfile.LNKTYPE, "hard.JPEG")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "/etc/passwd"
            inner.addfile(info)
    with tarfile.open(path, "w") as outer:
        add_bytes(outer, "n01440764.tar", buf.getvalue())
        add_bytes(outer, "../n02102040.tar", buf.getvalue())
    return path


def test_hostile_tar_members_are_refused(tmp_path: Path) -> None:
    tar = hostile_tar(tmp_path / "evil.tar")
    dst = tmp_path / "deep" / "o"
    res = run(["subset", "extract", "--from", str(tar), "--to", str(dst)], expect=1)
    errors = [line for line in res.stderr.splitlines() if "error:" in line]
    assert len(errors) == 5, res.stderr
    text = "\n".join(errors)
    for member in ("../escape.JPEG", "/abs.JPEG", "sym.JPEG", "hard.JPEG", "../n02102040.tar"):
        assert member in text
    assert "link" in text and "escape" in text
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.JPEG")] == [
        "deep/o/train/n01440764/n01440764_1.JPEG"
    ]
    # the summary counts them: exit 1 never comes with "0 failed" and nothing else
    assert "1 written, 0 already there, 0 failed, 5 refused in the source" in res.stderr
    # refused members are reported on every run, also from the cached index
    again = run(["subset", "extract", "--from", str(tar), "--to", str(dst)], expect=1)
    assert again.stderr.count("error:") == 5 and "1 already there" in again.stderr
    assert "0 failed, 5 refused in the source" in again.stderr


def test_cut_off_tar_gives_what_is_whole(tree: Tree, tmp_path: Path) -> None:
    # An interrupted download of the train tar: classes before the cut are used, the one
    # it cuts keeps its whole images, later ones are missing, and every run says why.
    full = tar_of_tars(tree, tmp_path / "full.tar")
    with tarfile.open(full) as tf:
        members = tf.getmembers()
    cut_in = members[2]
    size = cut_in.offset_data + cut_in.size // 2
    cut = tmp_path / "cut.tar"
    cut.write_bytes(full.read_bytes()[:size])
    first, third, fourth = (m.name[: -len(".tar")] for m in (members[0], members[2], members[3]))

    def extract(dst: str, wnid: str, expect: int) -> str:
        args = ["subset", "extract", "--from", str(cut), "--to", str(tmp_path / dst)]
        return run([*args, "--wnid", wnid], expect=expect).stderr

    why = f"member {cut_in.name}: the archive ends at byte {size:,}"
    assert why in extract("a", first, 1)
    assert written(tmp_path / "a", "train") == {first: set(tree.files[first])}
    for name, data in tree.files[first].items():
        assert (tmp_path / "a" / "train" / first / name).read_bytes() == data
    assert why in extract("b", third, 1)  # and again from the cached index
    got = written(tmp_path / "b", "train")[third]
    assert got and got < set(tree.files[third])  # some of it, each image whole
    for name in got:
        assert (tmp_path / "b" / "train" / third / name).read_bytes() == tree.files[third][name]
    stderr = extract("c", fourth, 3)
    assert why in stderr and f"lacks 1 selected class(es) in its train split: {fourth}" in stderr


@pytest.mark.parametrize("layout", ["imagefolder", "fetch", "val-folder"])
def test_a_layout_that_finds_no_class_says_so(
    tree: Tree, val_set: ValSet, layout: str, tmp_path: Path
) -> None:
    # A flat val folder read as class folders (or class folders as a flat val folder)
    # finds nothing: the error names the source and its layout, not "the selection".
    src = tree.root if layout == "val-folder" else val_set.root
    args = ["--from", str(src), "--to", str(tmp_path / "o"), "--layout", layout]
    res = run(["subset", "extract", *args], expect=3)
    assert res.stderr.count("\n") == 1
    assert f"{src}: no class with images found as layout {layout}" in res.stderr


@pytest.mark.parametrize("layout", ["train-tar", "val-folder"])
def test_wrong_layout_is_a_usage_error(train_tar: Path, layout: str, tmp_path: Path) -> None:
    src = train_tar if layout == "val-folder" else train_tar.parent / "train"
    res = run(
        ["subset", "extract", "--from", str(src), "--to", str(tmp_path / "o"), "--layout", layout],
        expect=2,
    )
    assert "layout" in res.stderr


def test_missing_source_is_not_found(tmp_path: Path) -> None:
    res = run(
        ["subset", "extract", "--from", str(tmp_path / "nope"), "--to", str(tmp_path / "o")],
        expect=3,
    )
    assert "no such file" in res.stderr
