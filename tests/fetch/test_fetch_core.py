"""The fetch engine against a live server: one manifest row per URL with the right status."""

from __future__ import annotations

import io
import json
from collections.abc import Generator
from pathlib import Path
from typing import cast

import pytest
from PIL import Image, ImageDraw

from imagenet_cli.fetch.download import Downloader, DownloadOptions
from imagenet_cli.fetch.item import FetchOptions, FetchResult
from imagenet_cli.fetch.local import fetch
from imagenet_cli.fetch.manifest import Manifest
from imagenet_cli.fetch.sources import ImageRef
from imagenet_cli.fetch.transport import normalise_url
from imagenet_cli.images import ImageOptions, check_image

from .conftest import FISH
from .server import ImageServer

pytestmark = pytest.mark.usefixtures("accepted")  # the library checks them as the CLI does

CASES = {
    "ok/a.jpg": "ok",
    "gray/a.jpg": "ok",
    "cmyk/a.jpg": "ok",
    "palette/a.png": "ok",
    "pngasjpg/a.jpg": "ok",
    "redirect/3/a.jpg": "ok",
    "flaky500/a.jpg": "ok",
    "ratelimit/a.jpg": "ok",
    "404/a.jpg": "http_404",
    "always500/a.jpg": "http_500",
    "html/a.jpg": "not_image",
    "placeholder/a.png": "placeholder",
    "truncated/a.jpg": "corrupt",
    "small/a.jpg": "too_small",
    "big/a.jpg": "too_large",
    "gzipped/a.jpg": "ok",
    "gzipbomb/a.jpg": "too_large",
    "bignolength/a.jpg": "too_large",
    "slow/a.jpg": "timeout",
    "short/a.jpg": "incomplete",
    "reset/a.jpg": "connection_error",
    "loop/a.jpg": "too_many_redirects",
    "shortredirect/a.jpg": "ok",
    "big404/a.jpg": "http_404",
}


def options(out: Path, **kw: object) -> FetchOptions:
    dl = DownloadOptions(
        concurrency=8,
        per_host=8,
        timeout=0.5,
        retries=2,
        max_bytes=100_000,
        max_redirects=5,
        backoff_base=0.001,
        backoff_max=0.01,
    )
    return FetchOptions(out=out, download=dl, image=ImageOptions(min_side=32), workers=1, **kw)  # type: ignore[arg-type]


def refs(server: ImageServer) -> list[ImageRef]:
    return [
        ImageRef(FISH, f"{FISH}_{i}", server.url(f"/img/{name}")) for i, name in enumerate(CASES, 1)
    ]


