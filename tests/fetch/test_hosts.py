"""What real image hosts do that they should not: broken redirects, odd bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from imagenet_cli.fetch.download import Downloader, DownloadOptions
from imagenet_cli.fetch.item import FetchOptions
from imagenet_cli.fetch.local import claim_output, fetch
from imagenet_cli.fetch.sources import ImageRef
from imagenet_cli.images import ImageOptions
from tests.conftest import run

from .conftest import FISH
from .server import ImageServer

FAST = DownloadOptions(timeout=2, retries=1, backoff_base=0.001, backoff_max=0.01)


def test_a_redirect_to_an_unparsable_location_is_an_invalid_url(server: ImageServer) -> None:
    with Downloader(FAST) as dl:
        got = dl.get(server.url("/img/badlocation/a.jpg"))
    assert (got.kind, got.status, got.body) == ("invalid_url", 302, None)
    assert "redirect" in got.error


@pytest.mark.parametrize(
    "args", [["fetch", "--wnid", FISH, "--urls-only"], ["bbox", "fetch", "--wnid", FISH]]
)
def test_a_list_behind_an_unparsable_redirect_is_one_error_line(
    server: ImageServer, accepted: object, tmp_path: Path, args: list[str]
) -> None:
    res = run([*args, "--base-url", server.base + "/badlocation"], expect=1)
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imagenet: error: ") and FISH in lines[0], lines


@pytest.mark.parametrize("image_format", ["jpeg", "keep"])
def test_a_16_bit_grayscale_png_keeps_its_levels(
    server: ImageServer, accepted: object, tmp_path: Path, image_format: str
) -> None:
    out = tmp_path / "out"
    opts = FetchOptions(
        out=out, download=FAST, workers=1, image=ImageOptions(image_format=image_format)
    )
    (result,) = fetch([ImageRef(FISH, "a", server.url("/img/gray16/a.png"))], opts)
    assert result.status == "ok", result.error
    with Image.open(out / result.path) as im:
        # 30000 of 65535 is 117 of 255, gray: not clipped to white, not made RGB
        assert im.mode == "L" and abs(int(im.getpixel((5, 5))) - 117) <= 2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        ["fetch", "--wnid", FISH, "--urls-only", "--refresh"],
        ["fetch", "--wnid", FISH, "--out", "OUT"],
        ["fetch", "--wnid", FISH, "--original", "--out", "OUT"],
        ["bbox", "fetch", "--wnid", FISH, "--refresh"],
    ],
)
@pytest.mark.parametrize("base", ["http://ada:pw0rd@[::1", "ftp://mirror.example", "http://a b/"])
def test_a_base_url_that_is_no_url_is_a_usage_error(
    accepted: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    base: str,
) -> None:
    monkeypatch.setenv("IMAGENET_USERNAME", "ada")
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", "k3y-0f-ada")
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    res = run([*args, "--base-url", base], expect=2)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imagenet: error: base URL "), res.stderr
    assert "pw0rd" not in res.stderr and res.stdout == ""


@pytest.fixture
def originals(
    server: ImageServer, accepted: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[str]]:
    """The output folder and the command of a `fetch --original` run with the right key."""
    monkeypatch.setenv("IMAGENET_USERNAME", server.username)
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", server.access_key)
    out = tmp_path / "orig"
    return out, [
        "fetch",
        "--wnid",
        FISH,
        "--original",
        "--out",
        str(out),
        "--base-url",
        server.base,
    ]


def test_original_images_take_the_output_folders_lock(
    server: ImageServer, originals: tuple[Path, list[str]]
) -> None:
    out, args = originals
    lock = claim_output(out)  # another run writing there
    try:
        res = run(args, expect=2)
    finally:
        lock.__exit__(None, None, None)
    assert "another 'imagenet fetch' is writing into this folder" in res.stderr
    assert server.seen("/download/synset") == 0 and not (out / "manifest.jsonl").exists()
    # a killed run's partial archive is swept, and none is left behind
    (out / FISH).mkdir()
    (out / FISH / f".{FISH}.tar.part").write_bytes(b"half")
    run(args)
    assert [r["status"] for r in map(json.loads, (out / "manifest.jsonl").open())] == ["ok"] * 2
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def test_a_rerun_of_originals_downloads_no_archive_again(
    server: ImageServer, originals: tuple[Path, list[str]]
) -> None:
    out, args = originals
    run(args)
    manifest = (out / "manifest.jsonl").read_text()
    run(args)
    assert server.seen("/download/synset") == 1  # every image of it done
    assert (out / "manifest.jsonl").read_text() == manifest
    (out / FISH / f"{FISH}_2.jpg").unlink()  # one image lost: its archive again
    run(args)
    assert server.seen("/download/synset") == 2
    assert (out / FISH / f"{FISH}_2.jpg").is_file()
    assert (out / "manifest.jsonl").read_text() == manifest
    run(args)
    assert server.seen("/download/synset") == 2


def test_an_original_over_max_bytes_is_refused_unread(
    server: ImageServer, originals: tuple[Path, list[str]]
) -> None:
    out, args = originals
    size = len(server.images["ok"])
    res = run([*args, "--max-bytes", str(size - 1), "--strict"], expect=1)
    assert "0 original images written" in res.stderr and "(2 refused)" in res.stderr
    rows = [json.loads(line) for line in (out / "manifest.jsonl").open()]
    assert [(r["status"], r["bytes"]) for r in rows] == [("too_large", size)] * 2
    assert not list(out.rglob("*.jpg")) and not list(out.rglob("*.JPEG"))


LIST = (
    "\ufeffn01440764_1\thttp://h/1.jpg\r\n"  # a BOM, CRLF line ends
    "n01440764_2 http://h/2 photo.jpg\r\n"
    "n01440764_1\thttp://h/again.jpg\r\n"  # an id listed before
    "\r\n"
    "n01440764_3\thttp://h/3.jpg\r\n"
).encode()


@pytest.mark.parametrize("how", ["plain", "gzip, named .txt", "gzip over http, named .txt"])
def test_a_url_list_with_a_bom_crlf_or_gzip_under_any_name(
    server: ImageServer, accepted: object, tmp_path: Path, how: str
) -> None:
    import gzip

    body = LIST if how == "plain" else gzip.compress(LIST)
    if "http" in how:
        server.fall11 = body
        source = server.url("/fall11.txt")
    else:
        (tmp_path / "list.txt").write_bytes(body)
        source = str(tmp_path / "list.txt")
    res = run(["urls", "index", source, "-f", "json"])
    info = json.loads(res.stdout)[0]
    assert (info["lines"], info["wnids"], info["skipped"]) == (3, 1, 1), res.stderr
    assert res.stderr.splitlines() == [
        f"imagenet: warning: {source}: line 3: skipped: image id n01440764_1 already on line 1"
    ]
    res = run(["fetch", "--wnid", FISH, "--url-list", source, "--urls-only", "--no-header"])
    assert [line.split("\t", 1)[1] for line in res.lines] == [
        f"{FISH}_1\thttp://h/1.jpg",
        f"{FISH}_2\thttp://h/2 photo.jpg",
        f"{FISH}_3\thttp://h/3.jpg",
    ]


def test_no_answer_on_a_kept_alive_connection_is_a_timeout(server: ImageServer) -> None:
    server.slow_seconds = 1.5
    opts = DownloadOptions(timeout=0.5, retries=2, backoff_base=0.001, backoff_max=0.01)
    with Downloader(opts) as dl:
        assert dl.get(server.url("/img/ok/a.jpg")).ok  # leaves the connection open
        got = dl.get(server.url("/img/slow/a.jpg"))  # sent on it; no answer in time
    assert (got.kind, got.attempts) == ("timeout", 1), got
