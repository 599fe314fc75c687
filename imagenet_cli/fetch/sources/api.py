"""Image lists from an ImageNet-style API, cached per wnid with ETag/Last-Modified.

``/api/text/imagenet.synset.geturls.getmapping?wnid=W`` (``image_id url`` per line)
is asked first; ``/api/text/imagenet.synset.geturls?wnid=W`` (one URL per line,
ids numbered from 1 in list order) when the mapping is not served.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ...cache import cache_dir, write_text_atomic
from ...errors import ListSourceError
from ..credentials import redact
from ..download import Downloader, DownloadOptions, Fetched
from . import ImageList, ImageRef, ListOptions

MAPPING_PATH = "/api/text/imagenet.synset.geturls.getmapping?wnid={wnid}"
URLS_PATH = "/api/text/imagenet.synset.geturls?wnid={wnid}"
MAX_LIST_BYTES = 64_000_000


@dataclass
class ListMeta:
    """What is known about a cached list: where, when, and its validators."""

    url: str
    kind: str  # mapping or urls
    fetched_at: str
    etag: str = ""
    last_modified: str = ""
    count: int = 0


def _folder(base_url: str) -> Path:
    parts = urlsplit(base_url)
    # Keyed by the URL as shown: nothing derived from a password reaches the cache.
    key = hashlib.sha256(redact(base_url.rstrip("/")).encode()).hexdigest()[:10]
    return cache_dir() / "lists" / f"{parts.hostname or 'local'}-{key}"


def cached(wnid: str, base_url: str) -> tuple[list[ImageRef], ListMeta] | None:
    """The cached list of ``wnid`` from ``base_url`` and its metadata, if any."""
    folder = _folder(base_url)
    try:
        meta = ListMeta(**json.loads((folder / f"{wnid}.json").read_text(encoding="utf-8")))
        text = (folder / f"{wnid}.tsv").read_text(encoding="utf-8")
    except (OSError, ValueError, TypeError):
        return None
    refs = []
    for line in text.splitlines():
        image_id, _, url = line.partition("\t")
        if url:
            refs.append(ImageRef(wnid, image_id, url))
    return refs, meta


def _store(wnid: str, base_url: str, refs: list[ImageRef], meta: ListMeta) -> None:
    folder = _folder(base_url)
    write_text_atomic(
        folder / f"{wnid}.tsv", "".join(f"{r.image_id}\t{r.url}\n" for r in refs), fsync=False
    )
    meta.count = len(refs)
    write_text_atomic(folder / f"{wnid}.json", json.dumps(asdict(meta)) + "\n", fsync=False)


def parse_mapping(wnid: str, text: str) -> list[ImageRef] | None:
    """``image_id url`` lines; None when the text is not a mapping (an error page)."""
    refs: list[ImageRef] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        image_id, _, url = line.partition(" ")
        url = url.strip()
        if not url.startswith(("http://", "https://")) or not image_id.startswith(wnid):
            return None
        refs.append(ImageRef(wnid, image_id, url))
    return refs


def parse_urls(wnid: str, text: str) -> list[ImageRef] | None:
    """One URL per line, numbered from 1; None when the text is not such a list."""
    refs: list[ImageRef] = []
    for line in text.splitlines():
        url = line.strip()
        if not url:
            continue
        if not url.startswith(("http://", "https://")):
            return None
        refs.append(ImageRef(wnid, f"{wnid}_{len(refs) + 1}", url))
    return refs


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def fetch_lists(
    wnids: list[str], options: ListOptions, *, partial: bool = False
) -> list[ImageList]:
    """Lists for ``wnids``: from the cache, or fetched (all at once, bounded); a download
    needs ImageNet's terms of access accepted (else :class:`TermsError`).

    A base URL that serves no lists at all (see :func:`_fetch_all`) raises
    :class:`ListSourceError`, unless some lists were had elsewhere (the cache, or the
    caller's, ``partial``): then each list still wanted is a failure of its own, and no
    more requests are made.
    """
    base = options.base_url.rstrip("/")
    results: dict[str, ImageList] = {}
    todo: list[tuple[str, ListMeta | None]] = []
    for wnid in wnids:
        hit = cached(wnid, base)
        if hit and not options.refresh:
            results[wnid] = ImageList(wnid, hit[0], f"cache ({hit[1].fetched_at})")
        elif options.offline:
            results[wnid] = (
                ImageList(wnid, hit[0], f"cache ({hit[1].fetched_at})")
                if hit
                else ImageList(
                    wnid,
                    error=f"{wnid}: no cached image list (run without --offline)",
                    not_found=True,
                )
            )
        else:
            todo.append((wnid, hit[1] if hit else None))
    if todo:
        from .. import terms

        terms.require_accepted()
        try:
            fetched = _fetch_all(todo, base, options)
        except ListSourceError as err:
            if not (partial or any(item.refs for item in results.values())):
                raise
            fetched = [ImageList(w, error=f"{w}: no image list: {err.reason}") for w, _ in todo]
        for item in fetched:
            results[item.wnid] = item
    return [results[w] for w in wnids]


# How a list's failure bears on its base URL.
UNREACHABLE = "unreachable"  # no answer from the host at all: every list fails alike
NO_API = "no_api"  # an HTTP error or a web page on both paths: maybe no list API here
ITS_OWN = ""  # this synset's own failure (or one that may pass): the others may work

RETIRED_ADVICE = (
    "ImageNet's own image-list API was retired. Instead: index a fall11-style URL list "
    "with 'imagenet urls index FILE|URL' (fetch then uses it by itself), pass "
    "--url-list FILE|URL, or point --base-url at a mirror that serves the API"
)


def _fetch_all(
    todo: list[tuple[str, ListMeta | None]], base: str, options: ListOptions
) -> list[ImageList]:
    """The lists of ``todo``; :class:`ListSourceError` when ``base`` serves none.

    The first list is asked for alone. When its host cannot be reached, the run stops
    there: every other list would fail the same way, after its own retries. When it
    answers an HTTP error (404, 403, a 5xx after its retries) or a web page, a second
    synset's list is asked for: a mirror that lacks one synset serves the others, and
    only when the second fails so too does the run stop. Otherwise (a list, or the
    API's own plain-text answer for a synset it does not know, or a timeout) the rest
    are asked for at once, and each failure is its synset's own.
    """
    dl_opts = DownloadOptions(
        concurrency=options.concurrency,
        per_host=options.concurrency,
        timeout=options.timeout,
        retries=options.retries,
        max_bytes=MAX_LIST_BYTES,
    )
    from concurrent.futures import ThreadPoolExecutor  # here: it imports logging

    with Downloader(dl_opts) as dl:
        first = [_fetch_one(dl, *todo[0], base)]
        if first[0][1] == NO_API and len(todo) > 1:
            first.append(_fetch_one(dl, *todo[1], base))
        if all(verdict in (NO_API, UNREACHABLE) for _, verdict in first):
            raise _gone(redact(base), first[0][0].error)
        rest = todo[len(first) :]
        with ThreadPoolExecutor(max(1, min(options.concurrency, len(rest)))) as pool:
            found = list(pool.map(lambda item: _fetch_one(dl, item[0], item[1], base)[0], rest))
    return [item for item, _ in first] + found


def _gone(base: str, detail: str) -> ListSourceError:
    """The error of a base URL that serves no lists; ``detail``, the failure that told."""
    why = detail.partition(": no image list ")[2] or f"({detail})"
    return ListSourceError(
        f"{detail}: {base} serves no image lists; {RETIRED_ADVICE}",
        f"{base} serves no image lists {why}",
    )


def _is_page(got: Fetched, text: str) -> bool:
    """Whether a body that is no list is a web page (a site, not an API that knows no
    such synset: the old API answered those in plain text)."""
    ctype = (got.headers or {}).get("content-type", "").lower()
    return "html" in ctype or text.lstrip().startswith("<")


def _fetch_one(
    dl: Downloader, wnid: str, meta: ListMeta | None, base: str
) -> tuple[ImageList, str]:
    """``wnid``'s list, and what its failure says of the base URL (UNREACHABLE, NO_API
    or ITS_OWN)."""
    errors: list[str] = []
    verdicts: list[str] = []
    for kind, template, parse in (
        ("mapping", MAPPING_PATH, parse_mapping),
        ("urls", URLS_PATH, parse_urls),
    ):
        url = base + template.format(wnid=wnid)
        headers = {}
        if meta is not None and meta.kind == kind:
            if meta.etag:
                headers["If-None-Match"] = meta.etag
            if meta.last_modified:
                headers["If-Modified-Since"] = meta.last_modified
        got: Fetched = dl.get(url, headers=headers)
        if got.status == 304 and meta is not None:
            hit = cached(wnid, base)
            if hit:
                meta.fetched_at = _now()
                _store(wnid, base, hit[0], meta)
                return ImageList(wnid, hit[0], f"{redact(url)} (not modified)"), ITS_OWN
        if got.body is None:
            errors.append(f"{redact(url)}: {got.error or got.kind}")
            if got.kind in ("connect_error", "tls_error"):  # the other path: the same host
                return _failed(wnid, errors), UNREACHABLE
            # An HTTP error (404, 403, a 5xx after its retries): a second synset tells
            # whether it is this synset's or the site's.
            verdicts.append(NO_API if (got.status or 0) >= 400 else ITS_OWN)
            continue
        text = got.body.decode("utf-8", errors="replace")
        refs = parse(wnid, text)
        if refs is None:
            errors.append(f"{redact(url)}: not an image list")
            verdicts.append(NO_API if _is_page(got, text) else ITS_OWN)
            continue
        hdr = got.headers or {}
        _store(
            wnid,
            base,
            refs,
            ListMeta(redact(url), kind, _now(), hdr.get("etag", ""), hdr.get("last-modified", "")),
        )
        return ImageList(wnid, refs, redact(url)), ITS_OWN
    return _failed(wnid, errors), NO_API if verdicts == [NO_API, NO_API] else ITS_OWN


def _failed(wnid: str, errors: list[str]) -> ImageList:
    return ImageList(wnid, error=f"{wnid}: no image list ({'; '.join(errors)})")
