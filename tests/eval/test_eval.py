"""``imagenet eval`` and ``imagenet_cli.eval``: hand-built predictions with known answers."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from imagenet_cli import releases
from imagenet_cli.errors import ItemError
from imagenet_cli.eval import EvalRequest, evaluate

from ..conftest import run

VAL = releases.val_labels()
ILSVRC = releases.classes("ilsvrc2012")


def stem(i: int) -> str:
    return f"ILSVRC2012_val_{i:08d}"


def other(wnid: str, n: int) -> list[str]:
    """``n`` ILSVRC classes, none of them ``wnid``."""
    return [w for w in ILSVRC if w != wnid][:n]


def ranked_rows(ranks: list[int | None]) -> list[tuple[str, list[str]]]:
    """A row per validation image 1..: the truth at position ``rank`` of 6 labels."""
    rows = []
    for i, rank in enumerate(ranks, start=1):
        labels = other(VAL[i - 1], 6)
        if rank is not None:
            labels[rank] = VAL[i - 1]
        rows.append((stem(i), labels))
    return rows


def write_csv(path: Path, rows: list[tuple[str, list[str]]]) -> Path:
    text = "ImageId,PredictionString\n" + "".join(f"{i},{' '.join(ls)}\n" for i, ls in rows)
    path.write_text(text)
    return path


# ranks of the truth for images 1-10: 4 at rank 0, 3 more within 5, 1 at rank 5, 2 absent
RANKS: list[int | None] = [0, 0, 3, None, 1, 0, 5, 4, None, 0]


def test_top1_top5_known(tmp_path: Path) -> None:
    preds = write_csv(tmp_path / "p.csv", ranked_rows(RANKS))
    doc = json.loads(run(["eval", str(preds), "-f", "json"]).stdout)
    assert doc["images"] == 10
    assert doc["top1"] == pytest.approx(4 / 10)
    assert doc["top5"] == pytest.approx(7 / 10)
    assert doc["missing"] == 50_000 - 10


def test_k_option_adds_top_k(tmp_path: Path) -> None:
    preds = write_csv(tmp_path / "p.csv", ranked_rows(RANKS))
    doc = json.loads(run(["eval", str(preds), "-f", "json", "--k", "6"]).stdout)
    assert doc["top6"] == pytest.approx(8 / 10) and doc["top5"] == pytest.approx(7 / 10)


def test_label_forms_and_jsonl_agree(tmp_path: Path) -> None:
    # image 1 is n01751748 (sea snake, index 65); give it as index, nltk name, wnid
    assert VAL[0] == "n01751748" and ILSVRC.index("n01751748") == 65
    lines = [
        {"image": f"{stem(1)}.JPEG", "labels": ["sea_snake.n.01"]},
        {"image": f"val/{stem(2)}.JPEG", "labels": ["0", str(ILSVRC.index(VAL[1]))]},
        {"image": stem(3), "labels": ["n01440764"]},
    ]
    jl = tmp_path / "p.jsonl"
    jl.write_text("".join(json.dumps(d) + "\n" for d in lines))
    doc = json.loads(run(["eval", str(jl), "-f", "json"]).stdout)
    assert (doc["images"], doc["top1"], doc["top5"]) == (3, pytest.approx(1 / 3), 2 / 3)
    csv = tmp_path / "p.csv"
    csv.write_text(
        f"{stem(1)}.JPEG,sea_snake.n.01\n{stem(2)},0 {ILSVRC.index(VAL[1])}\n{stem(3)},n01440764\n"
    )
    assert json.loads(run(["eval", str(csv), "-f", "json"]).stdout) == doc


def test_repeated_labels_take_one_place(tmp_path: Path) -> None:
    wrong = other(VAL[0], 1)[0]
    preds = tmp_path / "p.csv"
    # the wrong class five times, then the truth: second distinct label, so a top-5 hit
    preds.write_text(f"{stem(1)},{' '.join([wrong] * 5)} {VAL[0]}\n")
    doc = json.loads(run(["eval", str(preds), "-f", "json"]).stdout)
    assert (doc["top1"], doc["top5"]) == (0.0, 1.0)


def test_bad_rows_named_and_rest_scored(tmp_path: Path) -> None:
    preds = tmp_path / "p.csv"
    preds.write_text(
        "ImageId,PredictionString\n"
        f"{stem(1)},{VAL[0]}\n"  # right
        f"{stem(1)},{VAL[0]}\n"  # line 3: duplicate
        "not_an_image,n01440764\n"  # line 4: unknown image
        f"{stem(2)},n99999999\n"  # line 5: no class
        f"{stem(3)}\n"  # line 6: short
        f"{stem(4)},1000\n"  # line 7: index out of range
        f"{stem(5)},{other(VAL[4], 1)[0]}\n"  # wrong
    )
    res = run(["eval", str(preds), "-f", "json"], expect=1)
    doc = json.loads(res.stdout)
    assert (doc["images"], doc["top1"], doc["bad_rows"]) == (2, 0.5, 5)
    errors = [line for line in res.stderr.splitlines() if "error:" in line]
    assert [e.split(": line ")[1].split(":")[0] for e in errors] == ["3", "4", "5", "6", "7"]
    assert "predicted twice" in errors[0] and "not in the truth" in errors[1]


def test_strict_stops_at_first_bad_row(tmp_path: Path) -> None:
    preds = tmp_path / "p.csv"
    preds.write_text(f"{stem(1)},{VAL[0]}\nbogus,{VAL[0]}\n{stem(2)},{VAL[1]}\n")
    res = run(["eval", str(preds), "--strict", "-f", "json"], expect=1)
    assert res.stdout == "" and "line 2" in res.stderr
    seen: list[ItemError] = []
    with pytest.raises(ItemError):
        evaluate(EvalRequest(str(preds), strict=True), on_bad=seen.append)
    assert seen == []


def test_missing_images_warned_with_count(tmp_path: Path) -> None:
    preds = write_csv(tmp_path / "p.csv", ranked_rows([0, 0]))
    res = run(["eval", str(preds)])
    assert f"49,998 images of the truth have no prediction ({stem(3)}" in res.stderr
    assert "and 49,993 more" in res.stderr
    assert res.lines[0] == "figure\tvalue" and "top1\t1.0000" in res.lines


def test_stdin(tmp_path: Path) -> None:
    text = f"{stem(1)},{VAL[0]}\n{stem(2)},{other(VAL[1], 1)[0]}\n"
    doc = json.loads(run(["eval", "-", "-f", "json"], input=text).stdout)
    assert (doc["images"], doc["top1"]) == (2, 0.5)


def test_truth_folders_by_wnid_and_by_index(tmp_path: Path) -> None:
    for layout in ("wnid", "index"):
        root = tmp_path / layout
        for n, wnid in enumerate(ILSVRC[:3]):
            folder = root / (wnid if layout == "wnid" else str(n))
            folder.mkdir(parents=True)
            for j in range(2):
                (folder / f"{layout}{n}{j}.jpeg").write_bytes(b"")
        preds = tmp_path / f"{layout}.csv"
        # class 0 both right; class 1 one right; class 2 none (guessed as class 0)
        preds.write_text(
            f"{layout}00.jpeg,0\n{layout}01,0\n{layout}10,1\n{layout}11,0\n{layout}20,0 2\n"
        )
        doc = json.loads(run(["eval", str(preds), "--truth", str(root), "-f", "json"]).stdout)
        assert (doc["images"], doc["truth_images"], doc["missing"]) == (5, 6, 1)
        assert (doc["top1"], doc["top5"]) == (pytest.approx(3 / 5), pytest.approx(4 / 5))


def test_truth_label_file(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("n01440764\nn01443537\n")  # one wnid per line
    preds = tmp_path / "p.csv"
    preds.write_text(f"{stem(1)},0\n{stem(2)},0\n")
    doc = json.loads(run(["eval", str(preds), "--truth", str(labels), "-f", "json"]).stdout)
    assert (doc["images"], doc["top1"], doc["missing"]) == (2, 0.5, 0)


def test_per_class_rows(tmp_path: Path) -> None:
    preds = tmp_path / "p.csv"
    labels = tmp_path / "labels.txt"
    labels.write_text("n01440764\nn01440764\nn01443537\n")
    preds.write_text(f"{stem(1)},0\n{stem(2)},1 0\n{stem(3)},1\n")
    res = run(["eval", str(preds), "--truth", str(labels), "--per-class", "-f", "json"])
    rows = json.loads(res.stdout)["per_class"]
    assert [(r["wnid"], r["top1"], r["top5"], r["images"]) for r in rows] == [
        ("n01440764", 0.5, 1.0, 2),
        ("n01443537", 1.0, 1.0, 1),
    ]
    assert rows[0]["name"] == "tench"
    tsv = run(["eval", str(preds), "--truth", str(labels), "--per-class"]).lines
    assert tsv[0] == "wnid\ttop1\ttop5\timages\tname"
    assert tsv[1].startswith("n01440764\t0.5")


def test_pipeline_json_to_another_program(tmp_path: Path) -> None:
    preds = write_csv(tmp_path / "preds.csv", ranked_rows(RANKS))
    reader = "import json,sys; print(json.load(sys.stdin)['top1'])"
    cmd = (
        f"{shlex.quote(sys.executable)} -m imagenet_cli eval {shlex.quote(str(preds))} -f json"
        f" | {shlex.quote(sys.executable)} -c {shlex.quote(reader)}"
    )
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.4"


def test_classes_drop_labels_outside_before_top_k(tmp_path: Path) -> None:
    a = releases.class_set("imagenet-a")
    outside = ["n01440764", "n01443537", "n01484850", "n01491361", "n01494475"]
    assert not a & set(outside) and {"n01498041", "n01531178"} <= a
    labels = tmp_path / "labels.txt"
    labels.write_text("n01498041\nn01440764\nn01531178\n")
    preds = tmp_path / "p.csv"
    preds.write_text(
        f"{stem(1)},n01440764 n01443537 n01498041\n"
        f"{stem(2)},n01440764\n"
        f"{stem(3)},{' '.join(outside)} n01498041 n01531178\n"
    )
    base = ["eval", str(preds), "--truth", str(labels), "-f", "json"]
    # all 1,000: image 1 at rank 2, image 2 right, image 3 at rank 6 (no top-5 hit)
    doc = json.loads(run(base).stdout)
    assert (doc["images"], doc["top1"], doc["top5"]) == (3, pytest.approx(1 / 3), 2 / 3)
    # 200 classes: image 2 (a tench) is outside the question; image 1 right, image 3 second
    doc = json.loads(run([*base, "--classes", "imagenet-a"]).stdout)
    assert (doc["images"], doc["truth_images"], doc["top1"], doc["top5"]) == (2, 2, 0.5, 1.0)
    ids = tmp_path / "classes.txt"
    ids.write_text("n01498041\nsea_snake.n.01\n")
    doc = json.loads(run([*base, "--classes", str(ids)]).stdout)
    assert (doc["images"], doc["top1"]) == (1, 1.0)


def test_mistake_severity_against_hand_worked_pairs(tmp_path: Path) -> None:
    # imagenet synset lca n02110185 n02110063 -> n02109811 sled_dog.n.01, one step above
    # the husky: severity 1, inside the husky's parent.
    # imagenet synset lca n02110185 n04398044 -> n00003553 whole.n.02; the shortest way up
    # from the husky: sled dog, working dog, dog, domestic animal, animal, organism,
    # living thing, whole: severity 8 (the way through canine and mammal takes 13).
    # A mistake further down the list (image 3) is no top-1 mistake when the truth is first.
    labels = tmp_path / "labels.txt"
    labels.write_text("n02110185\nn02110185\nn02110185\n")
    preds = tmp_path / "p.csv"
    preds.write_text(
        f"{stem(1)},n02110063 n02110185\n{stem(2)},n04398044\n{stem(3)},n02110185 n04398044\n"
    )
    doc = json.loads(run(["eval", str(preds), "--truth", str(labels), "-f", "json"]).stdout)
    assert (doc["mistakes"], doc["mistake_severity"], doc["mistakes_in_parent"]) == (2, 4.5, 0.5)
    assert doc["mistakes_by_severity"] == {"1": 1, "8": 1}
