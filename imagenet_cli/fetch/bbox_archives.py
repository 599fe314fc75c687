"""Per-synset bounding-box archives from an ImageNet-style site, kept in the cache.

``/api/download/imagenet.bbox.synset?wnid=W`` answers a .tar.gz; it is stored as
``cache_dir()/bbox/<wnid>.tar.gz`` (written atomically, checked to be gzip).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..cache import cache_dir, write_bytes_atomic
from .credentials import redact
from .download import Downloader, DownloadOptions

BBOX_PATH = "/api/download/imagenet.bbox.synset?wnid={wnid}"
MAX_BBOX_BYTES = 512_000_000


@dataclass
class BboxArchive:
    """What became of one synset's archive."""

    wnid: str
    status: str  # ok, cached, http_<code>, not_archive, timeout, ...
    path: Path | None = None
    bytes: int = 0
    error: str = ""


def archive_path(wnid: str) -> Path:
    """Where the archive of ``wnid`` is kept in the cache."""
    return cache_dir() / "bbox" / f"{wnid}.tar.gz"


def fetch_bboxes(
    wnids: list[str],
    base_url: str,
    *,
    refresh: bool = False,
    timeout: float = 30.0,
    concurrency: int = 8,
) -> Iterator[BboxArchive]:
    """Each synset's archive, downloaded unless cached (``refresh`` downloads again);
    a download needs ImageNet's terms of access accepted (else :class:`TermsError`)."""
    todo = []
    cached: dict[str, BboxArchive] = {}
    for w in wnids:
        path = archive_path(w)
        if path.is_file() and not refresh:
            cached[w] = BboxArchive(w, "cached", path, path.stat().st_size)
        else:
            todo.append(w)
    if todo:
        from . import terms

        terms.require_accepted()
    fetched = {a.wnid: a for a in _all(todo, base_url.rstrip("/"), timeout, concurrency)}
    for w in wnids:
        yield cached.get(w) or fetched[w]


def _all(wnids: list[str], base: str, timeout: float, concurrency: int) -> list[BboxArchive]:
    if not wnids:
        return []
    opts = DownloadOptions(
        concurrency=concurrency, per_host=concurrency, timeout=timeout, max_bytes=MAX_BBOX_BYTES
    )
    with Downloader(opts) as dl:

        def one(wnid: str) -> BboxArchive:
            url = base + BBOX_PATH.format(wnid=wnid)
            got = dl.get(url)
            if got.body is None:
                return BboxArchive(wnid, got.kind or "error", error=f"{redact(url)}: {got.error}")
            if not got.body.startswith(b"\x1f\x8b"):
                return BboxArchive(wnid, "not_archive", error=f"{redact(url)}: not a .tar.gz")
            path = archive_path(wnid)
            write_bytes_atomic(path, got.body)
            return BboxArchive(wnid, "ok", path, len(got.body))

        with ThreadPoolExecutor(max(1, min(concurrency, len(wnids)))) as pool:
            return list(pool.map(one, wnids))
