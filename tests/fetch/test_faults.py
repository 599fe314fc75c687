"""Faults from outside the URL: kill -9 behind a dead host, a full disk, a reset mid-body."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imagenet_cli.fetch.item import FetchOptions
from imagenet_cli.fetch.local import fetch
from imagenet_cli.fetch.sources import ImageRef
from imagenet_cli.fetch.transport import CurlSession, TransportError
from imagenet_cli.images import ImageOptions
from tests.conftest import resize_disk, run

from .conftest import FISH
from .server import ImageServer
from .test_fetch_core import options

pytestmark = pytest.mark.fault


def imagenet() -> list[str]:
    exe = shutil.which("imagenet", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "imagenet_cli"]


@pytest.fixture
def dead_host() -> Iterator[str]:
    """An address that takes connections and never answers (a listening socket that is
    never accepted from: the kernel completes the handshakes), so a request to it takes
    the whole --timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/dead.jpg"
    finally:
        sock.close()


def good_hits(server: ImageServer) -> Counter[str]:
    with server.lock:
        return Counter({k: v for k, v in server.counts.items() if k.startswith("seq/")})


def test_kill_behind_a_dead_url_keeps_every_finished_image(
    base_env: ImageServer, dead_host: str, tmp_path: Path, accepted: object
) -> None:
    """A dead URL first, 300 good ones behind it: kill -9 while it is still retrying.
    Every image finished is recorded; the rerun downloads none of them again."""
    n = 300
    base_env.lists[FISH] = [(f"{FISH}_dead", dead_host)] + [
        (f"{FISH}_{i}", base_env.url(f"/img/seq/{i}.jpg")) for i in range(n)
    ]

    def cmd(out: Path) -> list[str]:
        return [
            *imagenet(), "fetch", "--wnid", FISH, "--out", str(out), "-q",
            "--timeout", "5", "--retries", "3", "--concurrency", "16",
        ]  # fmt: skip

    whole = tmp_path / "whole"
    done = subprocess.run(cmd(whole), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # a failed URL is a row (no --strict)
    base_env.counts.clear()

    out = tmp_path / "out"
    # Its own session, so that kill -9 of the group also takes its worker processes.
    proc = subprocess.Popen(
        cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while len(list(out.glob(f"{FISH}/*.jpg"))) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # the last rows on their way; the dead URL has seconds to go
    assert proc.poll() is None, "the run ended before the kill"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    manifest = out / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert {r["image_id"] for r in rows} == {f"{FISH}_{i}" for i in range(n)}
    assert all(r["status"] == "ok" for r in rows)

    done = subprocess.run(cmd(out), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    hits = good_hits(base_env)
    assert len(hits) == n and set(hits.values()) == {1}  # each good image once in all
    assert manifest.read_text() == (whole / "manifest.jsonl").read_text()
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


# ------------------------------------------------------------------ a full disk


def test_a_full_disk_stops_fetch_and_the_rerun_completes(
    base_env: ImageServer,
    small_disk: Callable[[int], Path],
    tmp_path: Path,
    accepted: object,
) -> None:
    n = 120
    base_env.lists[FISH] = [(f"{FISH}_{i}", base_env.url(f"/img/seq/{i}.jpg")) for i in range(n)]
    args = ["fetch", "--wnid", FISH, "-q", "--retries", "0", "--concurrency", "4"]
    whole = tmp_path / "whole"
    run([*args, "--out", str(whole)])
    size = sum(p.stat().st_size for p in whole.rglob("*.jpg"))
    base_env.counts.clear()

    disk = small_disk(max(64, size // 1024 // 3))  # room for about a third
    out = disk / "out"
    res = run([*args, "--out", str(out)], expect=1)
    lines = res.stderr.strip().splitlines()
    assert "Traceback" not in res.stderr
    assert any(
        line.startswith(f"imagenet: error: {out}")
        and line.endswith("cannot write: No space left on device")
        for line in lines
    ), res.stderr
    manifest = out / "manifest.jsonl"
    text = manifest.read_text()
    assert text.endswith("\n")
    rows = [json.loads(line) for line in text.splitlines()]
    assert rows and all(r["status"] == "ok" for r in rows)  # no 'error' row for the disk
    for r in rows:  # what is recorded is on disk, whole
        assert (out / r["path"]).stat().st_size == r["bytes"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    kept = {r["image_id"] for r in rows}

    resize_disk(disk, 64 * 1024)
    run([*args, "--out", str(out)])  # no --retry-failed
    assert manifest.read_text() == (whole / "manifest.jsonl").read_text()
    hits = good_hits(base_env)
    # nothing recorded was fetched again
    assert all(hits[f"seq/{r.split('_')[1]}.jpg"] == 1 for r in kept)


def test_a_manifest_write_on_a_full_disk_leaves_no_half_line(
    server: ImageServer, small_disk: Callable[[int], Path], tmp_path: Path, accepted: object
) -> None:
    """The images fit, the manifest's own write does not: whole lines stay, the run stops."""
    disk = small_disk(64)  # the rows go there, the images to a roomy disk
    items = [ImageRef(FISH, f"{FISH}_{i}", server.url(f"/img/seq/{i}.jpg")) for i in range(40)]
    images = tmp_path / "images"
    opts = FetchOptions(
        out=images, manifest=disk / "m.jsonl", download=options(images).download,
        image=ImageOptions(min_side=32), workers=1,
    )  # fmt: skip
    (disk / "filler").write_bytes(b"\0" * (64 * 1024 - 3000))  # ~3 KB left: a few rows
    from imagenet_cli.errors import StorageError

    with pytest.raises(StorageError, match="No space left on device"):
        list(fetch(items, opts))
    text = (disk / "m.jsonl").read_text()
    assert text == "" or text.endswith("\n")
    done = [json.loads(line) for line in text.splitlines()]
    (disk / "filler").unlink()
    rest = list(fetch(items, opts))
    assert {r.image_id for r in rest} == {i.image_id for i in items} - {r["image_id"] for r in done}
    rows = [json.loads(line) for line in (disk / "m.jsonl").read_text().splitlines()]
    assert [r["image_id"] for r in rows] == [i.image_id for i in items]


# ------------------------------------------------------------------ a reset mid-body


def test_a_reset_mid_body_is_a_connection_error_and_retried(
    server: ImageServer, tmp_path: Path, accepted: object
) -> None:
    session = CurlSession()
    try:
        with pytest.raises(TransportError) as caught:
            session.get(
                server.url("/img/alwaysmidreset/a.jpg"), [], proxy=None, timeout=5, limit=10**6
            )
    finally:
        session.close()
    assert caught.value.kind == "connection_error" and caught.value.status == 200
    items = [
        ImageRef(FISH, "once", server.url("/img/midreset/a.jpg")),
        ImageRef(FISH, "always", server.url("/img/alwaysmidreset/a.jpg")),
    ]
    got = {r.image_id: r for r in fetch(items, options(tmp_path / "out"))}
    assert (got["once"].status, got["once"].attempts) == ("ok", 2)
    assert (got["always"].status, got["always"].attempts) == ("connection_error", 3)


def test_a_full_disk_stops_fetch_original_and_the_rerun_completes(
    server: ImageServer,
    small_disk: Callable[[int], Path],
    accepted: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGENET_USERNAME", server.username)
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", server.access_key)
    disk = small_disk(64)
    out = disk / "orig"
    args = ["fetch", "--wnid", FISH, "--original", "--out", str(out), "--base-url", server.base]
    filler = disk / "filler"
    filler.write_bytes(b"\0" * (60 * 1024))  # no room for the archive
    res = run(args, expect=1)
    assert "Traceback" not in res.stderr
    assert res.stderr.rstrip().endswith("cannot write: No space left on device"), res.stderr
    assert not (out / "manifest.jsonl").exists() or (out / "manifest.jsonl").read_text() == ""
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    filler.unlink()
    run(args)  # no --retry-failed
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok"]
