#!/usr/bin/env python3
"""Fetch speed: `imagenet fetch` beside the downloaders people use, on one URL list.

Starts benchmarks/fetch_server.py (loopback, --latency-ms per response, 5 % 404,
5 % placeholders, 2 % HTML, 10 % redirects, 1 % dead, ~100 KB JPEGs), takes a
--urls URL fall11-style list from it, and times whole processes, --repeat times each:

  imagenet fetch        --concurrency C --per-host C, retries off (same as the baselines)
  asyncio + httpx       C requests in flight
  thread pool           16 threads of plain requests, and of one shared httpx client
  sequential httpx      one client, one URL after another (on --seq-urls URLs: slow)
  img2dataset           2 processes x 64 threads, no resize/re-encode (if installed:
                        IMG2DATASET=/path/to/img2dataset or on PATH)

Then indexes a generated --index-lines fall11-style list with `imagenet urls index`
(lines/s) and looks a wnid up (ms).

Each --repeat round runs every contender once (rotating order), each run from the
same state (synced, the previous run's files evicted from the page cache); medians
are reported with each run's time and the load average, since other work on the
machine skews single runs. C is 64 by default, fetch's own default.

  .venv/bin/python benchmarks/bench_fetch.py                 # all of it
  .venv/bin/python benchmarks/bench_fetch.py --index-lines 0 # fetch figures only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _bench import compile_package, imagenet_command, settle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
I2D_ROW = "img2dataset (2 procs x 64 threads)"
OUT = "@OUT@"  # stands for the run's output folder in the commands below


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stderr


def start_server(
    work: Path, latency: float, classes: int, per_wnid: int
) -> tuple[subprocess.Popen[bytes], int]:
    port_file = work / "port"
    port_file.unlink(missing_ok=True)
    sys.path.insert(0, str(ROOT))
    from imagenet_cli import releases

    (work / "server_wnids.txt").write_text("\n".join(releases.classes("ilsvrc2012")) + "\n")
    proc = subprocess.Popen(
        [
            PY,
            str(HERE / "fetch_server.py"),
            "--port-file",
            str(port_file),
            "--wnids",
            str(work / "server_wnids.txt"),
            "--latency-ms",
            str(latency),
            "--classes",
            str(classes),
            "--per-wnid",
            str(per_wnid),
        ]
    )
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text())
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the benchmark server did not start")


def img2dataset_bin() -> str | None:
    found = os.environ.get("IMG2DATASET") or shutil.which("img2dataset")
    if not found and Path("/tmp/i2d-venv/bin/img2dataset").exists():
        found = "/tmp/i2d-venv/bin/img2dataset"
    return found


def manifest_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        status = json.loads(line)["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts


def bench_fetch(a: argparse.Namespace, work: Path) -> None:
    server, port = start_server(work, a.latency_ms, a.urls // 100 + 1, 100)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/fall11_urls.txt", timeout=60) as r:
            lines = r.read().decode().splitlines()[: a.urls]
        listing = work / "list.tsv"
        listing.write_text("\n".join(lines) + "\n")
        urls = [line.split("\t", 1)[1] for line in lines]
        (work / "urls.txt").write_text("\n".join(urls) + "\n")
        (work / "urls_seq.txt").write_text("\n".join(urls[: a.seq_urls]) + "\n")
        wnids = sorted({line.split("_", 1)[0] for line in lines})
        (work / "wnids.txt").write_text("\n".join(wnids) + "\n")

        env = dict(
            os.environ,
            IMAGENET_CACHE=str(work / "cache"),
            IMAGENET_CONFIG=str(work / "config"),
            NO_ALBUMENTATIONS_UPDATE="1",
            PYTHONWARNINGS="ignore",
        )
        inet = imagenet_command()
        subprocess.run(
            [
                *inet,
                "terms",
                "accept",
                "--name",
                "Bench",
                "--email",
                "bench@example.org",
                "--organization",
                "benchmarks",
                "--yes",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*inet, "urls", "index", str(listing), "-q"], env=env, check=True, capture_output=True
        )
        # Untimed: the first run in a new cache builds the synset index (about 3 s), which
        # would otherwise land on whichever contender ran first.
        subprocess.run(
            [*inet, "fetch", "--wnids", str(work / "wnids.txt"), "--urls-only", "--offline"],
            env=env,
            check=True,
            capture_output=True,
        )

        c = a.concurrency
        # Each timed run writes to a folder of its own and nothing is deleted until the
        # end: on ext4, files created within a minute of deleting thousands cost about a
        # millisecond of kernel time each (the allocator steps past recently freed
        # inodes), which would charge every contender for the previous one's clean-up.
        runs_dir = work / "runs"
        shutil.rmtree(runs_dir, ignore_errors=True)
        out = Path(OUT)

        runs: dict[str, tuple[list[str], int]] = {
            "imagenet fetch": (
                [
                    *inet,
                    "fetch",
                    "--wnids",
                    str(work / "wnids.txt"),
                    "--out",
                    str(out),
                    "--concurrency",
                    str(c),
                    "--per-host",
                    str(c),
                    "--retries",
                    "0",
                    "--timeout",
                    "10",
                    "-q",
                ],
                a.urls,
            ),
            f"asyncio+httpx ({c})": (
                [
                    PY,
                    str(HERE / "fetch_baselines.py"),
                    "async",
                    str(work / "urls.txt"),
                    str(out),
                    "--concurrency",
                    str(c),
                ],
                a.urls,
            ),
            "thread pool, requests (16)": (
                [
                    PY,
                    str(HERE / "fetch_baselines.py"),
                    "pool",
                    str(work / "urls.txt"),
                    str(out),
                    "--workers",
                    "16",
                ],
                a.urls,
            ),
            "thread pool, httpx (16)": (
                [
                    PY,
                    str(HERE / "fetch_baselines.py"),
                    "pool",
                    str(work / "urls.txt"),
                    str(out),
                    "--workers",
                    "16",
                    "--lib",
                    "httpx",
                ],
                a.urls,
            ),
            "sequential httpx": (
                [PY, str(HERE / "fetch_baselines.py"), "seq", str(work / "urls_seq.txt"), str(out)],
                a.seq_urls,
            ),
        }
        i2d = img2dataset_bin()
        if i2d:
            runs[I2D_ROW] = (
                [
                    i2d,
                    "--url_list",
                    str(work / "urls.txt"),
                    "--input_format",
                    "txt",
                    "--output_folder",
                    str(out),
                    "--output_format",
                    "files",
                    "--processes_count",
                    "2",
                    "--thread_count",
                    "64",
                    "--number_sample_per_shard",
                    "500",
                    "--resize_mode",
                    "no",
                    "--skip_reencode",
                    "True",
                    "--timeout",
                    "10",
                    "--retries",
                    "0",
                    "--enable_wandb",
                    "False",
                    "--disallowed_header_directives",
                    "[]",
                ],
                a.urls,
            )
        # Interleaved rounds (each round runs every contender once, in a rotating
        # order), so load from anything else on the machine falls on all of them alike.
        times: dict[str, list[float]] = {name: [] for name in runs}
        notes: dict[str, str] = {}
        load_before = os.getloadavg()
        names = list(runs)
        previous: Path | None = None
        for rnd in range(a.repeat):
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for name in order:
                if name == "sequential httpx" and times[name]:
                    continue  # slow and only a reference: once is enough
                cmd, _ = runs[name]
                out = runs_dir / f"{rnd}-{names.index(name)}"
                out.parent.mkdir(parents=True, exist_ok=True)
                settle(previous)  # every run starts from the same state
                previous = out
                elapsed, err = timed([arg.replace(OUT, str(out)) for arg in cmd], env)
                times[name].append(elapsed)
                if name == "imagenet fetch":
                    notes[name] = json.dumps(
                        manifest_counts(out / "manifest.jsonl"), sort_keys=True
                    )
                elif name.startswith("img2dataset"):
                    jpg, png = len(list(out.glob("**/*.jpg"))), len(list(out.glob("**/*.png")))
                    notes[name] = f"{jpg} jpg + {png} png kept"
                else:
                    notes[name] = err.strip().splitlines()[-1] if err.strip() else ""
        load_after = os.getloadavg()
        results = {
            name: (statistics.median(times[name]), runs[name][1], notes[name]) for name in runs
        }
        ours = results["imagenet fetch"][1] / results["imagenet fetch"][0]
        print(
            f"\nfetch: {a.urls} URLs, {a.latency_ms:g} ms latency per response, median of "
            f"{a.repeat} interleaved whole-process runs ({os.cpu_count()} cores; load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after)"
        )
        print(f"{'':38} {'seconds':>8} {'URLs/s':>8} {'fetch is':>9}")
        for name, (secs, n, note) in results.items():
            rate = n / secs
            ratio = f"{ours / rate:.2f}x" if name != "imagenet fetch" else ""
            spread = ", ".join(f"{t:.1f}" for t in times[name])
            print(f"{name:38} {secs:8.2f} {rate:8.1f} {ratio:>9}   [{spread} s] {note}")
        if not i2d:
            print(
                "img2dataset: NOT INSTALLED (set IMG2DATASET or put it on PATH); its row is missing"
            )
        for name, want in ((I2D_ROW, 1.5), ("thread pool, requests (16)", 2.0)):
            if name in results:
                got = ours / (results[name][1] / results[name][0])
                verdict = "met" if got >= want else "NOT met"
                print(f"target: >= {want:g}x {name}: {got:.2f}x, {verdict}")
        bound = c / (a.latency_ms / 1000)
        print(
            f"concurrency bound: {c} in flight / {a.latency_ms:g} ms = {bound:.0f} requests/s; "
            f"imagenet fetch reached {ours:.0f} URLs/s = {100 * ours / bound:.1f} % of it"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        shutil.rmtree(work / "runs", ignore_errors=True)


def bench_index(a: argparse.Namespace, work: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from imagenet_cli import releases

    try:
        wnids = releases.classes("imagenet21k")
    except Exception:  # the packaged lists are optional for this figure
        wnids = [f"n{i:08d}" for i in range(1_000_000, 1_000_000 + 21_841)]
    per = max(1, a.index_lines // len(wnids))
    path = work / "fall11_generated.txt"
    t0 = time.perf_counter()
    written = 0
    with path.open("w") as fh:
        for w in wnids:
            if written >= a.index_lines:
                break
            n = min(per, a.index_lines - written)
            fh.write(
                "".join(
                    f"{w}_{k}\thttp://farm{k % 9}.static.flickr.com/{k}/{k * 7919}_a1b2c3d4e5.jpg\n"
                    for k in range(1, n + 1)
                )
            )
            written += n
    gen = time.perf_counter() - t0
    size = path.stat().st_size
    env = dict(
        os.environ, IMAGENET_CACHE=str(work / "icache"), IMAGENET_CONFIG=str(work / "config")
    )
    shutil.rmtree(work / "icache", ignore_errors=True)
    secs, _ = timed([*imagenet_command(), "urls", "index", str(path), "-q", "-f", "json"], env)
    os.environ["IMAGENET_CACHE"] = env["IMAGENET_CACHE"]
    from imagenet_cli.fetch.sources import urllist

    probes = [
        wnids[len(wnids) // 3],
        wnids[len(wnids) // 2],
        wnids[-1 if written >= per * len(wnids) else 0],
    ]
    looks = []
    for w in probes * 5:
        t = time.perf_counter()
        refs = urllist.lookup(w)
        looks.append((time.perf_counter() - t) * 1000)
        assert refs, w
    # The first command in this fresh cache also builds the synset index (once, about
    # 3 s: bench_synset.py reports it); the lookup is timed after it.
    cli = [
        *imagenet_command(),
        "fetch",
        "--wnid",
        probes[0],
        "--urls-only",
        "--offline",
        "-f",
        "tsv",
    ]
    cli_env = dict(env, IMAGENET_CONFIG=str(work / "config"))
    timed(cli, cli_env)
    cli_secs = statistics.median(timed(cli, cli_env)[0] for _ in range(5))
    print(f"\nurl-list index: {written:,} lines ({size / 1e9:.2f} GB, generated in {gen:.0f} s)")
    print(f"  imagenet urls index: {secs:.1f} s = {written / secs:,.0f} lines/s (target 500,000)")
    print(
        f"  one wnid's list ({per} URLs): median {statistics.median(looks):.1f} ms in-process "
        f"(target 50 ms); 'imagenet fetch --urls-only --offline' whole process "
        f"{cli_secs * 1000:.0f} ms (median of 5)"
    )
    path.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--urls", type=int, default=2000)
    ap.add_argument(
        "--seq-urls", type=int, default=300, help="URLs for the (slow) sequential baseline"
    )
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="in flight for fetch (its default) and the asyncio baseline",
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--index-lines", type=int, default=14_000_000, help="0 skips the index figure")
    ap.add_argument("--work", default="/tmp/bench-fetch")
    a = ap.parse_args()
    compile_package()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    if a.urls:
        bench_fetch(a, work)
    if a.index_lines:
        bench_index(a, work)


if __name__ == "__main__":
    main()
