#!/usr/bin/env python3
"""Benchmark ``imagenet subset extract --output-format webdataset|parquet`` against
the folder output and ``cp -r``.

Workload: the one of bench_subset.py (20 classes x 100 photo-like JPEGs as a train
folder, and a train tar of 200 class tars), generated under --data when missing.

Rows, each the median of --runs whole-process runs, interleaved, ratios from the
same run; every run starts synced, with the previous output out of the page cache
and (folder cases) the source read once:

- copy-mode WebDataset shards of the 20 classes, from the folder and from the train
  tar (its index built beforehand), and Parquet from the folder, vs ``cp -r`` of
  the same class folders (target: within 1.3x);
- --resize 160 into shards vs --resize 160 into class folders (target: within 10 %).

  python benchmarks/bench_shards.py [--runs 5] [--data DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

from _bench import compile_package, imagenet_command, settle
from bench_subset import OUT, generate, timed, warm, with_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--data", type=Path, default=Path("/tmp/imagenet-cli-bench-subset"))
    ap.add_argument("--keep", action="store_true", help="keep the outputs (DATA/out-shards)")
    a = ap.parse_args()
    compile_package()
    generate(a.data)
    tree, tar = a.data / "train", a.data / "train.tar"
    out_root = a.data / "out-shards"  # a folder per run, removed at the end (see bench_subset)
    shutil.rmtree(out_root, ignore_errors=True)
    out = Path(OUT)
    env = {**os.environ, "IMAGENET_CACHE": str(a.data / "cache"), "NO_COLOR": "1"}
    imagenet = imagenet_command()
    classes = sorted(os.listdir(tree))
    wnids = [x for w in classes for x in ("--wnid", w)]
    extract = [*imagenet, "subset", "extract", "--to", str(out)]
    # warm up: the synset index, the tar's index (the tar case times the copy alone)
    timed([*extract, "--from", str(tar), *wnids, "--dry-run"], env, lambda: None)
    cp = "mkdir -p {o} && " + " && ".join(f"cp -r {tree}/{w} {{o}}/" for w in classes)
    wds = ["--output-format", "webdataset"]
    cases: dict[str, list[str] | str] = {
        "cp -r (20 classes)": cp.format(o=out),
        "folder copy": [*extract, "--from", str(tree)],
        "webdataset copy, folder": [*extract, "--from", str(tree), *wds],
        "webdataset copy, train tar": [*extract, "--from", str(tar), *wnids, *wds],
        "parquet copy, folder": [*extract, "--from", str(tree), "--output-format", "parquet"],
        "folder --resize 160": [*extract, "--from", str(tree), "--resize", "160"],
        "webdataset --resize 160": [*extract, "--from", str(tree), "--resize", "160", *wds],
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    previous: Path | None = None
    for run in range(a.runs):
        for i, (name, cmd) in enumerate(cases.items()):
            settle(previous)
            if "tar" not in name:
                warm(tree)
            previous = out_root / f"{run}-{i}"
            t, _ = timed(with_out(cmd, previous), env, lambda: None)
            times[name].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"imagenet subset shards benchmark: {len(classes)} classes x 100 images; "
        f"median of {a.runs} runs, {os.cpu_count()} cores"
    )
    print(f"{'case':28} {'median s':>9}  ratio")
    rows = [
        ("cp -r (20 classes)", None),
        ("folder copy", ("cp -r (20 classes)", "")),
        ("webdataset copy, folder", ("cp -r (20 classes)", "<= 1.3x cp -r")),
        ("webdataset copy, train tar", ("cp -r (20 classes)", "<= 1.3x cp -r")),
        ("parquet copy, folder", ("cp -r (20 classes)", "")),
        ("folder --resize 160", None),
        ("webdataset --resize 160", ("folder --resize 160", "<= 1.1x the folders")),
    ]
    for name, vs in rows:
        line = f"{name:28} {med[name]:9.3f}"
        if vs:
            base, target = vs
            line += f"  {med[name] / med[base]:.2f}x {base}"
            line += f" (target {target})" if target else ""
        print(line + "  [" + ", ".join(f"{t:.3f}" for t in times[name]) + " s]")
    if not a.keep:
        shutil.rmtree(out_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
