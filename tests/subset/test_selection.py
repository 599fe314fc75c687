"""Choosing classes: presets, subtrees, random K, missing classes; the preset commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagenet_cli import releases
from imagenet_cli.hierarchy import Hierarchy
from tests.conftest import run

from .conftest import IMAGENETTE, OTHERS, Tree, jpeg

IMAGENET = str(Path(sys.executable).with_name("imagenet"))


def classes_of(dst: Path, split: str = "train") -> list[str]:
    return sorted(p.name for p in (dst / split).iterdir())


def planned(src: Path, *args: str, expect: int = 0) -> list[str]:
    """The classes a dry run would extract."""
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(src),
            "--to",
            "unused",
            "--dry-run",
            "-f",
            "tsv",
            *args,
        ],
        expect=expect,
    )
    return [line.split("\t")[1] for line in res.lines[1:]]


@pytest.fixture(scope="module")
def all_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A train folder holding every ILSVRC-2012 class, one tiny image each."""
    root = tmp_path_factory.mktemp("ilsvrc") / "train"
    data = jpeg(1, (8, 8))
    for wnid in releases.classes("ilsvrc2012"):
        os.makedirs(root / wnid)
        (root / wnid / f"{wnid}_1.JPEG").write_bytes(data)
    return root


def test_imagenette_preset_gives_exactly_its_ten_classes(tree: Tree, tmp_path: Path) -> None:
    assert len(tree.files) == 13
    dst = tmp_path / "o"
    run(["subset", "extract", "--from", str(tree.root), "--to", str(dst), "--preset", "imagenette"])
    assert classes_of(dst) == IMAGENETTE == releases.classes("imagenette")


def test_under_dog_gives_the_dog_classes_of_ilsvrc(all_classes: Path, tmp_path: Path) -> None:
    want = Hierarchy.default().descendants("n02084071", release="ilsvrc2012")
    listed = run(
        ["synset", "descendants", "n02084071", "--release", "ilsvrc2012", "-f", "ids"]
    ).lines
    assert listed == want and len(want) > 100
    dst = tmp_path / "dogs"
    run(
        [
            "subset",
            "extract",
            "--from",
            str(all_classes),
            "--to",
            str(dst),
            "--under",
            "n02084071",
            "--mode",
            "symlink",
        ]
    )
    assert classes_of(dst) == want
    assert planned(all_classes, "--under", "dog.n.01", "--release", "imagenet-100") == sorted(
        set(want) & releases.class_set("imagenet-100")
    )


@pytest.mark.parametrize(
    "ids",
    [
        "\n".join(["wnid", "n02085620", "02085782", "# a comment", "tench.n.01", ""]),
        # a byte order mark, names after the id, a trailing comment
        "\ufeffn02085620\nn01440764 tench, Tinca tinca\n02085782  # Japanese spaniel\n",
    ],
)
def test_wnids_from_stdin(ids: str, all_classes: Path, tmp_path: Path) -> None:
    dst = tmp_path / "o"
    run(
        ["subset", "extract", "--wnids", "-", "--from", str(all_classes), "--to", str(dst)],
        input=ids,
    )
    assert classes_of(dst) == ["n01440764", "n02085620", "n02085782"]


def test_wnid_dash_reads_stdin(all_classes: Path, tmp_path: Path) -> None:
    # '-' is a synset argument like any other, as for fetch --wnid and bbox --wnid.
    dst = tmp_path / "o"
    args = ["--wnid", "-", "--wnid", "tench.n.01", "--from", str(all_classes), "--to", str(dst)]
    run(
        ["subset", "extract", *args],
        input="wnid\nn02085620\n02085782  # Japanese spaniel\n",
    )
    assert classes_of(dst) == ["n01440764", "n02085620", "n02085782"]


def test_under_dash_reads_stdin_and_stdin_is_read_once(all_classes: Path, tmp_path: Path) -> None:
    dst = tmp_path / "o"
    common = ["--from", str(all_classes), "--to", str(dst), "--dry-run", "-f", "tsv"]
    plan = run(["subset", "extract", "--under", "-", *common], input="n02085374\n").lines
    want = Hierarchy.default().descendants("n02085374", release="ilsvrc2012")
    assert sorted(line.split("\t")[1] for line in plan[1:]) == sorted(want)
    res = run(["subset", "extract", "--under", "-", "--wnids", "-", *common], expect=2)
    assert res.stderr == (
        "imagenet: error: stdin ('-') can be read once: give '-' to one of --wnid, --wnids, "
        "--under, --images, once\n"
    )


