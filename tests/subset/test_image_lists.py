"""Image lists: ``--images FILE|-`` and the SimCLR presets, over every layout with names."""

from __future__ import annotations

import csv
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from imagenet_cli import releases
from imagenet_cli.subset import image_lists
from tests.conftest import run

from .conftest import Tree, ValSet, add_bytes, jpeg, tar_of_tars

LIST = image_lists.names("simclr-1pct")
CLASSES = sorted({n.split("_", 1)[0] for n in LIST})[:24]  # the fixture's classes
IN_CLASSES = [n for n in LIST if n.split("_", 1)[0] in CLASSES]  # about 300 listed names
HELD_BACK = IN_CLASSES[5::60]  # listed, of a class the fixture has, yet not in the fixture


@dataclass
class Simclr:
    """A train folder and train tar holding part of the SimCLR 1 % images."""

    tree: Tree
    tar: Path
    listed: dict[str, bytes]  # "wnid/name" -> bytes, the listed images the fixture holds
    extra: list[str]  # "wnid/name" of images the fixture holds that the list does not name


@pytest.fixture
def simclr(tmp_path: Path) -> Simclr:
    root = tmp_path / "train"
    tree = Tree(root)
    listed: dict[str, bytes] = {}
    extra = []
    for seed, name in enumerate(IN_CLASSES):
        if name in HELD_BACK:
            continue
        wnid = name.split("_", 1)[0]
        data = jpeg(seed, (16 + seed % 9, 12))
        tree.files.setdefault(wnid, {})[name] = data
        listed[f"{wnid}/{name}"] = data
    for n, wnid in enumerate(CLASSES[:6]):  # names the list does not hold, beside its own
        name = f"{wnid}_{990_000 + n}.JPEG"
        assert name not in LIST
        tree.files[wnid][name] = jpeg(5_000 + n, (20, 12))
        extra.append(f"{wnid}/{name}")
    for wnid, files in tree.files.items():
        (root / wnid).mkdir(parents=True)
        for name, data in files.items():
            (root / wnid / name).write_bytes(data)
    tar = tar_of_tars(tree, tmp_path / "ILSVRC2012_img_train.tar")
    return Simclr(tree, tar, listed, extra)


def written(dst: Path, split: str = "train") -> dict[str, bytes]:
    """ "wnid/name" -> bytes of every image under DST/<split>/."""
    return {
        f"{p.parent.name}/{p.name}": p.read_bytes()
        for p in sorted((dst / split).glob("*/*"))
        if p.is_file()
    }


def extract(*args: str, expect: int = 0, input: str | None = None) -> str:
    return run(["subset", "extract", *args], expect=expect, input=input).stderr