def test_every_status(server: ImageServer, tmp_path: Path) -> None:
    server.slow_seconds = 1.5
    out = tmp_path / "out"
    results = list(fetch(refs(server), options(out)))
    got = {r.url.split("/img/")[1]: r.status for r in results}
    assert got == CASES
    # plan order, one row per URL
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["image_id"] for r in rows] == [f"{FISH}_{i}" for i in range(1, len(CASES) + 1)]
    by_id = {r["image_id"]: r for r in rows}
    for r in rows:
        if r["status"] == "ok":
            path = out / r["path"]
            assert path.is_file() and path.stat().st_size == r["bytes"]
            with Image.open(path) as im:
                im.load()
                assert im.mode in ("RGB", "L")
                assert (im.width, im.height) == (r["width"], r["height"])
        else:
            assert r["path"] == "" and r["error"]
    # retried once each, then ok
    assert by_id[f"{FISH}_7"]["attempts"] == 2 and by_id[f"{FISH}_8"]["attempts"] == 2
    assert by_id[f"{FISH}_10"]["attempts"] == 3  # 500 every time: 1 + 2 retries
    # gray stays gray; cmyk and palette become RGB JPEG; PNG behind .jpg handled by content
    assert by_id[f"{FISH}_2"]["path"].endswith(".jpg")
    with Image.open(out / by_id[f"{FISH}_3"]["path"]) as im:
        assert im.mode == "RGB" and im.format == "JPEG"
    # a gzip-encoded body is written as the image it encodes
    gz = by_id[f"{FISH}_{list(CASES).index('gzipped/a.jpg') + 1}"]
    assert (out / gz["path"]).read_bytes() == server.images["ok"]
    # nothing partial anywhere
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def test_keep_format_and_resize(server: ImageServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    items = [
        ImageRef(FISH, "a", server.url("/img/png/a.png")),
        ImageRef(FISH, "b", server.url("/img/seq/3.jpg")),
    ]
    opts = options(out)
    opts = FetchOptions(
        out=out,
        download=opts.download,
        workers=1,
        image=ImageOptions(image_format="keep", resize=24),
    )
    results = {r.image_id: r for r in fetch(items, opts)}
    assert results["a"].path.endswith(".png")
    assert min(results["b"].width or 0, results["b"].height or 0) == 24


def test_resume_after_kill(server: ImageServer, tmp_path: Path) -> None:
    """A killed run leaves a .part file and a manifest cut mid-line: the rerun finishes it."""
    items = [ImageRef(FISH, f"{FISH}_{i}", server.url(f"/img/seq/{i}.jpg")) for i in range(12)]
    items.append(ImageRef(FISH, f"{FISH}_404", server.url("/img/404/x.jpg")))
    full = tmp_path / "full"
    list(fetch(items, options(full)))
    expected = (full / "manifest.jsonl").read_text()

    out = tmp_path / "out"
    gen = cast(Generator[FetchResult, None, None], fetch(items, options(out)))
    first = [next(gen) for _ in range(5)]
    gen.close()
    assert len(first) == 5
    manifest = out / "manifest.jsonl"
    text = manifest.read_text()
    # simulate kill -9: a half-written row and a temp file beside a final name
    manifest.write_text(text + text.splitlines()[0][:30])
    part = out / FISH / f".{FISH}_7.jpg.abc123.part"
    part.write_bytes(b"\xff\xd8half")
    before = server.seen("/img/seq/")

    # every URL that finished has its row, the five yielded and any done behind them
    recorded = {json.loads(line)["image_id"] for line in text.splitlines()}
    assert {r.image_id for r in first} <= recorded

    second = list(fetch(items, options(out)))
    assert {r.image_id for r in second} == {i.image_id for i in items} - recorded
    missing = {r.image_id for r in second if r.image_id != f"{FISH}_404"}
    assert server.seen("/img/seq/") - before == len(missing)  # only what was missing
    assert manifest.read_text() == expected
    assert not part.exists()
    assert sorted(p.name for p in (out / FISH).iterdir()) == sorted(
        p.name for p in (full / FISH).iterdir()
    )
    # a third run does nothing
    assert list(fetch(items, options(out))) == []


def test_ok_row_without_file_is_redone(server: ImageServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    items = [ImageRef(FISH, "x", server.url("/img/ok/x.jpg"))]
    list(fetch(items, options(out)))
    (out / FISH / "x.jpg").unlink()
    again = list(fetch(items, options(out)))
    assert [r.status for r in again] == ["ok"] and (out / FISH / "x.jpg").is_file()


def test_retry_failed(server: ImageServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    items = [
        ImageRef(FISH, "a", server.url("/img/always500/a.jpg")),
        ImageRef(FISH, "b", server.url("/img/404/b.jpg")),
    ]
    list(fetch(items, options(out)))
    assert list(fetch(items, options(out))) == []
    redo = list(fetch(items, options(out, retry_failed=True)))
    assert [r.image_id for r in redo] == ["a"]  # a 404 stays final


def manifest_rows(path: Path) -> list[tuple[str, str]]:
    if path.suffix == ".csv":
        import csv

        return [(r["image_id"], r["status"]) for r in csv.DictReader(path.open(newline=""))]
    return [(r["image_id"], r["status"]) for r in map(json.loads, path.read_text().splitlines())]


@pytest.mark.parametrize("name", ["manifest.jsonl", "m.csv"])
def test_a_retried_url_keeps_one_manifest_row(
    server: ImageServer, tmp_path: Path, name: str
) -> None:
    from dataclasses import replace

    out, path = tmp_path / "out", tmp_path / name
    items = [
        ImageRef(FISH, "a", server.url("/img/flaky500/a.jpg")),  # 500 once, then the image
        ImageRef(FISH, "b", server.url("/img/404/b.jpg")),
        ImageRef(FISH, "c", server.url("/img/ok/c.jpg")),
    ]
    once = options(out, manifest=path)
    once = replace(once, download=replace(once.download, retries=0))
    assert [r.status for r in fetch(items, once)] == ["http_500", "http_404", "ok"]
    redo = list(fetch(items, options(out, manifest=path, retry_failed=True)))
    assert [(r.image_id, r.status) for r in redo] == [("a", "ok")]
    # the latest outcome, in the place of the first
    assert manifest_rows(path) == [("a", "ok"), ("b", "http_404"), ("c", "ok")]
    assert not list(path.parent.glob(f".{name}*"))  # no temp file left
    # a run killed before it could tidy up left a second row: the next run tidies it
    with path.open("a") as fh:
        fh.write(path.read_text().splitlines()[-1] + "\n")
    assert list(fetch(items, options(out, manifest=path))) == []
    assert manifest_rows(path) == [("a", "ok"), ("b", "http_404"), ("c", "ok")]


def test_csv_manifest(server: ImageServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = tmp_path / "m.csv"
    items = [
        ImageRef(FISH, "a", server.url("/img/ok/a.jpg")),
        ImageRef(FISH, "b", server.url("/img/404/b.jpg")),
    ]
    list(fetch(items, options(out, manifest=path)))
    lines = path.read_text().splitlines()
    assert lines[0] == "wnid,image_id,url,status,path,bytes,sha256,width,height,attempts,error"
    assert len(lines) == 3
    assert Manifest(path).load()[(FISH, "b")]["status"] == "http_404"


def test_per_host_bound(server: ImageServer, tmp_path: Path) -> None:
    server.latency = 0.05
    items = [ImageRef(FISH, f"a{i}", server.url(f"/img/seq/{i}.jpg")) for i in range(16)]
    items += [
        ImageRef(FISH, f"b{i}", server.url(f"/img/seq/{i}.jpg", host="localhost"))
        for i in range(16)
    ]
    opts = options(tmp_path / "out")
    opts = FetchOptions(
        out=opts.out,
        image=opts.image,
        workers=1,
        download=DownloadOptions(concurrency=16, per_host=3, timeout=5),
    )
    results = list(fetch(items, opts))
    assert all(r.ok for r in results)
    hosts = dict(server.max_inflight)
    assert max(hosts.values()) <= 3
    assert set(hosts) == {f"127.0.0.1:{server.port}", f"localhost:{server.port}"}


@pytest.mark.parametrize("value,expected", [("2", 2.0), ("0", 0.0), ("junk", None)])
def test_retry_after(value: str, expected: float | None) -> None:
    from imagenet_cli.fetch.download import retry_delay

    got = retry_delay(1, value, base=0.5, cap=60)
    if expected is None:
        assert 0.25 <= got <= 0.5  # fell back to backoff with jitter
    else:
        assert got == expected


def test_backoff_grows_and_is_capped() -> None:
    import random

    from imagenet_cli.fetch.download import retry_delay

    rng = random.Random(1)
    waits = [retry_delay(n, None, base=1.0, cap=5.0, rng=rng) for n in range(1, 7)]
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0
    assert all(w <= 5.0 for w in waits)
    assert retry_delay(1, "100", base=1.0, cap=5.0) == 5.0


def test_worker_processes_share_the_per_host_bound(server: ImageServer, tmp_path: Path) -> None:
    """Two worker processes: the per-host bound holds across both, every URL gets its
    row in plan order, and the files match a one-process run."""
    server.latency = 0.02
    items = [ImageRef(FISH, f"p{i:03d}", server.url(f"/img/seq/{i}.jpg")) for i in range(60)]
    items += [ImageRef(FISH, "gone", server.url("/img/404/gone.jpg"))]
    dl = DownloadOptions(concurrency=12, per_host=3, timeout=5, retries=0)
    procs = FetchOptions(out=tmp_path / "procs", image=ImageOptions(), workers=2, download=dl)
    results = list(fetch(items, procs))
    assert [r.image_id for r in results] == [i.image_id for i in items]
    assert [r.status for r in results] == ["ok"] * 60 + ["http_404"]
    assert max(server.max_inflight.values()) <= 3
    one = FetchOptions(out=tmp_path / "one", image=ImageOptions(), workers=1, download=dl)
    list(fetch(items, one))
    for name in ("procs", "one"):
        rows = (tmp_path / name / "manifest.jsonl").read_text().splitlines()
        assert [json.loads(r)["image_id"] for r in rows] == [i.image_id for i in items]
    assert sorted(p.name for p in (tmp_path / "procs" / FISH).iterdir()) == sorted(
        p.name for p in (tmp_path / "one" / FISH).iterdir()
    )


def test_no_fork_while_pillow_is_still_importing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-process run imports Pillow in a background thread; a later run in the same
    interpreter waits for that import before it forks its workers, so no child inherits
    an import lock held by a thread it does not have."""
    import threading

    from imagenet_cli.fetch import local as fetch_module

    done = threading.Event()

    def slow_import() -> None:
        done.wait(0.3)
        done.set()

    monkeypatch.setattr(fetch_module, "load_plugins", slow_import)
    fetch_module.load_plugins_soon()
    assert not done.is_set()
    fetch_module._imports_settled()
    assert done.is_set()


def test_short_file_under_an_ok_row_is_redone(server: ImageServer, tmp_path: Path) -> None:
    """A file shorter than its row says (a machine crash before the data reached the
    disk) is fetched again."""
    out = tmp_path / "out"
    items = [ImageRef(FISH, "x", server.url("/img/ok/x.jpg"))]
    first = list(fetch(items, options(out)))
    path = out / first[0].path
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    again = list(fetch(items, options(out)))
    assert [r.status for r in again] == ["ok"] and path.read_bytes() == whole


def test_requests_go_through_the_environments_proxy(
    server: ImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fixture server answers absolute-form requests, as a forward proxy does: a
    # host that does not exist is reached only if the request went through it.
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Downloader(DownloadOptions(retries=0, timeout=5)) as dl:
        got = dl.get("http://images.example.invalid/img/ok/a.jpg")
    assert got.ok and got.body == server.images["ok"]
    assert server.requests[-1][0] == "http://images.example.invalid/img/ok/a.jpg"


def test_no_proxy_hosts_are_reached_directly(
    server: ImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    with Downloader(DownloadOptions(retries=0, timeout=5)) as dl:
        got = dl.get(server.url("/img/ok/a.jpg"))
    assert got.ok
    assert server.requests[-1][0] == "/img/ok/a.jpg"


def test_an_unusable_proxy_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "ftp://secret:hunter2@proxy.example.invalid:21")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Downloader(DownloadOptions(retries=0, timeout=5)) as dl:
        got = dl.get("http://images.example.invalid/a.jpg")
    assert got.kind == "proxy_error" and "ftp" in got.error
    assert "hunter2" not in got.error and "proxy.example" not in got.error


def _photo(size: tuple[int, int], grey: bool) -> bytes:
    if grey:
        im = Image.new("RGB", size, (240, 240, 240))
        ImageDraw.Draw(im).text((size[0] // 3, size[1] // 2), "unavailable", fill=(150, 150, 150))
    else:
        im = Image.linear_gradient("L").resize(size).convert("RGB")
        ImageDraw.Draw(im).ellipse((20, 20, size[0] // 2, size[1] // 2), fill=(200, 30, 40))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize("size", [(500, 374), (240, 180), (1024, 768)])
def test_placeholder_sizes_are_looked_at(size: tuple[int, int]) -> None:
    opts = ImageOptions()
    assert check_image(_photo(size, grey=True), opts).status == "placeholder"
    assert check_image(_photo(size, grey=False), opts).status == "ok"
    # The same flat grey at a size Flickr never serves is somebody's photo.
    assert check_image(_photo((501, 374), grey=True), opts).status == "ok"


def test_a_requests_own_headers_replace_the_defaults(server: ImageServer) -> None:
    with Downloader(DownloadOptions(retries=0, timeout=5)) as dl:
        got = dl.get(server.url("/img/ok/a.jpg"), headers={"user-agent": "probe/1"})
    assert got.ok
    names = [k.lower() for k, _ in server.last_headers]
    assert sorted(names) == sorted(set(names))  # no header sent twice
    sent = {k.lower(): v for k, v in server.last_headers}
    assert sent["user-agent"] == "probe/1" and sent["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("url", "wire"),
    [
        ("http://example.com", "http://example.com/"),
        ("http://example.com/a b.jpg?q=x y#part", "http://example.com/a%20b.jpg?q=x%20y"),
        ("HTTP://Exämple.com:8080/ü.jpg", "http://xn--exmple-cua.com:8080/%C3%BC.jpg"),
        ("http://h/%20already?x=%41&y=/", "http://h/%20already?x=%41&y=/"),
        ("http://[::1]:80/a", "http://[::1]:80/a"),
    ],
)
def test_urls_go_on_the_wire_normalised(url: str, wire: str) -> None:
    assert normalise_url(url)[0] == wire


@pytest.mark.parametrize("url", ["ftp://h/a.jpg", "http:///a.jpg", "http://h:99999/", "a.jpg"])
def test_urls_that_are_not_http_are_invalid(url: str) -> None:
    with Downloader(DownloadOptions(retries=0, timeout=5)) as dl:
        assert dl.get(url).kind == "invalid_url"


def test_a_path_with_spaces_reaches_the_server(server: ImageServer) -> None:
    with Downloader(DownloadOptions(retries=0, timeout=5)) as dl:
        got = dl.get(server.url("/img/ok/a photo.jpg"))
    assert got.ok and server.requests[-1][0] == "/img/ok/a%20photo.jpg"


def test_an_unreachable_proxy_is_not_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://secret:hunter2@127.0.0.1:9")  # nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Downloader(DownloadOptions(retries=1, timeout=5, backoff_base=0.01)) as dl:
        got = dl.get("http://images.example.invalid/a.jpg")
    assert got.kind == "connect_error" and got.attempts == 2
    assert got.error.startswith("through the proxy: ") and ":9" not in got.error, got.error
    assert "hunter2" not in got.error and "127.0.0.1" not in got.error


def test_https_is_checked_against_the_configured_certificates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    srv = ImageServer().start(tls=context)
    try:
        url = srv.url("/img/ok/a.jpg")
        assert url.startswith("https://")
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        with Downloader(DownloadOptions(retries=2, timeout=5)) as dl:
            refused = dl.get(url)  # certifi's bundle does not know this CA
        assert refused.kind == "tls_error" and "certificate" in refused.error.lower()
        assert refused.attempts == 1  # a certificate does not get better by asking again
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        with Downloader(DownloadOptions(retries=0, timeout=5)) as dl:
            got = dl.get(url)
        assert got.ok and got.body == srv.images["ok"]
    finally:
        srv.stop()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_the_manifest_ends_in_list_order_other_rows_in_place(tmp_path: Path, suffix: str) -> None:
    """Rows written as URLs finish (any order, a URL twice) end in list order, latest
    row each; rows of URLs outside the run's list keep their places."""
    path = tmp_path / f"m{suffix}"

    def row(wnid: str, image_id: str, status: str = "ok") -> FetchResult:
        return FetchResult(wnid, image_id, f"http://x/{image_id}", status, attempts=1)

    book = Manifest(path)
    for r in (row("a", "a1"), row("a", "a2")):  # an earlier run, of another list
        book.append(r)
    book.close()
    book = Manifest(path)
    book.load()
    book.set_order([("b", "b1"), ("b", "b2"), ("b", "b3")])
    for r in (row("b", "b3"), row("b", "b1", "timeout"), row("b", "b2"), row("b", "b1")):
        book.append(r, flush=False)
        book.flush()
    book.close()
    again = Manifest(path)
    rows = again.load()
    assert list(rows) == [("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2"), ("b", "b3")]
    assert rows[("b", "b1")]["status"] == "ok" and not again.repeated


def test_an_error_row_is_done_again_without_retry_failed(
    server: ImageServer, tmp_path: Path, accepted: object
) -> None:
    out = tmp_path / "out"
    ref = ImageRef(FISH, "x", server.url("/img/ok/x.jpg"))
    book = Manifest(out / "manifest.jsonl")
    book.append(FetchResult(FISH, "x", ref.url, "error", error="OSError: disk full"))
    book.close()
    assert [r.status for r in fetch([ref], options(out))] == ["ok"]
    assert server.seen("/img/ok/") == 1