def test_missing_class_exits_3_unless_allowed(tree: Tree, tmp_path: Path) -> None:
    args = [
        "subset",
        "extract",
        "--from",
        str(tree.root),
        "--to",
        str(tmp_path / "o"),
        "--preset",
        "imagewoof",
    ]
    res = run(args, expect=3)
    assert "lacks 10 selected class(es)" in res.stderr and "--allow-missing" in res.stderr
    assert not (tmp_path / "o").exists()
    res = run([*args, "--wnid", "n01440764", "--allow-missing"])
    assert res.stderr.count("warning:") == 10 and classes_of(tmp_path / "o") == ["n01440764"]
    assert " 1 class, " in res.stderr  # the summary counts in words that agree


def test_unknown_id_and_preset_exit_3(tree: Tree, tmp_path: Path) -> None:
    for args in (["--wnid", "n99999999"], ["--preset", "nosuchpreset"], ["--under", "nosuch.n.01"]):
        run(
            ["subset", "extract", "--from", str(tree.root), "--to", str(tmp_path / "o"), *args],
            expect=3,
        )


def test_bad_ids_are_all_named_with_file_and_line(tree: Tree, tmp_path: Path) -> None:
    # A typo in a class list is refused (no silently smaller subset), every bad id at
    # once, each on its own error line with where it came from.
    ids = tmp_path / "ids.txt"
    ids.write_text("wnid\tname\nn01440764\tx\n# note\nfoo bar\nn99999999\n", encoding="utf-8")
    base = ["subset", "extract", "--from", str(tree.root), "--to", str(tmp_path / "o")]
    res = run([*base, "--wnids", str(ids), "--wnid", "nope"], expect=3)
    errors = [line for line in res.stderr.splitlines() if line.startswith("imagenet: error: ")]
    assert errors == [
        "imagenet: error: nope: not a synset id (give a wnid like n02084071, an offset like "
        "02084071, or a name like dog.n.01; 'imagenet synset search' finds words)",
        f"imagenet: error: {ids}: line 4: foo: not a synset id (give a wnid like "
        "n02084071, an offset like 02084071, or a name like dog.n.01; 'imagenet synset "
        "search' finds words)",
        f"imagenet: error: {ids}: line 5: n99999999: no WordNet 3.0 noun synset has this id",
    ]
    res = run([*base, "--wnids", "-"], input="n01440764\ndog.v.01\n", expect=3)
    assert res.stderr.strip() == (
        "imagenet: error: <stdin>: line 2: dog.v.01: not a noun synset (ImageNet holds nouns only)"
    )
    assert not (tmp_path / "o").exists()
    res = run([*base, "--wnids", "-"], input="".join(f"x{i}\n" for i in range(50)), expect=3)
    lines = res.stderr.splitlines()
    assert len(lines) == 21 and lines[-1].endswith("and 30 more ids that name no noun synset")


def test_random_classes_are_seeded(tree: Tree) -> None:
    first = planned(tree.root, "--classes", "4", "--seed", "5")
    assert len(first) == 4 and first == planned(tree.root, "--classes", "4", "--seed", "5")
    assert {tuple(planned(tree.root, "--classes", "4", "--seed", str(s))) for s in range(6)} != {
        tuple(first)
    }
    assert set(planned(tree.root, "--classes", "2", "--preset", "imagenette")) <= set(IMAGENETTE)


def test_per_class_sampling_is_seeded(tree: Tree) -> None:
    res = run(
        [
            "subset",
            "extract",
            "--from",
            str(tree.root),
            "--to",
            "x",
            "--dry-run",
            "-f",
            "tsv",
            "--wnid",
            OTHERS[1],
            "--per-class",
            "2",
        ]
    )
    assert res.lines[1].split("\t")[2:4] == ["4", "2"]


