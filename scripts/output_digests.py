#!/usr/bin/env python3
"""A sha256 per output file of bbox convert, subset extract, fetch and urls index, on
small benchmark-shaped data: run it before and after a change, and compare the lists.

In a temporary folder it generates a bbox XML tree and its .tar.gz (bench_bbox), a train
folder, a train tar of class tars (bench_subset) and a flat val folder, and starts the
loopback fetch server (fetch_server.py) with a fall11-style URL list. Then it runs, with
the ``imagenet`` given (default: the one beside this Python):

  imagenet bbox convert       every format, from the folder and from the archive
  imagenet subset extract     copy, --resize, the class tars, the val folder
  imagenet fetch --url-list   images, manifest; then --urls-only --offline
  imagenet urls index         the same list

and prints ``<sha256>  <name>`` for each output file and each command's stdout. Paths of
the temporary folder and the server's port are replaced by fixed words first, so two
runs compare line for line.

  .venv/bin/python scripts/output_digests.py [--imagenet /path/to/imagenet] > digests.txt
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

BBOX_FORMATS = ("csv", "tsv", "json", "jsonl", "coco", "yolo", "loc")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(sys.executable).with_name("imagenet")
    ap.add_argument("--imagenet", default=str(default), help="the imagenet executable")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digests-"))
    try:
        digests = run_all([a.imagenet], work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    for name, digest in digests:
        print(f"{digest}  {name}")


def run_all(imagenet: list[str], work: Path) -> list[tuple[str, str]]:
    import bench_bbox
    import bench_subset

    env = dict(
        os.environ,
        IMAGENET_CACHE=str(work / "cache"),
        IMAGENET_CONFIG=str(work / "config"),
        NO_COLOR="1",
    )
    out = work / "out"
    out.mkdir()
    found: list[tuple[str, str]] = []
    port = 0

    def run(name: str, *args: str, ok: tuple[int, ...] = (0,)) -> None:
        proc = subprocess.run([*imagenet, *args], env=env, capture_output=True, cwd=work)
        if proc.returncode not in ok:
            sys.exit(f"{name}: exit {proc.returncode}\n{proc.stderr.decode()[-2000:]}")
        found.append((f"{name} (stdout)", digest(proc.stdout, work, port)))
        found.append((f"{name} (exit)", str(proc.returncode)))

    # bbox
    folder, tgz = bench_bbox.generate(work / "bbox", 300, classes=12)
    for fmt in BBOX_FORMATS:
        for src_name, src in (("folder", folder), ("tgz", tgz)):
            name = f"bbox-{fmt}-{src_name}"
            if fmt == "yolo":
                run(name, "bbox", "convert", str(src), "-f", fmt, "--out", str(out / name), "-q")
            else:
                run(name, "bbox", "convert", str(src), "-f", fmt, "-o", str(out / name), "-q")
    run("bbox-csv-normalize", "bbox", "convert", str(folder), "-f", "csv", "--normalize", "-q")

    # subset
    data = work / "subset"
    bench_subset.generate(data, classes=10, per_class=6, tar_classes=12)
    val = work / "val"
    val.mkdir()
    pictures = sorted((data / "train").rglob("*.JPEG"))
    for number in range(1, 21):
        shutil.copy(pictures[number % len(pictures)], val / f"ILSVRC2012_val_{number:08d}.JPEG")
    train = str(data / "train")
    run("subset-copy", "subset", "extract", "--from", train, "--to", str(out / "s-copy"), "-q")
    run(
        "subset-resize",
        *("subset", "extract", "--from", train, "--to", str(out / "s-resize")),
        *("--resize", "64", "--per-class", "3", "-f", "jsonl"),
    )
    tar_args = ("--wnid", "n01440764", "--wnid", "n03000684")
    run(
        "subset-tar",
        "subset",
        "extract",
        "--from",
        str(data / "train.tar"),
        "--to",
        str(out / "s-tar"),
        *tar_args,
        "-q",
    )
    run(
        "subset-val",
        "subset",
        "extract",
        "--from",
        str(val),
        "--split",
        "val",
        "--to",
        str(out / "s-val"),
        "-q",
    )

    # fetch
    server, port = start_server(work)
    try:
        url_list = f"http://127.0.0.1:{port}/fall11_urls.txt"
        terms = ("--accept-terms", "--name", "A B", "--email", "a@b.c", "--organization", "O")
        run(
            "fetch",
            *("fetch", "--wnid", "n01440764", "--wnid", "n02102040", "--url-list", url_list),
            *("--out", str(out / "f"), "--retries", "0", "--timeout", "10", "-f", "jsonl"),
            *terms,
        )
        run("fetch-urls-only", "fetch", "--wnid", "n01440764", "--urls-only", "--offline")
        run("urls-index", "urls", "index", url_list, "-q", "-f", "json")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)

    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        found.append((str(path.relative_to(out)), digest(path.read_bytes(), work, port)))
    return found


def start_server(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    from imagenet_cli import releases

    port_file = work / "port"
    (work / "server_wnids.txt").write_text("\n".join(releases.classes("imagenette")) + "\n")
    args = ("--wnids", str(work / "server_wnids.txt"), "--latency-ms", "0", "--classes", "3")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fetch_server.py"),
            "--port-file",
            str(port_file),
            *args,
            "--per-wnid",
            "30",
        ]
    )
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text())
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the fetch server did not start")


def digest(data: bytes, work: Path, port: int) -> str:
    """sha256 of ``data`` with the temporary folder, the server's port and the time a
    list was fetched as fixed words."""
    data = data.replace(str(work).encode(), b"@WORK@")
    if port:
        data = data.replace(f"127.0.0.1:{port}".encode(), b"127.0.0.1:@PORT@")
    data = re.sub(rb'"fetched_at": "[^"]*"', b'"fetched_at": "@TIME@"', data)
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    main()
