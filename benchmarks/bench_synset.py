"""Synset lookup speed: cold ``imagenet synset`` processes beside the usual alternatives.

Every row is a whole new process, timed from start to exit, run alternately in the
same loop so machine noise falls on all rows alike; medians and ratios are printed.

    python benchmarks/bench_synset.py [--runs 21] [--nltk-data DIR]

Rows: ``python -c pass`` (the interpreter floor), ``imagenet synset search dog``,
the C ``wn dog -over`` (Debian package ``wordnet``), an nltk lookup of the same
word, and the whole hierarchy as JSON (``imagenet synset tree -f json``). Also the
one-time index build that the first run in an empty cache pays.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import compile_package, imagenet_command

NLTK_LOOKUP = (
    "from nltk.corpus import wordnet as wn\n"
    "ss = wn.synsets('dog', 'n')\n"
    "print(ss[0].name(), ss[0].offset(), ss[0].definition())\n"
)


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=21, help="timed runs per row (after one warm-up)"
    )
    parser.add_argument(
        "--nltk-data", default=os.environ.get("NLTK_DATA", str(Path.cwd() / ".nltk_data"))
    )
    args = parser.parse_args()

    env = {**os.environ, "NLTK_DATA": args.nltk_data}
    compile_package()
    imagenet = imagenet_command()
    rows: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "imagenet synset search dog": [*imagenet, "synset", "search", "dog"],
    }
    notes = []
    wn = shutil.which("wn")
    if wn:
        rows["wn dog -over (C)"] = ["sh", "-c", f"{wn} dog -over; true"]
    else:
        notes.append("wn: not installed (apt-get install wordnet), row left out")
    try:
        subprocess.run(
            [sys.executable, "-c", NLTK_LOOKUP], env=env, check=True, capture_output=True
        )
        rows["nltk wn.synsets('dog')"] = [sys.executable, "-c", NLTK_LOOKUP]
    except subprocess.CalledProcessError:
        notes.append(
            f"nltk: no WordNet under {args.nltk_data} (scripts/setup_wordnet.sh), row left out"
        )
    rows["imagenet synset tree -f json (all)"] = [*imagenet, "synset", "tree", "-f", "json"]

    for cmd in rows.values():  # warm-up: the index in the cache, files in the page cache
        _time(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.runs):
        for name, cmd in rows.items():
            times[name].append(_time(cmd, env))

    with tempfile.TemporaryDirectory() as empty:
        build_env = {**env, "IMAGENET_CACHE": empty}
        first = _time([*imagenet, "synset", "search", "dog"], build_env)

    floor = statistics.median(times["python -c pass"])
    ours = statistics.median(times["imagenet synset search dog"])
    print(f"cold processes, median of {args.runs} runs each, interleaved ({os.cpu_count()} cores)")
    print(f"{'command':40} {'median ms':>10} {'min ms':>8} {'vs imagenet':>12}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:40} {med * 1000:10.1f} {min(samples) * 1000:8.1f} {med / ours:11.2f}x")
    print()
    print(
        f"imagenet synset search dog: {ours * 1000:.1f} ms median (target <= 100 ms); "
        f"{(ours - floor) * 1000:.1f} ms above the bare interpreter"
    )
    tree = statistics.median(times["imagenet synset tree -f json (all)"])
    print(f"whole hierarchy as JSON: {tree:.2f} s median (target <= 1 s)")
    print(f"first run with an empty cache (builds the index once): {first:.2f} s")
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
