#!/usr/bin/env python3
"""Benchmark ``imagenet eval`` on a full 50,000-row validation predictions file.

Writes a Kaggle-style CSV (five labels per image, the truth at a random rank or absent)
under a temporary folder, then times ``evaluate`` in-process and ``imagenet eval -f json``
as a whole process, median of --repeat (target: under 2 s each).

    python benchmarks/bench_eval.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _bench import compile_package, imagenet_command


def write_csv(path: Path) -> None:
    from imagenet_cli import releases

    rng = random.Random(0)
    classes = releases.classes("ilsvrc2012")
    rows = ["ImageId,PredictionString"]
    for i, wnid in enumerate(releases.val_labels(), start=1):
        labels = rng.sample(classes, 5)
        if rng.random() < 0.8:
            labels[rng.randrange(5)] = wnid
        rows.append(f"ILSVRC2012_val_{i:08d},{' '.join(labels)}")
    path.write_text("\n".join(rows) + "\n")


def median_seconds(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    compile_package()
    from imagenet_cli.eval import EvalRequest, evaluate

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp, "preds.csv")
        write_csv(csv)

        def in_process() -> None:
            evaluate(EvalRequest(str(csv)), on_bad=print)

        def whole_process() -> None:
            subprocess.run(
                [*imagenet_command(), "eval", str(csv), "-f", "json"],
                check=True,
                stdout=subprocess.DEVNULL,
            )

        print(f"csv, 50,000 rows, evaluate():      {median_seconds(in_process, args.repeat):.3f} s")
        print(
            f"csv, 50,000 rows, imagenet eval:   {median_seconds(whole_process, args.repeat):.3f} s"
        )


if __name__ == "__main__":
    main()
