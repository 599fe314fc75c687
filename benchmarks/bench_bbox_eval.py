"""Localisation scoring speed: reading the 50,000-image validation truth and scoring a
50,000-row submission, in process (the core) and as a whole ``imagenet bbox eval`` run.

    python benchmarks/bench_bbox_eval.py [--runs 11]

The truth is a ``LOC_val_solution.csv``-shaped file (50,000 rows over the 1,000 ILSVRC
classes, one to three boxes each); the submission holds five guesses per image, as
Kaggle's asks. Medians are printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import compile_package, imagenet_command

IMAGES = 50_000


def write_inputs(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """A truth file and a submission, both of ``IMAGES`` rows."""
    from imagenet_cli.releases import ilsvrc_wnid

    rng = random.Random(seed)
    wnids = [ilsvrc_wnid(i) for i in range(1000)]
    truth, sub = ["ImageId,PredictionString"], ["ImageId,PredictionString"]
    for i in range(1, IMAGES + 1):
        image = f"ILSVRC2012_val_{i:08d}"
        wnid = rng.choice(wnids)
        boxes = []
        for _ in range(rng.randint(1, 3)):
            x, y = rng.randint(0, 300), rng.randint(0, 200)
            boxes.append(f"{wnid} {x} {y} {x + rng.randint(20, 200)} {y + rng.randint(20, 170)}")
        truth.append(f"{image},{' '.join(boxes)}")
        guesses = [wnid, *rng.sample(wnids, 4)]
        rng.shuffle(guesses)
        sub.append(
            f"{image},"
            + " ".join(f"{g} {rng.randint(0, 300)} {rng.randint(0, 200)} 350 300" for g in guesses)
        )
    (folder / "LOC_val_solution.csv").write_text("\n".join(truth) + "\n")
    (folder / "submission.csv").write_text("\n".join(sub) + "\n")
    return folder / "LOC_val_solution.csv", folder / "submission.csv"


def _median(runs: int, func: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=11, help="timed runs per row")
    args = parser.parse_args()
    compile_package()
    from imagenet_cli.bbox.evaluate import read_truth, score

    with tempfile.TemporaryDirectory() as tmp:
        truth_path, sub_path = write_inputs(Path(tmp))
        truth = read_truth(str(truth_path), print)

        def scored() -> None:
            with open(sub_path, encoding="utf-8", newline="") as f:
                score(truth, f, str(sub_path), print)

        cmd = [*imagenet_command(), "bbox", "eval", str(sub_path), "--truth", str(truth_path)]

        def whole() -> None:
            subprocess.run([*cmd, "-f", "json"], stdout=subprocess.DEVNULL, check=True)

        whole()  # warm-up: the page cache and the synset index
        rows = [
            (
                "read the truth (50,000 rows)",
                _median(args.runs, lambda: read_truth(str(truth_path), print)),
            ),
            ("score the submission (50,000 rows)", _median(args.runs, scored)),
            ("imagenet bbox eval, whole process", _median(args.runs, whole)),
        ]
    for name, seconds in rows:
        print(f"{name:<40} {seconds:7.3f} s (median of {args.runs})", file=sys.stdout)


if __name__ == "__main__":
    main()
