#!/usr/bin/env python3
"""`imagenet urls index` whatever the line order: the same list grouped by wnid (as
ImageNet's fall11_urls.txt is) and interleaved across the wnids (a shuffled or
re-exported list: mirrors, img2dataset exports), each indexed by a whole process in a
fresh cache; then one wnid looked up, in-process and as `fetch --urls-only --offline`.

Reports each order's time (the median of --repeat runs, the orders taking turns) and
peak memory (the process's maximum resident set), and the ratio interleaved / grouped
(the goal: within 1.5x, in flat memory: run it with --lines 4000000 too).

  .venv/bin/python benchmarks/bench_urls_index.py                  # 2 M lines, 20,000 wnids
  .venv/bin/python benchmarks/bench_urls_index.py --lines 200000 --wnids 2000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bench import compile_package, imagenet_command, settle

ROOT = Path(__file__).resolve().parent.parent


def line(wnid: str, k: int) -> str:
    return f"{wnid}_{k}\thttp://farm{k % 9}.static.flickr.com/{k}/{k * 7919}_a1b2c3d4e5.jpg\n"


def generate(path: Path, wnids: list[str], per: int, interleaved: bool) -> None:
    """``per`` lines of each wnid: all of a wnid's together, or one of each in turn."""
    with path.open("w") as fh:
        if interleaved:
            for k in range(1, per + 1):
                fh.write("".join(line(w, k) for w in wnids))
        else:
            for w in wnids:
                fh.write("".join(line(w, k) for k in range(1, per + 1)))


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Seconds, peak resident memory (KB) and CPU seconds (user + system) of one whole
    process: on a shared machine its CPU time varies less than its wall time."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
    return secs, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--wnids", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3, help="index runs of each order")
    ap.add_argument("--work", default="/tmp/bench-urls-index")
    a = ap.parse_args()
    compile_package()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from imagenet_cli import releases

    wnids = releases.classes("imagenet21k")[: a.wnids]  # real ones: fetch checks them
    per = max(1, a.lines // len(wnids))
    config = dict(os.environ, IMAGENET_CONFIG=str(work / "config"))
    accept = ["terms", "accept", "--yes", "--name", "B", "--email", "b@example.org"]
    subprocess.run([*imagenet_command(), *accept, "--organization", "B"], env=config, check=True)
    orders = ("grouped", "interleaved")
    for order in orders:
        generate(work / f"{order}.txt", wnids, per, order == "interleaved")
    # The orders take turns, so a change in the machine's load falls on both.
    runs: dict[str, list[tuple[float, int, float]]] = {order: [] for order in orders}
    for _ in range(a.repeat):
        for order in orders:
            cache = work / f"cache-{order}"
            env = dict(os.environ, IMAGENET_CACHE=str(cache), IMAGENET_CONFIG=str(work / "config"))
            shutil.rmtree(cache, ignore_errors=True)
            settle(None)
            cmd = [*imagenet_command(), "urls", "index", str(work / f"{order}.txt"), "-q"]
            runs[order].append(run(cmd, env))
    figures: dict[str, tuple[float, int, float]] = {}
    for order in orders:
        secs = statistics.median(r[0] for r in runs[order])
        cpu = statistics.median(r[2] for r in runs[order])
        figures[order] = (secs, max(r[1] for r in runs[order]), cpu)
        print(
            f"{order:>11}: {len(wnids) * per:,} lines in {secs:.2f} s "
            f"({len(wnids) * per / secs:,.0f} lines/s; CPU {cpu:.2f} s), "
            f"peak RSS {figures[order][1] / 1024:.0f} MB (median of {a.repeat})"
        )
        (work / f"{order}.txt").unlink()
    ratio = figures["interleaved"][0] / figures["grouped"][0]
    cpu_ratio = figures["interleaved"][2] / figures["grouped"][2]
    print(
        f"      ratio: interleaved / grouped = {ratio:.2f} in time, {cpu_ratio:.2f} in CPU "
        "(goal: at most 1.5)"
    )
    for order in ("grouped", "interleaved"):
        os.environ["IMAGENET_CACHE"] = str(work / f"cache-{order}")
        from imagenet_cli.fetch.sources import urllist

        probes = [wnids[len(wnids) // 3], wnids[len(wnids) // 2], wnids[-1]]
        looks = []
        for w in probes * 5:
            t = time.perf_counter()
            refs = urllist.lookup(w)
            looks.append((time.perf_counter() - t) * 1000)
            assert len(refs) == per, (w, len(refs))
        env = dict(os.environ, IMAGENET_CONFIG=str(work / "config"))
        cli = [*imagenet_command(), "fetch", "--wnid", probes[0], "--urls-only", "--offline"]
        run(cli, env)  # the first builds the synset index in this cache
        cli_ms = statistics.median(run(cli, env)[0] for _ in range(5)) * 1000
        print(
            f"{order:>11}: one wnid's {per} URLs: lookup median {statistics.median(looks):.1f} ms "
            f"in-process; 'fetch --urls-only --offline' {cli_ms:.0f} ms (median of 5)"
        )
    for order in ("grouped", "interleaved"):
        shutil.rmtree(work / f"cache-{order}", ignore_errors=True)


if __name__ == "__main__":
    main()