@pytest.mark.parametrize("source", ["folder", "tar"])
def test_simclr_1pct_gives_exactly_the_listed_images_the_source_holds(
    simclr: Simclr, source: str, tmp_path: Path
) -> None:
    src = simclr.tree.root if source == "folder" else simclr.tar
    dst = tmp_path / "semi"
    err = extract(
        "--from", str(src), "--to", str(dst), "--preset", "simclr-1pct", "--allow-missing"
    )
    assert written(dst) == simclr.listed  # the listed images, byte for byte, and no other
    assert sorted(p.name for p in (dst / "train").iterdir()) == CLASSES
    index = (dst / "classes.tsv").read_text().splitlines()[1:]
    assert [line.split("\t")[1] for line in index] == CLASSES
    with open(dst / "manifest.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(f"{r['wnid']}/{Path(r['path']).name}" for r in rows) == sorted(simclr.listed)
    # the rest is reported: the first few a line each, with the list and line, then a count
    lacking = len(LIST) - len(simclr.listed)
    first = [i for i, n in enumerate(LIST, 1) if f"{n.split('_')[0]}/{n}" not in simclr.listed]
    for number in first[:5]:
        name = LIST[number - 1]
        assert f"simclr-1pct: line {number}: {name}: not in the train split" in err
    assert f"simclr-1pct: line {first[5]}:" not in err
    assert f"{lacking:,} listed image(s) not in {src} ({lacking - 5:,} not shown); skipped" in err
    assert f"{len(simclr.listed):,} written" in err


def test_without_allow_missing_the_names_the_source_lacks_stop_the_run(
    simclr: Simclr, tmp_path: Path
) -> None:
    dst = tmp_path / "semi"
    err = extract("--from", str(simclr.tar), "--to", str(dst), "--preset", "simclr-1pct", expect=3)
    assert not dst.exists()  # nothing written
    lacking = len(LIST) - len(simclr.listed)
    assert f"lacks {lacking:,} listed image(s) ({lacking - 5:,} not shown)" in err
    assert "(--allow-missing skips them)" in err


def test_each_name_the_source_lacks_is_named_with_its_list_and_line(
    simclr: Simclr, tmp_path: Path
) -> None:
    present = sorted(simclr.listed)[:3]
    absent_class = next(n for n in LIST if n.split("_", 1)[0] not in CLASSES)
    lines = [present[0], HELD_BACK[0], present[1], absent_class, present[2]]
    listing = tmp_path / "mine.txt"
    listing.write_text("".join(f"{n.split('/')[-1]}\n" for n in lines))
    dst = tmp_path / "o"
    common = ["--from", str(simclr.tree.root), "--to", str(dst), "--images", str(listing)]
    err = extract(*common, expect=3)
    assert f"{listing}: line 2: {HELD_BACK[0]}: not in the train split of the source\n" in err
    assert f"{listing}: line 4: {absent_class}: not in the train split of the source" in err
    assert "(nor is its class)" in err.splitlines()[1]
    assert "lacks 2 listed image(s) (--allow-missing skips them)" in err
    assert not dst.exists()
    err = extract(*common, "--allow-missing")
    assert set(written(dst)) == set(present)
    assert "2 listed image(s) not in" in err


def test_a_list_from_stdin_with_paths_comments_and_columns(simclr: Simclr, tmp_path: Path) -> None:
    chosen = sorted(simclr.listed)[:4]
    wnid = chosen[0].split("/")[0]
    text = (
        "\ufeff# my labelled images\n"
        "\n"
        f"train/{chosen[0]}\r\n"  # a path, a Windows line end
        f"/data/imagenet/../imagenet/train/{chosen[1]}  # a comment\n"
        f"C:\\ImageNet\\train\\{chosen[2].replace('/', chr(92))}\n"  # a Windows path
        f"{chosen[3].split('/')[1]}\t{wnid}\t0\n"  # a tsv row: its first column
    )
    dst = tmp_path / "o"
    extract("--from", str(simclr.tar), "--to", str(dst), "--images", "-", input=text)
    assert written(dst) == {k: simclr.listed[k] for k in chosen}


def test_duplicates_are_taken_once_with_a_warning(simclr: Simclr, tmp_path: Path) -> None:
    one = sorted(simclr.listed)[0]
    name = one.split("/")[1]
    listing = tmp_path / "dup.txt"
    listing.write_text(f"{name}\ntrain/{one}\n{name.replace('.JPEG', '.jpg')}\n")
    dst = tmp_path / "o"
    err = extract("--from", str(simclr.tree.root), "--to", str(dst), "--images", str(listing))
    assert written(dst) == {one: simclr.listed[one]}
    assert (
        f"2 image(s) listed more than once (e.g. {listing}: line 2: {name}); each is taken once"
        in err
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            b"n01440764_1.JPEG\nfoo.JPEG\n",
            "line 2: foo.JPEG: not an ImageNet image name, so no class",
        ),
        (b"../../etc/passwd\n", "line 1: ../../etc/passwd: not an ImageNet image name"),
        (b"n01440764_1.JPEG/..\n", "line 1: n01440764_1.JPEG/..: not an ImageNet image name"),
        (b"n01440764_1.xml\n", "line 1: n01440764_1.xml: not an image name"),
        (b"ok\nn01440764_\xff\xfe.JPEG\n", "line 2: n01440764_\\xff\\xfe.JPEG: not valid UTF-8"),
        (b"n01440764_1.JPEG\n" + b"x" * 100_000 + b"\n", "line 2: xxxx"),
    ],
)
def test_hostile_lines_are_named_and_nothing_is_written(
    simclr: Simclr, tmp_path: Path, content: bytes, said: str
) -> None:
    listing = tmp_path / "bad.txt"
    listing.write_bytes(content)
    dst = tmp_path / "o"
    err = extract("--from", str(simclr.tar), "--to", str(dst), "--images", str(listing), expect=2)
    assert f"{listing}: {said}" in err
    assert "Traceback" not in err and not dst.exists()


