"""The item function: download one image, check it, write it atomically, and say how it went
(:class:`FetchResult`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import cache
from ..errors import storage_error
from ..images import ImageOptions, check_image
from ..images import sha256 as sha256_hex
from .credentials import redact
from .download import Downloader, DownloadOptions, Fetched
from .sources import ImageRef

MANIFEST_FIELDS = (
    "wnid",
    "image_id",
    "url",
    "status",
    "path",
    "bytes",
    "sha256",
    "width",
    "height",
    "attempts",
    "error",
)
ProgressFn = Callable[[int, int | None, str], None]


@dataclass
class FetchResult:
    """One manifest row: what became of one URL."""

    wnid: str
    image_id: str
    url: str
    status: str
    path: str = ""
    bytes: int | None = None
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    attempts: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def row(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every field, and the manifest writes
        # a row per URL.
        return {name: getattr(self, name) for name in MANIFEST_FIELDS}


@dataclass(frozen=True)
class FetchOptions:
    """Everything a run needs besides the work list."""

    out: Path
    download: DownloadOptions = field(default_factory=DownloadOptions)
    image: ImageOptions = field(default_factory=ImageOptions)
    manifest: Path | None = None
    workers: int = 0  # processes (each with its share of the threads); 0: one per core
    retry_failed: bool = False  # redo rows whose status is not final (timeouts, 5xx, ...)
    ignore_robots_tag: bool = False  # keep images whose X-Robots-Tag refuses it (see robots)
    # Sharded output: the shards finished under OUT; an ok row naming one is done
    # without its file (see plan._is_done and pack).
    shards_done: frozenset[str] = frozenset()

    @property
    def manifest_path(self) -> Path:
        return self.manifest or self.out / "manifest.jsonl"


# Statuses a later run would get again: not worth retrying with --retry-failed.
FINAL_STATUSES = frozenset(
    {
        "ok",
        "http_404",
        "http_410",
        "not_image",
        "placeholder",
        "too_small",
        "too_large",
        "corrupt",
        "invalid_url",
        "robots_disallowed",  # done again only with ignore_robots_tag (see _is_done)
    }
)


# ------------------------------------------------------------------ item function


def safe_name(image_id: str) -> str:
    """The file name (without extension) an image id is written under."""
    name = image_id.replace("/", "_").replace("\\", "_").replace("\x00", "")
    if name in ("", ".", "..") or name.startswith("."):
        name = "_" + name.lstrip(".")
    return name[:200]


def finish(ref: ImageRef, fetched: Fetched, options: ImageOptions, out: str) -> FetchResult:
    """Check a downloaded body and, when it is kept, write it atomically; the row for it.

    Raises :class:`~.errors.StorageError` when the image cannot be written."""
    url = redact(ref.url)
    if fetched.body is None:
        return FetchResult(
            ref.wnid,
            ref.image_id,
            url,
            fetched.kind or "error",
            attempts=fetched.attempts,
            error=redact(fetched.error),
        )
    body = fetched.body
    checked = check_image(body, options)
    if checked.status != "ok" or checked.data is None:
        return FetchResult(
            ref.wnid,
            ref.image_id,
            url,
            checked.status,
            "",
            len(body),
            checked.sha256 or sha256_hex(body),
            checked.width,
            checked.height,
            fetched.attempts,
            checked.error,
        )
    rel = f"{ref.wnid}/{safe_name(ref.image_id)}.{checked.ext}"
    # No fsync: rename is atomic without it, and a machine crash that loses a renamed
    # file's data is caught at resume by the manifest's byte count (see plan()).
    path = os.path.join(out, rel)
    try:
        cache.write_bytes_atomic(path, checked.data, fsync=False)
    except OSError as exc:  # the disk's trouble, not the URL's: the run stops
        raise storage_error(path, exc) from None
    return FetchResult(
        ref.wnid,
        ref.image_id,
        url,
        "ok",
        rel,
        len(checked.data),
        checked.sha256,
        checked.width,
        checked.height,
        fetched.attempts,
        "",
    )


def heed_robots(fetched: Fetched, options: FetchOptions) -> Fetched:
    """``fetched``, or its refusal (``robots_disallowed``, no body) when its
    ``X-Robots-Tag`` asks that the image not be kept and the run heeds it."""
    tag = (fetched.headers or {}).get("x-robots-tag")
    if not tag or fetched.body is None or options.ignore_robots_tag:
        return fetched
    from .robots import refusal

    directive = refusal(tag)
    if not directive:
        return fetched
    return replace(fetched, body=None, kind="robots_disallowed", error=f"X-Robots-Tag: {directive}")


def fetch_item(ref: ImageRef, options: FetchOptions, downloader: Downloader) -> FetchResult:
    """Download, check and write one image: the item function every driver maps.

    ``downloader`` carries the connections and the bounds; drivers keep one per
    process (or worker) and call this from as many threads as they like.
    """
    fetched = heed_robots(downloader.get(ref.url), options)
    return finish(ref, fetched, options.image, str(options.out))


def fetch_one(ref: ImageRef, options: FetchOptions) -> FetchResult:
    """Download, check and write one image synchronously (for other drivers)."""
    with Downloader(options.download) as dl:
        return fetch_item(ref, options, dl)
