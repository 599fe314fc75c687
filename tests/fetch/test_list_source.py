"""A base URL that serves no image lists (ImageNet's own API was retired): one message
naming what works instead, at once, with nothing else printed and no lock left."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest

from imagenet_cli.errors import ListSourceError
from imagenet_cli.fetch.selection import select
from imagenet_cli.fetch.sources import ListOptions
from tests.conftest import run

from .conftest import DOG, FISH
from .server import ImageServer

# Under the reserved .invalid TLD, and its first label longer than DNS's 63 octets: the
# resolver cannot even form a query for it, so it fails at once with no packet sent
# (a plain name under .invalid would still be asked of the configured nameserver).
NO_HOST = "http://no-such-host-" + "x" * 51 + ".invalid"
KINDS = ["unresolved", "404", "html", "403"]


def dead_base(server: ImageServer, kind: str) -> str:
    if kind == "unresolved":
        return NO_HOST
    return server.url({"404": "/gone", "html": "/site", "403": "/status/403"}[kind])


def assert_retired(stderr: str, base: str, wnid: str) -> None:
    assert stderr.count("\n") == 1, stderr  # one message, nothing before it
    line = stderr.rstrip("\n")
    assert line.startswith(f"imagenet: error: {wnid}: no image list ({base}/api/text/")
    assert f"{base} serves no image lists; ImageNet's own image-list API was retired." in line
    assert "'imagenet urls index FILE|URL' (fetch then uses it by itself)" in line
    assert "--url-list FILE|URL" in line and "--base-url at a mirror" in line


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("urls_only", [False, True])
def test_a_base_url_with_no_lists_is_one_message(
    server: ImageServer, accepted: object, tmp_path: Path, kind: str, urls_only: bool
) -> None:
    base = dead_base(server, kind)
    out = tmp_path / "out"
    args = ["fetch", "--wnid", FISH, "--base-url", base]
    res = run([*args, "--urls-only"] if urls_only else [*args, "--out", str(out)], expect=1)
    assert res.stdout == ""
    assert_retired(res.stderr, base, FISH)
    assert not out.exists()  # no folder, so no lock, no manifest
    if kind == "unresolved":
        assert "Could not resolve host" in res.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_recursive_over_many_synsets_stops_at_the_first(
    server: ImageServer, accepted: object, tmp_path: Path, kind: str
) -> None:
    base = dead_base(server, kind)
    out = tmp_path / "out"
    started = time.monotonic()
    res = run(
        ["fetch", "--wnid", DOG, "--recursive", "--out", str(out), "--base-url", base], expect=1
    )
    took = time.monotonic() - started
    assert res.stdout == "" and res.stderr.count("serves no image lists") == 1
    assert res.stderr.count("\n") == 1, res.stderr
    assert not out.exists()
    # The first list alone (404 or a page: a second one to be sure), not 190 synsets'.
    assert server.seen("/api/text/") <= 4
    assert took < 30  # not every synset's retries (was 117 lines and 82 s)


def test_a_server_error_on_every_list_stops_the_run_too(
    server: ImageServer, accepted: object
) -> None:
    base = server.url("/status/503")
    args = ["fetch", "--wnid", FISH, "--wnid", DOG, "--wnid", "n01443537", "--urls-only"]
    res = run([*args, "--retries", "0", "--base-url", base], expect=1)
    assert res.stdout == "" and "HTTP 503" in res.stderr
    assert_retired(res.stderr, base, FISH)
    assert server.seen("/api/text/") == 4  # two synsets' two paths, not the third's


def test_one_synset_missing_on_a_working_mirror_is_its_own_failure(
    server: ImageServer, accepted: object
) -> None:
    lost = "n01443537"  # goldfish: asked for first, and this mirror answers 404
    server.gone.add(lost)
    server.lists[FISH] = [(f"{FISH}_1", server.url("/img/ok/a.jpg"))]
    args = ["--wnid", lost, "--wnid", FISH, "--urls-only", "--no-header"]
    res = run(["fetch", *args, "--base-url", server.base], expect=1)
    assert res.lines == [f"{FISH}\t{FISH}_1\t{server.url('/img/ok/a.jpg')}"]
    assert res.stderr.count("\n") == 1 and f"error: {lost}: no image list (" in res.stderr
    assert "HTTP 404" in res.stderr and "retired" not in res.stderr


def test_with_the_index_only_the_synsets_it_lacks_fail(
    server: ImageServer, accepted: object, tmp_path: Path
) -> None:
    src = tmp_path / "fall11.txt"
    src.write_text(f"{FISH}_1\thttp://img.example/1.jpg\n", encoding="utf-8")
    run(["urls", "index", str(src)])
    args = ["--wnid", "n01439121", "--recursive", "--urls-only", "--no-header"]
    res = run(["fetch", *args, "--base-url", NO_HOST], expect=1)
    assert res.lines == [f"{FISH}\t{FISH}_1\thttp://img.example/1.jpg"]
    lines = res.stderr.splitlines()
    assert len(lines) == 18  # cyprinid's 19 synsets less tench, one line each, no advice
    assert all(f"no image list: {NO_HOST} serves no image lists (" in x for x in lines)
    assert "retired" not in res.stderr


def test_select_raises_for_a_base_url_with_no_lists(accepted: object) -> None:
    with pytest.raises(ListSourceError, match="imagenet urls index") as info:
        select([FISH, DOG], ListOptions(base_url=NO_HOST, retries=0))
    assert info.value.exit_code == 1


# The README's Python snippet (see the notes for the docs), its mirror made the test's.
SNIPPET = """
from pathlib import Path
from imagenet_cli.errors import ImagenetError
from imagenet_cli.fetch.item import FetchOptions
from imagenet_cli.fetch.local import fetch
from imagenet_cli.fetch.selection import select
from imagenet_cli.fetch.sources import ListOptions

