#!/usr/bin/env python3
"""Soak: kill -9 a fetch again and again behind a dead host; it must still finish right.

A 1,000-URL list (a host that accepts and never answers first, 999 images on a loopback
server) is fetched once without interruption, then again into another folder, where
each run is killed (SIGKILL to its process group) at a random moment, ``--kills`` times,
before one run is let finish. Checked at the end:

* the tree and the manifest equal the uninterrupted run's;
* no image recorded by a killed run (its row in the manifest) was downloaded again;
* how often each URL was downloaded in all (an image in flight when the run was killed
  is downloaded again: that is the most a kill may lose).

Everything is on 127.0.0.1. Exit status 0 when the checks hold. Usage:
    python scripts/soak_fetch.py [--kills 20] [--urls 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WNIDS = ("n01440764", "n01443537", "n01484850", "n01491361")  # four fish


def images(count: int) -> list[bytes]:
    """A distinct small JPEG per URL."""
    from PIL import Image, ImageDraw

    out = []
    for i in range(count):
        im = Image.new("RGB", (64 + i % 32, 48), (i % 256, (i * 7) % 256, 90))
        ImageDraw.Draw(im).rectangle((i % 20, 5, 40, 30), fill=(10, 200, (i * 13) % 256))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


class Server:
    """Serves /img/N.jpg after ``latency`` seconds, counting requests per path."""

    def __init__(self, bodies: list[bytes], latency: float) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with owner.lock:
                    owner.hits[self.path] += 1
                time.sleep(latency)
                n = int(self.path.rsplit("/", 1)[1].split(".")[0])
                body = bodies[n]
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client was killed
                    pass

        class Threaded(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client killed mid-request: expected here

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.hits)


def imagenet() -> list[str]:
    exe = shutil.which("imagenet", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "imagenet_cli"]


def recorded(manifest: Path) -> set[str]:
    """The URLs with a row (a torn last line, from a kill, is no row)."""
    try:
        text = manifest.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return set()
    found = set()
    for line in text.splitlines():
        with contextlib.suppress(ValueError, KeyError):
            found.add(json.loads(line)["url"])
    return found


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.03, help="seconds per image response")
    parser.add_argument("--timeout", type=float, default=5.0, help="fetch --timeout")
    parser.add_argument("--min-wait", type=float, default=0.2)
    parser.add_argument("--max-wait", type=float, default=3.0)
    parser.add_argument(
        "--command", help="the imagenet command to soak, split on spaces (default: this one's)"
    )
    a = parser.parse_args()
    rng = random.Random(a.seed)

    server = Server(images(a.urls), a.latency)
    dead = socket.socket()  # takes connections, never answers
    dead.bind(("127.0.0.1", 0))
    dead.listen(64)
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}/dead.jpg"
    work = Path(tempfile.mkdtemp(prefix="soak-fetch-"))
    try:
        lines = [f"{WNIDS[0]}_dead\t{dead_url}"]
        for i in range(1, a.urls):
            wnid = WNIDS[i * len(WNIDS) // a.urls]
            lines.append(f"{wnid}_{i}\thttp://127.0.0.1:{server.port}/img/{i}.jpg")
        listing = work / "list.tsv"
        listing.write_text("\n".join(lines) + "\n")
        (work / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
        env = dict(os.environ, IMAGENET_CACHE=str(work / "cache"))
        env["IMAGENET_CONFIG"] = str(work / "config")
        inet = a.command.split() if a.command else imagenet()
        subprocess.run(
            [*inet, "terms", "accept", "--name", "Soak", "--email", "soak@example.org",
             "--organization", "soak", "--yes"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*inet, "urls", "index", str(listing), "-q"], env=env, check=True, capture_output=True
        )

        def cmd(out: Path) -> list[str]:
            return [
                *inet, "fetch", "--wnids", str(work / "wnids.txt"), "--out", str(out), "-q",
                "--timeout", str(a.timeout), "--concurrency", "8", "--offline",
            ]  # fmt: skip

        whole = work / "whole"
        started = time.monotonic()
        subprocess.run(cmd(whole), env=env, check=True, capture_output=True)
        once = time.monotonic() - started
        reference = server.snapshot()
        with server.lock:
            server.hits.clear()

        out = work / "out"
        manifest = out / "manifest.jsonl"
        kills = runs = 0
        kept_again = 0  # images with a row before a run that the run downloaded again
        started = time.monotonic()
        while True:
            kept = recorded(manifest)
            before = server.snapshot()
            runs += 1
            proc = subprocess.Popen(
                cmd(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True,
            )  # fmt: skip
            if kills < a.kills:
                try:
                    proc.wait(rng.uniform(a.min_wait, a.max_wait))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    kills += 1
                    after = server.snapshot()
                    kept_again += sum(
                        1
                        for path, n in (after - before).items()
                        if n and f"http://127.0.0.1:{server.port}{path}" in kept
                    )
                    continue
            err = proc.communicate()[1].decode()
            if proc.returncode != 0:
                print(f"run {runs} exited {proc.returncode}: {err.strip()}", file=sys.stderr)
                return 1
            after = server.snapshot()
            kept_again += sum(
                1
                for path, n in (after - before).items()
                if n and f"http://127.0.0.1:{server.port}{path}" in kept
            )
            break
        soaked = time.monotonic() - started

        hits = server.snapshot()
        per_url = Counter(hits.get(f"/img/{i}.jpg", 0) for i in range(1, a.urls))
        same_tree = tree(out) == tree(whole)
        same_manifest = manifest.read_bytes() == (whole / "manifest.jsonl").read_bytes()
        parts = [p for p in out.rglob("*") if p.name.endswith(".part")]
        print(f"urls: {a.urls} (1 dead host first, {a.urls - 1} images)")
        print(f"uninterrupted run: {once:.1f} s, {sum(reference.values())} image requests")
        print(f"soak: {kills} kills in {runs} runs, {soaked:.1f} s in all")
        print(f"image requests: {sum(hits.values())} for {a.urls - 1} images")
        print("downloads per image: " + ", ".join(f"{n}x: {c}" for n, c in sorted(per_url.items())))
        print(f"recorded images downloaded again: {kept_again}")
        print(f"tree equal: {same_tree}; manifest equal: {same_manifest}; .part left: {len(parts)}")
        return 0 if same_tree and same_manifest and not parts and kept_again == 0 else 1
    finally:
        dead.close()
        server.httpd.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
