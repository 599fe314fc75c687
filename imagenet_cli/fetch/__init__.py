"""Fetch: download synsets' images into an ImageFolder tree, with a manifest and resume.

The seam: :func:`~.plan.plan` turns image lists into work items (what is already done is
left out), :func:`~.item.fetch_item` is the item function (download with a
:class:`~.download.Downloader`, then :func:`~.item.finish`: check, write atomically,
result record out), and :func:`~.local.fetch` is the local driver: one process per core,
each running threads that take the next item and do it start to finish (only the small
result records cross processes), and each result, as it comes, goes to one writer, the
manifest (:class:`~.local.Recorder`, shared with the cluster driver in :mod:`.cluster`).
:func:`~.item.fetch_one` does one item synchronously. :func:`~.request.run_fetch` is
``imagenet fetch`` as one call: a :class:`~.request.FetchRequest` in (settings resolved
there, once), a :class:`~.request.FetchSummary` out.

Layout: ``OUT/<wnid>/<image_id>.<ext>``; manifest ``OUT/manifest.jsonl`` (or a
``.csv``/``.jsonl`` path given), one row per URL, appended as each URL finishes and
put in plan order at the end, so a kill loses at most the URLs in flight and the
same command finishes the rest. A failed local write (a full disk) stops the run
(:class:`~imagenet_cli.errors.StorageError`): it is no outcome of the URL. With a
sharded output the files are staging (``OUT/.staging``), packed into shards when every
URL is done (:mod:`.pack`).

Owns: besides the above, the image lists (``sources``: ImageNet's API and fall11-style
URL lists with their SQLite index), the HTTP transport (``transport``: libcurl;
``download``: retries, redirects, per-host bounds), the original-image archives
(``originals``), the bounding-box archives (``bbox_archives``), the ImageNet account
(``credentials``), the terms of access (``terms``) and ``X-Robots-Tag`` (``robots``).

May import: the ground floor (``errors``, ``ids``, ``cache``, ``config``, ``images``),
``hierarchy``, ``drivers`` and ``shards``; never ``bbox``, ``subset`` or ``cli``.

The public names (``fetch``, ``select``, ``FetchOptions``, ...) are importable from here;
they load on first use, so importing one submodule (the URL-list cache on the fast path)
costs no more than that submodule.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .download import DownloadOptions
    from .item import FetchOptions, FetchResult, fetch_item, fetch_one
    from .local import fetch
    from .manifest import Manifest
    from .originals import fetch_originals
    from .request import FetchRequest, FetchSummary, FetchWatch, run_fetch
    from .selection import Selection, select
    from .sources import ImageRef, ListOptions

_PUBLIC = {
    "DownloadOptions": "download",
    "FetchOptions": "item",
    "FetchResult": "item",
    "fetch_item": "item",
    "fetch_one": "item",
    "fetch": "local",
    "Manifest": "manifest",
    "fetch_originals": "originals",
    "FetchRequest": "request",
    "FetchSummary": "request",
    "FetchWatch": "request",
    "run_fetch": "request",
    "Selection": "selection",
    "select": "selection",
    "ImageRef": "sources",
    "ListOptions": "sources",
}

__all__ = [
    "DownloadOptions",
    "FetchOptions",
    "FetchRequest",
    "FetchResult",
    "FetchSummary",
    "FetchWatch",
    "ImageRef",
    "ListOptions",
    "Manifest",
    "Selection",
    "fetch",
    "fetch_item",
    "fetch_one",
    "fetch_originals",
    "run_fetch",
    "select",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
