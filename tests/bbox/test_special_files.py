"""FIFOs, sockets and devices among box files: refused inside a folder, never opened;
given as INPUT, read once as a stream (opened twice, a FIFO waits for ever)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import TENCH, tar_of, write_tree, xml

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")

BOX = xml(objects=[(TENCH, 10, 20, 110, 220)]).encode()


def convert(*args: str) -> subprocess.CompletedProcess[str]:
    """``imagenet bbox convert ARGS`` in a process of its own, so a hang fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "imagenet_cli", "bbox", "convert", "--no-header", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_fifo_socket_or_device_in_a_folder_is_refused_and_the_rest_converted(
    tmp_path: Path,
) -> None:
    d = tmp_path / "d"
    write_tree(d, {"a.xml": BOX, "c.xml": BOX})
    os.mkfifo(d / "b.xml")
    os.mkfifo(d / "e.tar.gz")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "f.xml"))
    os.symlink("/dev/zero", d / "g.xml")
    try:
        res = convert(str(d))
    finally:
        sock.close()
    assert res.returncode == 1
    assert [line.rsplit("\t", 1)[1] for line in res.stdout.splitlines()] == [
        f"{d}/a.xml",
        f"{d}/c.xml",
    ]
    assert sorted(res.stderr.splitlines()) == [
        f"imagenet: error: {d}/b.xml: not a regular file (a FIFO); left out",
        f"imagenet: error: {d}/e.tar.gz: not a regular file (a FIFO); left out",
        f"imagenet: error: {d}/f.xml: not a regular file (a socket); left out",
        f"imagenet: error: {d}/g.xml: not a regular file (a device); left out",
    ]


@pytest.mark.parametrize("kind", ["tar.gz", "tar", "xml"])
def test_a_fifo_given_as_input_is_read_once_as_a_stream(tmp_path: Path, kind: str) -> None:
    boxes = {f"{TENCH}/{TENCH}_1.xml": BOX, f"{TENCH}/{TENCH}_2.xml": BOX}
    if kind == "xml":
        data = BOX
    else:
        archive = tar_of(tmp_path / f"boxes.{kind}", boxes, "w:gz" if kind == "tar.gz" else "w")
        data = archive.read_bytes()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as fh:  # once: a second open of the reader would wait
            fh.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    res = convert(str(fifo))
    writer.join(5)
    assert res.returncode == 0, res.stderr
    sources = [line.rsplit("\t", 1)[1] for line in res.stdout.splitlines()]
    if kind == "xml":
        assert sources == [str(fifo)]
    else:
        assert sources == [f"{fifo}!{name}" for name in boxes]