def test_every_bad_line_is_counted_and_a_file_that_is_no_list_stops_early(
    simclr: Simclr, tmp_path: Path
) -> None:
    listing = tmp_path / "bad.txt"
    listing.write_text("".join(f"junk{i}\n" for i in range(8)))
    err = extract(
        "--from", str(simclr.tar), "--to", str(tmp_path / "o"), "--images", str(listing), expect=2
    )
    assert err.count("not an ImageNet image name") == 5
    assert "3 more line(s) are not image names" in err
    # a file that is no list at all: given up after 1,000 bad lines, the rest never read
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"".join(b"\x00\xff junk %d\n" % i for i in range(50_000)))
    err = extract(
        "--from", str(simclr.tar), "--to", str(tmp_path / "o"), "--images", str(junk), expect=2
    )
    assert f"{junk}: 1,000 lines are no image name; not a list of image names" in err
    assert err.count("not valid UTF-8") == 5 and "Traceback" not in err


def test_stdin_that_is_not_utf8_is_named_by_line(simclr: Simclr, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from imagenet_cli.cli.app import app

    one = sorted(simclr.listed)[0].split("/")[1]
    args = ["subset", "extract", "--from", str(simclr.tar), "--to", str(tmp_path / "o")]
    res = CliRunner().invoke(
        app, [*args, "--images", "-"], input=f"{one}\n\xe9t\xe9\n".encode("latin-1")
    )
    assert res.exit_code == 2
    assert "<stdin>: line 2: \\xe9t\\xe9: not valid UTF-8" in res.stderr
    assert not (tmp_path / "o").exists()


def test_a_list_that_cannot_be_read(simclr: Simclr, tmp_path: Path) -> None:
    common = ["--from", str(simclr.tar), "--to", str(tmp_path / "o")]
    assert "nope.txt: no such file" in extract(
        *common, "--images", str(tmp_path / "nope.txt"), expect=3
    )
    assert "cannot read" in extract(*common, "--images", str(tmp_path), expect=3)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    assert "no image name in the list" in extract(*common, "--images", str(empty), expect=2)


def test_class_options_narrow_the_listed_images(simclr: Simclr, tmp_path: Path) -> None:
    common = ["--from", str(simclr.tree.root), "--preset", "simclr-1pct", "--allow-missing"]
    dst = tmp_path / "one"
    err = extract(*common, "--to", str(dst), "--wnid", CLASSES[0])
    assert written(dst) == {k: v for k, v in simclr.listed.items() if k.startswith(CLASSES[0])}
    assert "listed image(s) of classes not taken (outside the class options" in err
    # --per-class samples among the listed images, seeded; --classes K among their classes
    dst = tmp_path / "two"
    extract(*common, "--to", str(dst), "--per-class", "2", "--classes", "3", "--seed", "4")
    got = written(dst)
    assert len({k.split("/")[0] for k in got}) == 3 and len(got) == 6
    assert set(got) <= set(simclr.listed)
    again = tmp_path / "again"
    extract(*common, "--to", str(again), "--per-class", "2", "--classes", "3", "--seed", "4")
    assert written(again) == got
    # a class preset intersects: simclr-1pct within Imagenette (tench is of the fixture)
    dst = tmp_path / "nette"
    extract(*common, "--to", str(dst), "--preset", "imagenette")
    assert {k.split("/")[0] for k in written(dst)} == set(CLASSES) & set(
        releases.classes("imagenette")
    )


def test_dry_run_counts_the_listed_images_found(simclr: Simclr, tmp_path: Path) -> None:
    out = run(
        [
            "subset",
            "extract",
            "--from",
            str(simclr.tar),
            "--to",
            str(tmp_path / "o"),
            "--preset",
            "simclr-1pct",
            "--allow-missing",
            "--dry-run",
            "-f",
            "tsv",
        ]
    ).lines
    rows = {line.split("\t")[1]: line.split("\t") for line in out[1:]}
    assert sorted(rows) == CLASSES
    for wnid, row in rows.items():
        held = sum(1 for k in simclr.listed if k.startswith(wnid))
        assert row[2] == row[3] == str(held)  # available: the listed images found, not all
    assert not (tmp_path / "o").exists()


def test_fetch_folder_names_match_by_stem(simclr: Simclr, tmp_path: Path) -> None:
    root = tmp_path / "fetched"
    for key, data in list(simclr.listed.items())[:10]:
        wnid, name = key.split("/")
        (root / wnid).mkdir(parents=True, exist_ok=True)
        (root / wnid / name.replace(".JPEG", ".jpg")).write_bytes(data)
    (root / "manifest.jsonl").write_text(json.dumps({"wnid": CLASSES[0]}) + "\n")
    dst = tmp_path / "o"
    extract("--from", str(root), "--to", str(dst), "--preset", "simclr-1pct", "--allow-missing")
    want = {k.replace(".JPEG", ".jpg"): v for k, v in list(simclr.listed.items())[:10]}
    assert written(dst) == want


def test_kaggle_train_and_val_names(val_set: ValSet, simclr: Simclr, tmp_path: Path) -> None:
    root = tmp_path / "kaggle"
    loc = root / "ILSVRC" / "Data" / "CLS-LOC"
    val_names = sorted(val_set.data)[:4]
    val_classes = sorted({val_set.labels[n.rsplit(".", 1)[0]] for n in val_names})
    train = {f"{w}/{w}_7.JPEG": jpeg(n, (16, 12)) for n, w in enumerate(val_classes)}
    lone = sorted(simclr.listed)[0]  # listed, but its class has no val image
    train[lone] = simclr.listed[lone]
    for key, data in train.items():
        (loc / "train" / key).parent.mkdir(parents=True, exist_ok=True)
        (loc / "train" / key).write_bytes(data)
    (loc / "val").mkdir(parents=True)
    rows = ["ImageId,PredictionString"]
    for name, data in val_set.data.items():
        (loc / "val" / name).write_bytes(data)
        stem = name.rsplit(".", 1)[0]
        rows.append(f"{stem},{val_set.labels[stem]} 1 2 3 4")
    (root / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    listing = tmp_path / "mixed.txt"
    listing.write_text("".join(f"{k.split('/')[-1]}\n" for k in [*train, *val_names]))
    # train and val names: both splits taken, each narrowed to its names; the class of
    # the lone train name has no val image, so it is left out (one class list for both)
    dst = tmp_path / "o"
    err = extract("--from", str(root), "--to", str(dst), "--images", str(listing))
    assert written(dst) == {k: v for k, v in train.items() if k != lone}
    assert set(written(dst, "val")) == {
        f"{val_set.labels[n.rsplit('.', 1)[0]]}/{n}" for n in val_names
    }
    assert "1 listed image(s) of classes not taken" in err


def test_val_names_in_a_val_folder_and_val_tar(val_set: ValSet, tmp_path: Path) -> None:
    tar = tmp_path / "ILSVRC2012_img_val.tar"
    with tarfile.open(tar, "w") as tf:
        for name, data in sorted(val_set.data.items()):
            add_bytes(tf, name, data)
    names = sorted(val_set.data)[3:9]
    listing = tmp_path / "val.txt"
    listing.write_text("".join(f"val/{n}\n" for n in names) + "ILSVRC2012_val_00000045.JPEG\n")
    want = {f"{val_set.labels[n.rsplit('.', 1)[0]]}/{n}": val_set.data[n] for n in names}
    for src in (val_set.root, tar):
        dst = tmp_path / f"o-{src.name}"
        args = ["--from", str(src), "--to", str(dst), "--images", str(listing)]
        err = extract(*args, expect=3)
        assert f"{listing}: line 7: ILSVRC2012_val_00000045.JPEG: not in the val split" in err
        extract(*args, "--allow-missing")
        assert written(dst, "val") == want  # the val split is taken: the list names val images
        assert not (dst / "train").exists()


def test_a_val_name_beyond_the_labels_is_reported(val_set: ValSet, tmp_path: Path) -> None:
    listing = tmp_path / "val.txt"
    listing.write_text("ILSVRC2012_val_00000001.JPEG\nILSVRC2012_val_00099999.JPEG\n")
    args = ["--from", str(val_set.root), "--to", str(tmp_path / "o"), "--images", str(listing)]
    err = extract(*args, expect=3)
    assert f"{listing}: line 2: ILSVRC2012_val_00099999.JPEG: has no validation label" in err


def test_split_both_takes_a_split_the_list_does_not_name_whole(
    val_set: ValSet, tmp_path: Path
) -> None:
    # the semi-supervised set-up: the listed train images, and all val images of their classes
    wnids = sorted({val_set.labels[s] for s in sorted(val_set.labels)[:3]})
    train = tmp_path / "train"
    names = []
    for n, wnid in enumerate(wnids):
        (train / wnid).mkdir(parents=True)
        for k in (1, 2):
            (train / wnid / f"{wnid}_{k}.JPEG").write_bytes(jpeg(n * 10 + k, (16, 12)))
        names.append(f"{wnid}_2.JPEG")
    listing = tmp_path / "l.txt"
    listing.write_text("\n".join(names) + "\n")
    dst = tmp_path / "o"
    common = ["--from", str(train), "--from", str(val_set.root), "--to", str(dst)]
    extract(*common, "--images", str(listing), "--split", "both")
    assert set(written(dst)) == {f"{n.split('_')[0]}/{n}" for n in names}
    want_val = {f"{w}/{s}.JPEG" for s, w in val_set.labels.items() if w in wnids}
    assert set(written(dst, "val")) == want_val
    # --split val with a list of train names: nothing of it could be taken
    err = extract(*common, "--images", str(listing), "--split", "val", expect=2)
    assert f"{listing}: names train images; this run takes the val split (--split)" in err


def test_stdin_is_read_once_across_images_and_ids(simclr: Simclr, tmp_path: Path) -> None:
    err = extract(
        "--from",
        str(simclr.tar),
        "--to",
        str(tmp_path / "o"),
        "--images",
        "-",
        "--wnids",
        "-",
        input="x\n",
        expect=2,
    )
    assert "stdin ('-') can be read once" in err


def test_presets_list_image_counts_and_show_gives_the_classes() -> None:
    rows = {r.split("\t")[0]: r.split("\t") for r in run(["subset", "presets", "-f", "tsv"]).lines}
    assert rows["simclr-1pct"][1:4] == ["images", "1000", "12811"]
    assert rows["simclr-10pct"][1:4] == ["images", "1000", "128116"]
    assert len(image_lists.names("simclr-10pct")) == 128_116
    assert run(["subset", "show", "simclr-1pct", "-f", "ids"]).lines == releases.classes(
        "ilsvrc2012"
    )


def test_the_shipped_lists_are_the_upstream_files() -> None:
    import gzip
    import hashlib

    recorded = {
        "simclr-1pct": "71e82a48ba78252683ae334c4d019ebd5c6e855b9599c1389fbe83eb9549cf17",
        "simclr-10pct": "6d09de11e7bdaf5b1f3b1f249b6183695f97310cdd20f0c03e7235b6b9392091",
    }
    for name, digest in recorded.items():
        data = gzip.decompress((image_lists.IMAGES / f"{name}.txt.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest
    provenance = (releases.DATA / "PROVENANCE.md").read_text()
    licences = (releases.DATA / "LICENSES.md").read_text()
    for name in recorded:
        assert f"`images/{name}.txt.gz`" in provenance and f"`{name}`" in licences
    assert "Apache-2.0 (google-research/simclr)" in licences


def test_a_source_holding_none_of_the_listed_images_stops_even_when_allowed(
    simclr: Simclr, tmp_path: Path
) -> None:
    listing = tmp_path / "l.txt"
    listing.write_text(f"{HELD_BACK[0]}\n{HELD_BACK[1]}\n")  # of the fixture's classes, not in it
    args = ["--from", str(simclr.tar), "--to", str(tmp_path / "o"), "--images", str(listing)]
    err = extract(*args, "--allow-missing", expect=3)
    assert f"none of the 2 listed image(s) is in {simclr.tar}" in err
    assert f"{listing}: line 1: {HELD_BACK[0]}: not in the train split of the source\n" in err
    assert not (tmp_path / "o").exists()


def test_an_unknown_preset_names_the_image_lists_too(simclr: Simclr, tmp_path: Path) -> None:
    args = ["--from", str(simclr.tar), "--to", str(tmp_path / "o"), "--preset", "simclr-2pct"]
    err = extract(*args, expect=3)
    assert "unknown release or preset 'simclr-2pct'" in err
    assert "image lists: simclr-1pct, simclr-10pct" in err
    assert "image lists: simclr-1pct" in run(["subset", "show", "nope"], expect=3).stderr


def test_imagefolder_with_val_class_folders(val_set: ValSet, tmp_path: Path) -> None:
    # ROOT/train/<wnid>/ and ROOT/val/<wnid>/: a val name's class comes from the labels
    root = tmp_path / "imagenet"
    for name, data in val_set.data.items():
        wnid = val_set.labels[name.rsplit(".", 1)[0]]
        (root / "val" / wnid).mkdir(parents=True, exist_ok=True)
        (root / "val" / wnid / name).write_bytes(data)
        (root / "train" / wnid).mkdir(parents=True, exist_ok=True)
        (root / "train" / wnid / f"{wnid}_1.JPEG").write_bytes(data)
    names = sorted(val_set.data)[:3]
    listing = tmp_path / "l.txt"
    listing.write_text("".join(f"{n}\n" for n in names))
    dst = tmp_path / "o"
    extract("--from", str(root), "--to", str(dst), "--images", str(listing))
    assert written(dst, "val") == {
        f"{val_set.labels[n.rsplit('.', 1)[0]]}/{n}": val_set.data[n] for n in names
    }
    assert not (dst / "train").exists()  # the list names val images only
