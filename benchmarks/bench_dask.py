#!/usr/bin/env python3
"""Benchmark the Dask driver against the local one on the same machine.

Workloads (generated under --data, default /tmp/imagenet-cli-bench-dask, reused
when present):

- bbox: --files box XML files in ImageNet's layout (1-3 objects each) in 500 class
  folders, converted to CSV (``imagenet bbox convert DIR -f csv -o FILE``);
- subset: --images photo-like 500x375 JPEGs in 10 classes, resized to 160 px
  (``imagenet subset extract --resize 160``).

Rows, each the median of --runs runs, interleaved:

- local: the process pool of ``-j 2`` (the engines' own driver);
- dask: ``--scheduler`` on a LocalCluster of 2 single-threaded worker processes,
  started once beforehand (the steady state of a running cluster); its start-up
  time is reported on its own, and one whole-process ``--scheduler local:2`` run
  shows the end-to-end cost;
- the overhead: dask / local - 1, per batch size (target: at most 15 % for
  batches of 1,000 items or more);
- time per item as the batch size changes (bbox: 100 to 5,000 files per task).

  python benchmarks/bench_dask.py [--runs 3] [--files 40000] [--images 600] [--data DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _bench import compile_package

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imagenet_cli import releases  # noqa: E402  (the checkout, when not installed)

CLASSES = [f"n{1440764 + i * 7919:08d}" for i in range(500)]
IMAGE_CLASSES = releases.classes("imagenette")


def box_xml(wnid: str, stem: str, rng: random.Random) -> str:
    w, h = rng.choice([(500, 375), (375, 500), (500, 333), (640, 480)])
    objs = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        x0, y0 = rng.randrange(w // 2), rng.randrange(h // 2)
        x1, y1 = rng.randrange(x0 + 1, w), rng.randrange(y0 + 1, h)
        objs.append(
            f"\t<object>\n\t\t<name>{wnid}</name>\n\t\t<pose>Unspecified</pose>\n"
            "\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n\t\t<bndbox>\n"
            f"\t\t\t<xmin>{x0}</xmin>\n\t\t\t<ymin>{y0}</ymin>\n\t\t\t<xmax>{x1}</xmax>\n"
            f"\t\t\t<ymax>{y1}</ymax>\n\t\t</bndbox>\n\t</object>\n"
        )
    return (
        f"<annotation>\n\t<folder>{wnid}</folder>\n\t<filename>{stem}</filename>\n"
        "\t<source>\n\t\t<database>ILSVRC_2012</database>\n\t</source>\n"
        f"\t<size>\n\t\t<width>{w}</width>\n\t\t<height>{h}</height>\n\t\t<depth>3</depth>\n"
        "\t</size>\n\t<segmented>0</segmented>\n" + "".join(objs) + "</annotation>\n"
    )


def generated(
    folder: Path, count: int, classes: list[str], write: Callable[[Path, str, int], None]
) -> Path:
    """``count`` files spread over ``classes``, written once: ``write(dir, wnid, i)``
    makes the i-th file of a class; a stamp marks the finished set for later runs."""
    stamp = folder / f".done-{count}"
    if stamp.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    per_class = -(-count // len(classes))
    made = 0
    for wnid in classes:
        (folder / wnid).mkdir(parents=True)
        for i in range(min(per_class, count - made)):
            write(folder / wnid, wnid, i)
            made += 1
    stamp.touch()
    return folder


def make_boxes(folder: Path, count: int) -> Path:
    rng = random.Random(7)

    def write(where: Path, wnid: str, i: int) -> None:
        stem = f"{wnid}_{i}"
        (where / f"{stem}.xml").write_text(box_xml(wnid, stem, rng))

    return generated(folder, count, CLASSES, write)


def make_images(folder: Path, count: int) -> Path:
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(3)

    def write(where: Path, wnid: str, i: int) -> None:
        img = Image.new("RGB", (500, 375), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(30):
            x, y = rng.randrange(500), rng.randrange(375)
            fill = tuple(rng.randrange(256) for _ in range(3))
            draw.ellipse((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 150)), fill)
        img = img.filter(ImageFilter.GaussianBlur(1.5))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        (where / f"{wnid}_{i}.JPEG").write_bytes(buf.getvalue())

    return generated(folder, count, list(IMAGE_CLASSES), write)


def bbox_run(src: Path, out: Path, scheduler: object, batch: int | None) -> None:
    from imagenet_cli.bbox.convert import ConvertRequest, Source, convert

    source = Source(inputs=[str(src)], workers=2, batch_size=batch)
    source.scheduler = scheduler  # type: ignore[assignment]
    req = ConvertRequest(source, fmt="csv", output=str(out))
    convert(req, sys.stdout, on_bad=print, on_quirk=lambda text: None)


def subset_run(src: Path, dst: Path, scheduler: object, batch: int | None) -> None:
    from imagenet_cli.subset.extract import Request, extract
    from imagenet_cli.subset.plan import Options
    from imagenet_cli.subset.selection import Selection

    shutil.rmtree(dst, ignore_errors=True)
    req = Request(
        sources=(str(src),),
        dst=str(dst),
        selection=Selection(presets=("imagenette",)),
        options=Options(resize=160),
        workers=2,
        batch_size=batch,
    )
    object.__setattr__(req, "scheduler", scheduler)
    summary = extract(req)
    assert summary.failed == 0 and summary.written > 0, summary


def timed(func: Callable[[], None]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def median_of(runs: int, funcs: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Each function ``runs`` times, interleaved; the median seconds of each."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(runs):
        for name, func in funcs.items():
            times[name].append(timed(func))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=40_000)
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--data", type=Path, default=Path("/tmp/imagenet-cli-bench-dask"))
    args = parser.parse_args()
    compile_package()
    os.environ.setdefault("IMAGENET_CACHE", str(args.data / "cache"))

    boxes = make_boxes(args.data / "boxes", args.files)
    images = make_images(args.data / "images", args.images)
    out = args.data / "out"
    out.mkdir(exist_ok=True)
    from imagenet_cli.drivers.cluster import Cluster

    started = time.perf_counter()
    cluster = Cluster("local:2").__enter__()
    startup = time.perf_counter() - started
    cores = len(os.sched_getaffinity(0))
    print(f"# {cores} cores; LocalCluster of 2 worker processes started in {startup:.2f} s")
    print(f"# medians of {args.runs} interleaved runs; the cluster already running\n")
    try:
        print(f"## bbox convert: {args.files:,} XML files -> CSV\n")
        print(
            "| files per task | local -j 2 (s) | dask local:2 (s) | dask overhead "
            "| local µs/file | dask µs/file |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for batch in (100, 512, 1000, 2000, 5000):
            found = median_of(
                args.runs,
                {
                    "local": lambda b=batch: bbox_run(boxes, out / "l.csv", None, b),
                    "dask": lambda b=batch: bbox_run(boxes, out / "d.csv", cluster, b),
                },
            )
            same = (out / "l.csv").read_bytes() == (out / "d.csv").read_bytes()
            assert same, "cluster output differs from the local one"
            print(
                f"| {batch:,} | {found['local']:.2f} | {found['dask']:.2f} "
                f"| {100 * (found['dask'] / found['local'] - 1):+.0f} % "
                f"| {1e6 * found['local'] / args.files:.0f} "
                f"| {1e6 * found['dask'] / args.files:.0f} |",
                flush=True,
            )

        print(f"\n## subset extract --resize 160: {args.images:,} JPEGs 500x375\n")
        print(
            "| images per task | local -j 2 (s) | dask local:2 (s) | dask overhead "
            "| local ms/image | dask ms/image |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for batch in (4, 16, 64, 256):
            found = median_of(
                args.runs,
                {
                    "local": lambda b=batch: subset_run(images, out / "sl", None, b),
                    "dask": lambda b=batch: subset_run(images, out / "sd", cluster, b),
                },
            )
            print(
                f"| {batch:,} | {found['local']:.2f} | {found['dask']:.2f} "
                f"| {100 * (found['dask'] / found['local'] - 1):+.0f} % "
                f"| {1e3 * found['local'] / args.images:.1f} "
                f"| {1e3 * found['dask'] / args.images:.1f} |",
                flush=True,
            )
    finally:
        cluster.close()

    exe = ROOT / ".venv" / "bin" / "imagenet"
    print("\n## whole process, cluster start-up included (bbox convert, default batch)\n")
    print("| command | seconds |")
    print("| --- | ---: |")
    for label, extra in (
        ("-j 2", ["-j", "2"]),
        ("--scheduler local:2", ["--scheduler", "local:2"]),
    ):
        cmd = [
            str(exe),
            "bbox",
            "convert",
            str(boxes),
            "-f",
            "csv",
            "-o",
            str(out / "p.csv"),
            *extra,
        ]
        secs = statistics.median(
            timed(lambda c=cmd: subprocess.run(c, check=True)) for _ in range(args.runs)
        )
        print(f"| imagenet bbox convert {label} | {secs:.2f} |", flush=True)


if __name__ == "__main__":
    main()
