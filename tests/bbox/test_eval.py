"""``imagenet bbox eval``: localisation scoring against hand-built truth (an XML folder
and Kaggle's CSV form), with answers worked out by hand below."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from imagenet_cli.bbox.evaluate import LocEvalRequest, evaluate, iou, score
from imagenet_cli.errors import ItemError
from tests.conftest import run

from .conftest import TENCH, xml

GOLDFISH = "n01443537"  # ILSVRC-2012 index 1; tench is index 0
IMAGENET = str(Path(sys.executable).with_name("imagenet"))

# image -> [(wnid, xmin, ymin, xmax, ymax)]
TRUTH = {
    "ILSVRC2012_val_00000001": [(TENCH, 0, 0, 9, 9)],
    "ILSVRC2012_val_00000002": [(GOLDFISH, 0, 0, 9, 9), (GOLDFISH, 100, 100, 119, 119)],
    "ILSVRC2012_val_00000003": [(TENCH, 10, 10, 29, 29)],
    "ILSVRC2012_val_00000004": [(GOLDFISH, 0, 0, 99, 99)],
    "ILSVRC2012_val_00000005": [(TENCH, 0, 0, 9, 9)],  # never predicted
    "ILSVRC2012_val_00000006": [(TENCH, 0, 0, 9, 9)],
}
SUBMISSION = "\n".join(
    [
        "ImageId,PredictionString",
        # 10x5 of 10x10 pixels: IoU 1/2 exactly with +1 (36/81 without): localised
        f"ILSVRC2012_val_00000001.JPEG,{TENCH} 0 0 9 4",
        # the second true box of the class, labelled by ILSVRC index
        "ILSVRC2012_val_00000002,1 100 100 119 119",
        # right class, box 20x9 of 20x20: IoU 0.45, not localised
        f"ILSVRC2012_val_00000003,{TENCH} 10 10 29 18",
        # wrong class on the right box, then the right one: top-5 only
        f"ILSVRC2012_val_00000004,{TENCH} 0 0 99 99 {GOLDFISH} 0 0 99 99",
        "ILSVRC2012_val_00000006,tench.n.01 0 0 9 9",
        # bad rows: a duplicate, an unknown image, no class, short, not numbers
        f"ILSVRC2012_val_00000001,{TENCH} 0 0 9 9",
        f"ILSVRC2012_val_00000099,{TENCH} 0 0 9 9",
        "ILSVRC2012_val_00000005,n99999999 0 0 9 9",
        f"ILSVRC2012_val_00000005,{TENCH} 0 0 9",
        f"ILSVRC2012_val_00000005,{TENCH} 0 zero 9 9",
        "",
    ]
)
# Worked by hand over the 6 truth images (image 5 missing counts as wrong):
# top-1 localised: 1, 2, 6; top-5: also 4. Right class first: 1, 2, 3, 6; in top 5: also 4.
EXPECTED = {
    "images": 6,
    "predicted": 5,
    "missing": 1,
    "bad_rows": 5,
    "top1_loc_error": 1 - Fraction(3, 6),
    "top5_loc_error": 1 - Fraction(4, 6),
    "top1_cls_error": 1 - Fraction(4, 6),
    "top5_cls_error": 1 - Fraction(5, 6),
}


def _csv_truth(path: Path) -> Path:
    lines = ["ImageId,PredictionString"]
    for image, boxes in TRUTH.items():
        lines.append(f"{image}," + " ".join(" ".join(map(str, b)) for b in boxes))
    path.write_text("\n".join(lines) + "\n")
    return path


def _xml_truth(folder: Path) -> Path:
    folder.mkdir()
    for image, boxes in TRUTH.items():
        text = xml(folder="val", filename=image, objects=list(boxes))
        (folder / f"{image}.xml").write_text(text)
    return folder


@pytest.fixture(params=["csv", "xml"])
def truth(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "csv":
        return _csv_truth(tmp_path / "LOC_val_solution.csv")
    return _xml_truth(tmp_path / "val")


def _close(found: dict[str, object], expected: dict[str, object]) -> None:
    for key, want in expected.items():
        assert found[key] == pytest.approx(float(want)), key  # type: ignore[arg-type]


def test_iou_inclusive_pixels() -> None:
    # 10x5 inside 10x10 inclusive pixels: 50/100; without +1 it would be 36/81 < 0.5
    assert iou((0, 0, 9, 4), (0, 0, 9, 9)) == 0.5
    assert Fraction(9 * 4, 9 * 9) < Fraction(1, 2)
    # one pixel column short of half: 10x4 of 10x10 (with the +1) fails
    assert iou((0, 0, 9, 3), (0, 0, 9, 9)) == 0.4
    # boxes that share one pixel column overlap under +1
    assert iou((0, 0, 9, 9), (9, 0, 18, 9)) == pytest.approx(10 / 190)
    assert iou((0, 0, 9, 9), (10, 0, 19, 9)) == 0.0


def test_scores_known_answers(truth: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub.csv"
    sub.write_text(SUBMISSION)
    res = run(["bbox", "eval", str(sub), "--truth", str(truth), "-f", "json"], expect=1)
    _close(json.loads(res.stdout), EXPECTED)
    err = res.stderr
    assert "line 7: 'ILSVRC2012_val_00000001': image already predicted" in err
    assert "line 8: 'ILSVRC2012_val_00000099': no such image in the truth" in err
    assert "line 9: label 'n99999999' is no class" in err
    assert "line 10: 4 values, not groups of 5" in err
    assert "line 11: guess 1: box numbers are not numbers" in err
    assert (
        "1 image of the truth has no prediction (counted as wrong): ILSVRC2012_val_00000005" in err
    )


def test_per_class(truth: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub.csv"
    sub.write_text(SUBMISSION)
    res = run(
        ["bbox", "eval", str(sub), "--truth", str(truth), "--per-class", "-f", "tsv"], expect=1
    )
    rows = [line.split("\t") for line in res.lines]
    assert rows[0] == ["wnid", "name", "images", "top1_loc_error", "top5_loc_error",
                       "top1_cls_error", "top5_cls_error"]  # fmt: skip
    by = {r[0]: r for r in rows[1:]}
    # tench: images 1, 3, 5, 6; localised top-1 by 1 and 6, class right first in 1, 3, 6
    assert by[TENCH][1:] == ["tench", "4", "0.5", "0.5", "0.25", "0.25"]
    # goldfish: images 2, 4; 2 localised first, 4 by its second guess
    assert by[GOLDFISH][1:] == ["goldfish", "2", "0.5", "0.0", "0.5", "0.0"]


def test_figures_table_when_piped(truth: Path) -> None:
    line = "ILSVRC2012_val_00000001,0 0 0 9 9\n"
    res = run(["bbox", "eval", "-", "--truth", str(truth), "-q"], input=line)
    rows = dict(r.split("\t") for r in res.lines[1:])
    assert rows["images"] == "6" and rows["predicted"] == "1"
    assert float(rows["top1_loc_error"]) == pytest.approx(5 / 6)
    assert res.stderr == ""


def test_strict_stops_at_first_bad_row(truth: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub.csv"
    sub.write_text(SUBMISSION)
    res = run(["bbox", "eval", str(sub), "--truth", str(truth), "--strict"], expect=1)
    assert res.stdout == ""
    assert res.stderr.count("error:") == 1 and "line 7" in res.stderr


def test_python_api_streams(tmp_path: Path) -> None:
    truth = _csv_truth(tmp_path / "sol.csv")
    bad: list[str] = []
    summary = evaluate(LocEvalRequest("-", str(truth)), bad.append, io.StringIO(SUBMISSION))
    _close(summary.figures(), EXPECTED)
    assert len(bad) == 5 and summary.missing == ["ILSVRC2012_val_00000005"]
    with pytest.raises(ItemError, match="line 7"):
        evaluate(LocEvalRequest("-", str(truth), strict=True), bad.append, io.StringIO(SUBMISSION))


def test_missing_images_named_then_counted() -> None:
    truth = {f"img{i}": {TENCH: [(0.0, 0.0, 9.0, 9.0)]} for i in range(8)}
    summary = score(truth, io.StringIO(f"img0,{TENCH} 0 0 9 9\n"), "s.csv", print)
    assert summary.figures()["top1_loc_error"] == pytest.approx(7 / 8)
    res = subprocess.run(
        [IMAGENET, "bbox", "eval", "-", "--truth", "-"], input="", capture_output=True, text=True
    )
    assert res.returncode == 3


def test_warning_names_first_few(tmp_path: Path) -> None:
    sol = tmp_path / "sol.csv"
    sol.write_text("".join(f"v{i},{TENCH} 0 0 9 9\n" for i in range(8)))
    res = run(["bbox", "eval", "-", "--truth", str(sol), "-f", "json"], input="v0,0 0 0 9 9\n")
    assert (
        "7 images of the truth have no prediction (counted as wrong): v1, v2, v3, v4, v5 and 2 more"
        in res.stderr
    )


def test_json_pipeline(tmp_path: Path) -> None:
    truth = _csv_truth(tmp_path / "sol.csv")
    sub = tmp_path / "sub.csv"
    sub.write_text(SUBMISSION)
    cmd = (
        f"'{IMAGENET}' bbox eval '{sub}' --truth '{truth}' -f json -q | "
        f"'{sys.executable}' -c 'import json,sys; print(json.load(sys.stdin)[\"top5_cls_error\"])'"
    )
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=True).stdout
    assert float(out) == pytest.approx(1 / 6)
