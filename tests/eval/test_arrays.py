"""``imagenet eval`` on .npy/.npz arrays of scores: order, masking, ties, bad arrays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imagenet_cli import releases
from imagenet_cli.eval.arrays import top_columns

from ..conftest import run

VAL = releases.val_labels()
ILSVRC = releases.classes("ilsvrc2012")
INDEX = {w: i for i, w in enumerate(ILSVRC)}
A = releases.classes("imagenet-a")


def stem(i: int) -> str:
    return f"ILSVRC2012_val_{i:08d}"


def scores_with(ranked: list[list[str]], width: int = 1000) -> np.ndarray:
    """A row per image: the classes given score 10, 9, 8, ... in that order, others 0."""
    out = np.zeros((len(ranked), width), dtype=np.float32)
    for r, classes in enumerate(ranked):
        for place, wnid in enumerate(classes):
            out[r, INDEX[wnid]] = 10 - place
    return out


def images_file(path: Path, names: list[str]) -> Path:
    path.write_text("".join(f"{n}.JPEG\n" for n in names))
    return path


def test_rows_named_by_images_file(tmp_path: Path) -> None:
    # image 1 right first, 2 right third, 3 wrong (truth absent), 4 right second
    others = [w for w in ILSVRC if w not in VAL[:4]]
    ranked = [[VAL[0]], [others[0], others[1], VAL[1]], others[:5], [others[2], VAL[3]]]
    # rows in a shuffled order, named by --images
    order = [3, 0, 2, 1]
    array = scores_with([ranked[i] for i in order])
    np.save(tmp_path / "p.npy", array)
    names = images_file(tmp_path / "images.txt", [stem(i + 1) for i in order])
    doc = json.loads(
        run(["eval", str(tmp_path / "p.npy"), "--images", str(names), "-f", "json", "-q"]).stdout
    )
    assert (doc["images"], doc["top1"], doc["top5"]) == (4, 1 / 4, 3 / 4)
    assert doc["mistakes"] == 3


def test_default_order_is_validation_order(tmp_path: Path) -> None:
    # two classes, a 50,000 x 2 array: column 0 the first class, column 1 the second
    two = sorted({VAL[0], VAL[1]})
    (tmp_path / "two.txt").write_text("\n".join(two) + "\n")
    array = np.zeros((50_000, 2), dtype=np.float16)
    truth = [i for i, w in enumerate(VAL) if w in two]
    for n, i in enumerate(truth):
        right = two.index(VAL[i])
        array[i, right if n % 4 else 1 - right] = 1  # every fourth one wrong
    np.save(tmp_path / "p.npy", array)
    args = ["eval", str(tmp_path / "p.npy"), "--classes", str(tmp_path / "two.txt"), "-f", "json"]
    doc = json.loads(run(args).stdout)
    assert doc["images"] == len(truth) == 100
    assert doc["top1"] == pytest.approx(75 / 100)
    assert doc["top5"] == 1.0
    assert doc["missing"] == 0


def test_masking_to_imagenet_a_by_hand(tmp_path: Path) -> None:
    # image with a class of ImageNet-A: the raw best three are not ImageNet-A classes,
    # the truth is fourth; masked to the 200 classes it comes first.
    in_a = [i for i, w in enumerate(VAL) if w in A][:2]
    not_a = [w for w in ILSVRC if w not in A]
    first = [not_a[0], not_a[1], not_a[2], VAL[in_a[0]]]
    # second image: truth raw second, behind an ImageNet-A class: masked, still second
    a_other = next(w for w in A if w != VAL[in_a[1]])
    second = [a_other, VAL[in_a[1]]]
    np.save(tmp_path / "p.npy", scores_with([first, second]))
    names = images_file(tmp_path / "images.txt", [stem(i + 1) for i in in_a])
    base = ["eval", str(tmp_path / "p.npy"), "--images", str(names), "-f", "json", "-q"]
    masked = json.loads(run([*base, "--classes", "imagenet-a"]).stdout)
    assert (masked["images"], masked["top1"], masked["top5"]) == (2, 1 / 2, 1.0)
    raw = json.loads(run(base).stdout)
    assert (raw["top1"], raw["top5"]) == (0.0, 1.0)
    # a 200-column array (a 200-way head) in ImageNet-A's class order, same answer
    narrow = np.zeros((2, 200), dtype=np.float32)
    for r, ranked in enumerate([first, second]):
        for place, wnid in enumerate(w for w in ranked if w in A):
            narrow[r, A.index(wnid)] = 10 - place
    np.save(tmp_path / "n.npy", narrow)
    doc = json.loads(
        run([*base[:1], str(tmp_path / "n.npy"), *base[2:], "--classes", "imagenet-a"]).stdout
    )
    assert (doc["top1"], doc["top5"]) == (1 / 2, 1.0)


def test_ties_rank_the_lower_column_first() -> None:
    block = np.array([[1, 5, 5, 2, 5, 0], [3, 3, 3, 3, 3, 3], [0, 1, 2, 3, 4, 5]], dtype=float)
    assert top_columns(block, 2).tolist() == [[1, 2], [0, 1], [5, 4]]
    assert top_columns(block, 4).tolist() == [[1, 2, 4, 3], [0, 1, 2, 3], [5, 4, 3, 2]]
    rng = np.random.default_rng(0)
    many = rng.integers(0, 4, size=(300, 50)).astype(np.float32)  # ties everywhere
    expected = np.argsort(-many, axis=1, kind="stable")[:, :5]
    assert (top_columns(many, 5) == expected).all()


def test_npz_and_stdin(tmp_path: Path) -> None:
    array = scores_with([[VAL[0]], [VAL[0]]])
    names = images_file(tmp_path / "images.txt", [stem(1), stem(2)])
    np.savez_compressed(tmp_path / "p.npz", logits=array, labels=np.arange(2))
    doc = json.loads(
        run(["eval", str(tmp_path / "p.npz"), "--images", str(names), "-f", "json", "-q"]).stdout
    )
    assert (doc["images"], doc["top1"]) == (2, 1 / 2)  # image 2 is not of image 1's class
    np.save(tmp_path / "p.npy", array)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "imagenet_cli",
            "eval",
            "-",
            "--images",
            str(names),
            "-f",
            "json",
            "-q",
        ],
        input=(tmp_path / "p.npy").read_bytes(),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["top1"] == 1 / 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: np.zeros((2, 999), np.float32), "an array of shape (2, 999)"),
        (lambda: np.zeros((2, 10, 100), np.float32), "an array of shape (2, 10, 100)"),
        (lambda: np.zeros((3, 1000), np.float32), "3 rows for 2 images"),
        (lambda: np.array([["a"] * 1000] * 2), "want numbers"),
    ],
)
def test_bad_arrays_are_one_line_exit_2(tmp_path: Path, make: object, message: str) -> None:
    np.save(tmp_path / "p.npy", make())  # type: ignore[operator]
    names = images_file(tmp_path / "images.txt", [stem(1), stem(2)])
    res = run(["eval", str(tmp_path / "p.npy"), "--images", str(names)], expect=2)
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert res.stdout == ""


def test_pickled_objects_are_never_loaded(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    names = images_file(tmp_path / "images.txt", [stem(1), stem(2)])
    res = run(["eval", str(tmp_path / "p.npy"), "--images", str(names)], expect=2)
    assert "not a readable .npy/.npz array" in res.stderr and "pickle" in res.stderr


def test_npz_with_several_unnamed_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "p.npz", np.zeros((1, 1000)), np.zeros((1, 1000)))
    res = run(["eval", str(tmp_path / "p.npz")], expect=2)
    assert "holds 2 arrays (arr_0, arr_1)" in res.stderr


def test_a_row_of_nan_is_a_bad_row_and_the_rest_is_scored(tmp_path: Path) -> None:
    array = scores_with([[VAL[0]], [VAL[1]], [VAL[2]]])
    array[1, 7] = np.nan
    np.save(tmp_path / "p.npy", array)
    names = images_file(tmp_path / "images.txt", [stem(1), stem(2), stem(3)])
    res = run(["eval", str(tmp_path / "p.npy"), "--images", str(names), "-f", "json"], expect=1)
    assert f"{tmp_path / 'p.npy'}: row 1: not a number among the scores" in res.stderr
    doc = json.loads(res.stdout)
    assert (doc["images"], doc["top1"], doc["bad_rows"]) == (2, 1.0, 1)
    strict = run(["eval", str(tmp_path / "p.npy"), "--images", str(names), "--strict"], expect=1)
    assert strict.stdout == ""


def test_images_goes_with_arrays_only(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(f"{stem(1)},{VAL[0]}\n")
    names = images_file(tmp_path / "images.txt", [stem(1)])
    res = run(["eval", str(tmp_path / "p.csv"), "--images", str(names)], expect=2)
    assert "--images orders the rows of an array" in res.stderr


def test_folder_truth_rows_in_imagefolder_order(tmp_path: Path) -> None:
    # ImageNet-V2 style index folders: ImageFolder sorts them as strings: 0, 1, 10, 2
    truth = tmp_path / "v2"
    for index in ("0", "1", "10", "2"):
        (truth / index).mkdir(parents=True)
        for n in ("b", "a"):
            (truth / index / f"{index}-{n}.jpeg").write_bytes(b"")
    order = [ILSVRC[i] for i in (0, 0, 1, 1, 10, 10, 2, 2)]
    np.save(tmp_path / "p.npy", scores_with([[w] for w in order]))
    doc = json.loads(
        run(["eval", str(tmp_path / "p.npy"), "--truth", str(truth), "-f", "json"]).stdout
    )
    assert (doc["images"], doc["top1"]) == (8, 1.0)


def test_imagenet_a_folder_sets_the_label_space(tmp_path: Path) -> None:
    truth = tmp_path / "imagenet-a"
    for wnid in A:
        (truth / wnid).mkdir(parents=True)
        (truth / wnid / f"{wnid}_1.jpg").write_bytes(b"")
    # each image: a class outside ImageNet-A first, the truth second
    outside = next(w for w in ILSVRC if w not in A)
    preds = tmp_path / "p.csv"
    preds.write_text("".join(f"{w}_1.jpg,{outside} {w}\n" for w in A))
    res = run(["eval", str(preds), "--truth", str(truth), "-f", "json"])
    assert "scoring over the 200 classes of imagenet-a" in res.stderr
    assert json.loads(res.stdout)["top1"] == 1.0
    wide = json.loads(
        run(
            [
                "eval",
                str(preds),
                "--truth",
                str(truth),
                "--classes",
                "ilsvrc2012",
                "-f",
                "json",
                "-q",
            ]
        ).stdout
    )
    assert (wide["top1"], wide["top5"]) == (0.0, 1.0)


def test_numpy_is_not_imported_for_text_predictions(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(f"{stem(1)},{VAL[0]}\n")
    code = (
        "import sys; from imagenet_cli.eval import EvalRequest, evaluate; "
        f"evaluate(EvalRequest({str(tmp_path / 'p.csv')!r}), on_bad=print); "
        "print('numpy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("k", [1, 5, 16, 17, 40])
def test_top_columns_against_a_stable_sort(k: int) -> None:
    rng = np.random.default_rng(k)
    block = rng.integers(0, 6, size=(200, 60)).astype(np.float64)  # ties everywhere
    block[::7, ::2] = -np.inf  # rows left with only -inf past a few places
    block[3] = -np.inf
    expected = np.argsort(-block, axis=1, kind="stable")[:, :k]
    assert (top_columns(block, k) == expected).all()


def test_images_file_names_with_spaces_as_imagenet_a_has_them(tmp_path: Path) -> None:
    # ImageNet-A's file names hold spaces: the whole line is the name
    truth = tmp_path / "imagenet-a"
    names = []
    for n, wnid in enumerate(A[:3]):
        (truth / wnid).mkdir(parents=True)
        name = f"0.00{n}_digital clock _ digital clock_0.85{n}.jpg"
        (truth / wnid / name).write_bytes(b"")
        names.append((wnid, name))
    # rows in another order than the folder's, named by --images (paths, as a loader lists them)
    order = [2, 0, 1]
    np.save(tmp_path / "p.npy", scores_with([[names[i][0]] for i in order]))
    listed = tmp_path / "order.txt"
    listed.write_text("".join(f"imagenet-a/{names[i][0]}/{names[i][1]}\n" for i in order))
    args = ["eval", str(tmp_path / "p.npy"), "--truth", str(truth), "--images", str(listed)]
    doc = json.loads(run([*args, "-f", "json", "-q"]).stdout)
    assert (doc["images"], doc["top1"], doc["bad_rows"]) == (3, 1.0, 0)
