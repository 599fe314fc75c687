#!/usr/bin/env python3
"""Benchmark ``imagenet bbox convert`` against the baselines it is judged by.

Generates N box files in ImageNet's layout (``<wnid>/<wnid>_<id>.xml``, tab-indented,
1-4 objects per file, 0.2 % with a real-data quirk) as a folder and as a .tar.gz
under /tmp, then times, in one run, as whole processes (median of --repeat):

* ``imagenet bbox convert`` to csv and to coco, from the folder and from the .tar.gz;
* the plain sequential xml.etree script (benchmarks/bbox_etree_baseline.py);
* Datumaro's VOC -> COCO conversion of the same files (``datum`` from $DATUM or
  PATH; a VOC view of the tree made of hard links is built once, untimed).

and reports files/s and ratios, plus peak memory (max RSS of the process tree) of
csv and jsonl at N/10 and N files, to show it flat in the number of files.

    python benchmarks/bench_bbox.py [--files 100000] [--repeat 3] [--workers 0]
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
import tarfile
import time
from pathlib import Path
from typing import Any

from _bench import compile_package

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "bbox_etree_baseline.py"
IMAGENET = str(Path(sys.executable).with_name("imagenet"))

HEAD = (
    "<annotation>\n\t<folder>{wnid}</folder>\n\t<filename>{stem}</filename>\n\t<source>\n"
    "\t\t<database>ILSVRC_2012</database>\n\t</source>\n\t<size>\n\t\t<width>{w}</width>\n"
    "\t\t<height>{h}</height>\n\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n"
)
OBJ = (
    "\t<object>\n\t\t<name>{wnid}</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
    "\t\t<difficult>0</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>{x0}</xmin>\n\t\t\t<ymin>{y0}</ymin>\n"
    "\t\t\t<xmax>{x1}</xmax>\n\t\t\t<ymax>{y1}</ymax>\n\t\t</bndbox>\n\t</object>\n"
)
SIZES = [
    (500, 375),
    (500, 375),
    (500, 375),
    (375, 500),
    (500, 333),
    (333, 500),
    (500, 500),
    (500, 400),
]


def _wnids(n: int) -> list[str]:
    try:
        from imagenet_cli import releases

        return releases.classes("ilsvrc2012")[:n]
    except Exception:  # a bare checkout without data: made-up but well-formed ids
        rng = random.Random(1)
        return sorted({f"n{rng.randrange(1_000_000, 15_000_000):08d}" for _ in range(n)})


def _xml(rng: random.Random, wnid: str, num: int) -> str:
    w, h = (
        rng.choice(SIZES)
        if rng.random() < 0.7
        else (rng.randint(200, 1000), rng.randint(200, 1000))
    )
    quirk = rng.choice(["outside", "swapped", "float"]) if rng.random() < 0.002 else None
    parts = [HEAD.format(wnid=wnid, stem=f"{wnid}_{num}", w=w, h=h)]
    for _ in range(rng.choices([1, 2, 3, 4], weights=[88, 8, 3, 1])[0]):
        bw, bh = rng.randint(max(8, w // 8), w), rng.randint(max(8, h // 8), h)
        x0, y0 = rng.randint(0, w - bw), rng.randint(0, h - bh)
        box: list[object] = [x0, y0, x0 + bw - 1, y0 + bh - 1]
        if quirk == "outside":
            box[2], box[3] = int(box[2]) + rng.randint(1, 40), int(box[3]) + rng.randint(1, 40)  # type: ignore[call-overload]
        elif quirk == "swapped":
            box = [box[2], box[1], box[0], box[3]]
        elif quirk == "float":
            box = [f"{int(v) + 0.5:.1f}" for v in box]  # type: ignore[call-overload]
        parts.append(OBJ.format(wnid=wnid, x0=box[0], y0=box[1], x1=box[2], y1=box[3]))
    parts.append("</annotation>\n")
    return "".join(parts)


def generate(root: Path, n: int, classes: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    """N files as ROOT/ann/<wnid>/<wnid>_<id>.xml and ROOT/ann.tar.gz (kept for reuse)."""
    folder, tgz = root / "ann", root / "ann.tar.gz"
    done = root / ".complete"
    if done.exists():
        return folder, tgz
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(seed)
    wnids = _wnids(classes)
    with tarfile.open(tgz, "w:gz", compresslevel=6) as tar:
        for ci, wnid in enumerate(wnids):
            count = n // len(wnids) + (1 if ci < n % len(wnids) else 0)
            if not count:
                continue
            (folder / wnid).mkdir(parents=True, exist_ok=True)
            for num in sorted(rng.sample(range(1, max(20_000, 3 * count)), count)):
                data = _xml(rng, wnid, num).encode()
                rel = f"{wnid}/{wnid}_{num}.xml"
                (folder / rel).write_bytes(data)
                info = tarfile.TarInfo(rel)
                info.size, info.mtime, info.mode = len(data), 1_300_000_000, 0o644
                tar.addfile(info, io.BytesIO(data))
    done.touch()
    return folder, tgz


def voc_view(folder: Path, voc: Path) -> Path:
    """The VOC layout Datumaro reads: Annotations/ (hard links), ImageSets, labelmap."""
    marker = voc / "ImageSets" / "Main" / "train.txt"
    if marker.exists():
        return voc
    shutil.rmtree(voc, ignore_errors=True)
    (voc / "Annotations").mkdir(parents=True)
    marker.parent.mkdir(parents=True)
    stems, wnids = [], []
    for sub in sorted(folder.iterdir()):
        wnids.append(sub.name)
        for xml in sorted(sub.glob("*.xml")):
            os.link(xml, voc / "Annotations" / xml.name)
            stems.append(xml.stem)
    marker.write_text("\n".join(stems) + "\n")
    (voc / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\n" + "".join(f"{w}:0,0,0::\n" for w in wnids)
    )
    return voc


TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def run(cmd: list[str], stdout: str | None = None) -> tuple[float, int, int, float]:
    """Seconds, peak RSS in kB of the process tree, exit code, and CPU seconds (user
    + system, workers included) of one run. CPU time says what the work costs
    even when a shared machine leaves wall time noisy.

    Peak memory comes from GNU time (a forked child starts from its parent's RSS
    high-water mark, so this script's own size would floor a direct wait4 figure).
    """
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-bbox-time-{os.getpid()}.txt"
    full = [TIME, "-f", "%M", "-o", str(report), *cmd] if TIME else cmd
    with open(stdout or os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    peak = int(usage.ru_maxrss)
    if TIME and report.exists():
        text = report.read_text().strip().splitlines()
        peak = int(text[-1]) if text and text[-1].isdigit() else peak
        report.unlink()
    return elapsed, peak, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime


def measure(
    cases: dict[str, tuple[str, list[str]]], repeat: int, files: int
) -> dict[str, dict[str, Any]]:
    """Each case ``repeat`` times, in interleaved rounds (each round runs every case
    once, so a busy spell of the machine falls on all of them alike); a row of
    medians per case."""
    runs: dict[str, list[tuple[float, int, int, float]]] = {key: [] for key in cases}
    for _ in range(repeat):
        for key, (_, cmd) in cases.items():
            runs[key].append(run(cmd))
    rows = {}
    for key, (name, _) in cases.items():
        times = [r[0] for r in runs[key]]
        peak = max(r[1] for r in runs[key])
        if any(r[2] not in (0, 1) for r in runs[key]):
            print(f"  {name}: exited {[r[2] for r in runs[key]]}", file=sys.stderr)
        median = statistics.median(times)
        cpu = statistics.median(r[3] for r in runs[key])
        rows[key] = {
            "name": name,
            "seconds": median,
            "files_s": files / median,
            "peak_mb": peak / 1024,
            "cpu_us": cpu / files * 1e6,
        }
        print(
            f"  {name:<40} {median:8.2f} s {files / median:10,.0f} files/s"
            f"  peak {peak / 1024:6.0f} MB  CPU {cpu / files * 1e6:5.0f} µs/file"
            f"  [{', '.join(f'{t:.2f}' for t in times)} s]",
            file=sys.stderr,
        )
    return rows


def find_datum() -> str | None:
    env = os.environ.get("DATUM")
    if env:
        return env if Path(env).exists() else None
    return shutil.which("datum") or (
        "/tmp/datum-venv/bin/datum" if Path("/tmp/datum-venv/bin/datum").exists() else None
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=100_000, help="number of XML files")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (median)")
    ap.add_argument("--workers", type=int, default=0, help="imagenet --workers (0: one per core)")
    ap.add_argument("--data", default="/tmp/imagenet-bench-bbox", help="where generated data goes")
    ap.add_argument("--no-datumaro", action="store_true", help="skip Datumaro even when installed")
    a = ap.parse_args()
    compile_package()

    n = a.files
    root = Path(a.data)
    t0 = time.perf_counter()
    folder, tgz = generate(root / str(n), n)
    small_n = max(1, n // 10)
    small_folder, _ = generate(root / str(small_n), small_n)
    print(
        f"data: {n:,} files in {folder} and {tgz} ({time.perf_counter() - t0:.0f} s)",
        file=sys.stderr,
    )
    out = str(root / "out")
    j = ["-j", str(a.workers)]
    cases: dict[str, tuple[str, list[str]]] = {}
    for label, src in (("folder", folder), ("tar.gz", tgz)):
        cases[f"etree {label}"] = (
            f"xml.etree script ({label})",
            [sys.executable, str(BASELINE), str(src), out + ".csv"],
        )
        for fmt in ("csv", "coco"):
            cases[f"{fmt} {label}"] = (
                f"imagenet bbox convert -f {fmt} ({label})",
                [IMAGENET, "bbox", "convert", str(src), "-f", fmt, "-q", *j, "-o", f"{out}.{fmt}"],
            )
    datum = None if a.no_datumaro else find_datum()
    if datum:
        voc = voc_view(folder, root / str(n) / "voc")
        cases["datumaro folder"] = (
            "Datumaro voc_detection -> coco_instances",
            [
                "sh",
                "-c",
                'rm -rf "$2" && exec "$0" convert -i "$1" '
                '-if voc_detection -f coco_instances -o "$2"',
                datum,
                str(voc),
                f"{out}-datum",
            ],
        )
    else:
        print(
            "  Datumaro: not found (set DATUM=/path/to/datum or put datum on PATH; "
            "python3 -m venv /tmp/datum-venv && /tmp/datum-venv/bin/pip install 'datumaro[cli]')",
            file=sys.stderr,
        )
    # A cache of the benchmark's own, its synset index built untimed (coco names its
    # categories from it): the first timed coco run would otherwise build it (3 s and
    # 200 MB once, in whichever cache the user has).
    os.environ["IMAGENET_CACHE"] = str(root / "cache")
    subprocess.run(
        [IMAGENET, "synset", "show", "n01440764", "-f", "ids"], check=True, capture_output=True
    )
    print(
        f"timing ({a.repeat} interleaved rounds, medians; {os.cpu_count()} cores):",
        file=sys.stderr,
    )
    rows = measure(cases, a.repeat, n)
    print("peak memory, flat in the number of files (csv, jsonl; folder):", file=sys.stderr)
    memory = []
    for fmt in ("csv", "jsonl"):
        for count, src in ((small_n, small_folder), (n, folder)):
            _, peak, _, _ = run(
                [IMAGENET, "bbox", "convert", str(src), "-f", fmt, "-q", *j], stdout=os.devnull
            )
            memory.append((fmt, count, peak / 1024))

    def ratio(a_key: str, b_key: str) -> str:
        if a_key not in rows or b_key not in rows:
            return "n/a"
        return f"{rows[a_key]['files_s'] / rows[b_key]['files_s']:.1f}x"

    print()
    print(
        f"## imagenet bbox convert, {n:,} files ({os.cpu_count()} cores, "
        f"workers={a.workers or 'all'}, "
        f"median of {a.repeat} interleaved rounds)"
    )
    print()
    print("| command | source | seconds | files/s | CPU µs/file | peak MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for key, row in rows.items():
        source = "folder" if key.endswith("folder") else "tar.gz"
        print(
            f"| {row['name']} | {source} | {row['seconds']:.2f} | {row['files_s']:,.0f} | "
            f"{row['cpu_us']:.0f} | {row['peak_mb']:.0f} |"
        )
    print()
    print("| ratio | folder | tar.gz |")
    print("| --- | ---: | ---: |")
    ratios = (
        ("csv vs xml.etree script (target >= 5x)", "csv", "etree"),
        ("coco vs xml.etree script", "coco", "etree"),
        ("coco vs Datumaro, its time on the folder (target >= 3x)", "coco", "datumaro"),
        ("csv vs Datumaro, its time on the folder", "csv", "datumaro"),
    )
    for title, ours, theirs in ratios:
        folder_ratio = ratio(f"{ours} folder", f"{theirs} folder")
        tar_ratio = ratio(
            f"{ours} tar.gz", f"{theirs} {'folder' if theirs == 'datumaro' else 'tar.gz'}"
        )
        print(f"| {title} | {folder_ratio} | {tar_ratio} |")
    print()
    print("| format | files | peak MB |")
    print("| --- | ---: | ---: |")
    for fmt, count, mb in memory:
        print(f"| {fmt} | {count:,} | {mb:.0f} |")


if __name__ == "__main__":
    main()