def test_presets_and_show() -> None:
    rows = run(["subset", "presets", "-f", "tsv"]).lines
    assert rows[0] == "name\tkind\tcount\timages\ttitle\tsource"
    names = {r.split("\t")[0]: r.split("\t") for r in rows[1:]}
    for name in (
        "imagenette",
        "imagewoof",
        "imagenet-100",
        "tiny-imagenet-200",
        "imagenet-a",
        "imagenet-r",
        "mini-imagenet",
        "mini-imagenet-train",
        "imagenet-o",
    ):
        assert int(names[name][2]) == len(releases.classes(name))
        assert names[name][3] == ""  # a class list names no image
    shown = run(["subset", "show", "imagenette", "-f", "tsv"]).lines
    assert shown[:2] == ["wnid\tindex\tname", "n01440764\t0\ttench"]
    assert run(["subset", "show", "imagewoof", "-f", "ids"]).lines == releases.classes("imagewoof")
    assert "unknown release or preset" in run(["subset", "show", "nope"], expect=3).stderr


def test_preset_ids_are_their_names_for_subset_show() -> None:
    names = run(["subset", "presets", "-f", "ids"]).lines
    assert names == [r.split("\t")[0] for r in run(["subset", "presets", "-f", "tsv"]).lines[1:]]
    assert "imagewoof" in names and "None" not in names


def test_real_process_pipes(all_classes: Path, tmp_path: Path) -> None:
    env = {**os.environ}
    shown = subprocess.run(
        f"'{IMAGENET}' subset show tiny-imagenet-200 -f ids | head -3",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert shown.stdout.splitlines() == releases.classes("tiny-imagenet-200")[:3]
    assert "Traceback" not in shown.stderr
    dst = tmp_path / "dogs"
    piped = subprocess.run(
        f"'{IMAGENET}' synset descendants n02084071 --release ilsvrc2012 -f ids | "
        f"'{IMAGENET}' subset extract --wnids - --from '{all_classes}' --to '{dst}' --per-class 5",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
    )
    assert piped.returncode == 0, piped.stderr
    assert classes_of(dst) == Hierarchy.default().descendants("n02084071", release="ilsvrc2012")
    bad = subprocess.run(
        [IMAGENET, "subset", "extract", "--from", str(tmp_path / "none"), "--to", str(dst)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (
        bad.returncode == 3
        and bad.stderr.startswith("imagenet: error:")
        and "Traceback" not in bad.stderr
    )


def test_every_id_the_extract_help_gives_as_an_example_is_accepted() -> None:
    import re

    from typer.main import get_command

    from imagenet_cli.cli.app import for_command
    from imagenet_cli.hierarchy import Hierarchy

    extract_cmd = get_command(for_command("subset")).commands["subset"].commands["extract"]
    examples = [
        ident.strip()
        for param in extract_cmd.params
        for listed in re.findall(r"\(e\.g\. ([^)]*)\)", param.help or "")
        for ident in listed.split(",")
    ]
    assert examples
    for ident in examples:
        assert Hierarchy.default().get(ident).wnid == "n02084071", ident


def test_both_splits_without_a_selection_name_the_classes_of_one_split(
    tree: Tree, tmp_path: Path
) -> None:
    # A val folder holding one of the train classes: with --split both and no selection,
    # only that class is taken (one class list for both splits), and the user is told how
    # many classes of the source were left out, with an example, not left to count folders.
    val = tmp_path / "val" / "n01440764"
    val.mkdir(parents=True)
    (val / "v.JPEG").write_bytes(jpeg(7))
    root = tmp_path / "both"
    root.mkdir()
    os.symlink(tree.root, root / "train")
    os.symlink(tmp_path / "val", root / "val")
    dst = tmp_path / "o"
    both = ["subset", "extract", "--from", str(root), "--to", str(dst), "--split", "both"]
    res = run(both)
    assert classes_of(dst) == ["n01440764"] == classes_of(dst, "val")
    warning = [line for line in res.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "12 class(es)" in warning[0] and "n01443537" in warning[0]
    # a subtree whose only class is in one split: the error says why nothing is left
    res = run([*both, "--under", "n01443537"], expect=3)
    assert res.stderr.count("\n") == 1 and "n01443537: train only" in res.stderr
