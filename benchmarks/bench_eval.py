#!/usr/bin/env python3
"""Benchmark ``imagenet eval`` on full 50,000-image validation predictions.

Writes a Kaggle-style CSV (five labels per image, the truth at a random rank or absent)
and a 50,000 x 1,000 float32 ``.npy`` of logits under a temporary folder, then times
``evaluate`` in-process and ``imagenet eval -f json`` as a whole process, median of
--repeat (target: under 2 s each). Beside the array: the usual numpy script, loading it and
taking each row's top five with ``argpartition``, no labels, no checks.

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


def write_npy(path: Path) -> None:
    import numpy as np

    from imagenet_cli import releases

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50_000, 1_000), dtype=np.float32)
    index = {w: i for i, w in enumerate(releases.classes("ilsvrc2012"))}
    truth = np.array([index[w] for w in releases.val_labels()])
    hit = rng.random(50_000) < 0.8
    logits[np.flatnonzero(hit), truth[hit]] += 4.0
    np.save(path, logits)


def numpy_floor(path: Path) -> None:
    import numpy as np

    logits = np.load(path)
    np.argpartition(-logits, 4, axis=1)[:, :5]


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

        npy = Path(tmp, "logits.npy")
        write_npy(npy)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("csv, 50,000 rows, evaluate()", in_process),
            ("csv, 50,000 rows, imagenet eval", whole_process),
            (
                "npy, 50,000 x 1,000 float32, evaluate()",
                lambda: evaluate(EvalRequest(str(npy)), on_bad=print),
            ),
            (
                "npy, 50,000 x 1,000 float32, imagenet eval",
                lambda: subprocess.run(
                    [*imagenet_command(), "eval", str(npy), "-f", "json"],
                    check=True,
                    stdout=subprocess.DEVNULL,
                ),
            ),
            ("plain numpy: np.load + argpartition top-5", lambda: numpy_floor(npy)),
        ]
        for label, call in cases:
            print(f"{label:<46} {median_seconds(call, args.repeat):.3f} s")


if __name__ == "__main__":
    main()