try:
    sel = select(["n01440764", "n01443537"], ListOptions(base_url=MIRROR), limit=50)
except ImagenetError as err:  # e.g. a base URL that serves no image lists at all
    raise SystemExit(f"no image lists: {err}")
for wnid, message, _not_found in sel.errors:  # synsets whose list could not be had
    print("no list:", message)
failed = 0
for result in fetch(sel.refs, FetchOptions(out=Path(OUT))):
    if not result.ok:  # http_404, timeout, not_image, robots_disallowed, ...
        failed += 1
        print(result.image_id, result.status, result.error)
print(len(sel.refs) - failed, "of", len(sel.refs), "images kept")
"""


@pytest.mark.parametrize("gone", [False, True])
def test_the_python_snippet_shows_the_failures(
    server: ImageServer, accepted: object, tmp_path: Path, gone: bool
) -> None:
    server.lists[FISH] = [
        (f"{FISH}_1", server.url("/img/ok/a.jpg")),
        (f"{FISH}_2", server.url("/img/404/b.jpg")),
    ]
    server.gone.add("n01443537")
    code = SNIPPET.replace("MIRROR", repr(NO_HOST if gone else server.base)).replace(
        "OUT", repr(str(tmp_path / "images"))
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        if gone:
            with pytest.raises(SystemExit, match=r"no image lists: .*retired"):
                exec(code, {})
            return
        exec(code, {})
    assert printed.getvalue().splitlines() == [
        "no list: n01443537: no image list ("
        f"{server.url('/api/text/imagenet.synset.geturls.getmapping?wnid=n01443537')}: "
        "HTTP 404 Not Found; "
        f"{server.url('/api/text/imagenet.synset.geturls?wnid=n01443537')}: HTTP 404 Not Found)",
        f"{FISH}_2 http_404 HTTP 404 Not Found",
        "1 of 2 images kept",
    ]


@pytest.mark.parametrize("kind", ["unresolved", "unknown synset"])
def test_on_a_terminal_nothing_comes_before_the_error(
    server: ImageServer, accepted: object, tmp_path: Path, kind: str
) -> None:
    import os
    import subprocess
    import sys

    imagenet = Path(sys.executable).parent / "imagenet"
    base = NO_HOST if kind == "unresolved" else server.base  # FISH: "Invalid url!"
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "2000"}
    cmd = [str(imagenet), "fetch", "--wnid", FISH, "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(
        [*cmd, "--base-url", base, "--retries", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    out, _ = proc.communicate(timeout=60)
    seen = b""
    with contextlib.suppress(OSError):  # EIO once the process is gone
        while chunk := os.read(master, 65536):
            seen += chunk
    os.close(master)
    text = seen.decode(errors="replace")
    assert proc.returncode == 1 and out == b""
    assert "no image list" in text
    assert "total" not in text and "fetch summary" not in text and "\x1b[?25l" not in text
    assert not (tmp_path / "out").exists()
