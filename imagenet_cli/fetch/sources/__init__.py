"""Where image lists come from: an ImageNet-style API or an indexed fall11-style list.

One interface: :func:`image_lists` takes wnids and returns, per wnid, its
``(wnid, image_id, url)`` references, from the URL-list index when it holds the
wnid (or from ``url_list`` when given), else from the API at ``base_url``. A base
URL that serves no lists at all raises :class:`~imagenet_cli.errors.ListSourceError`
(see :func:`.api.fetch_lists`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImageRef:
    """One image of a synset: its id (``n01440764_123``) and where it was."""

    wnid: str
    image_id: str
    url: str


@dataclass(frozen=True)
class ListOptions:
    """Where to look for lists and how hard to try."""

    base_url: str = "https://image-net.org"
    url_list: str | None = None
    refresh: bool = False
    offline: bool = False
    timeout: float = 30.0
    retries: int = 3
    concurrency: int = 8


@dataclass(frozen=True)
class SkippedLine:
    """A line of a list that gives no image, and why."""

    line: int  # 1-based
    reason: str


def parse_line(line: str) -> tuple[str, str] | None:
    """``(image_id, url)`` of a list line, or None when it holds no URL.

    ``image_id<TAB>url`` as in ImageNet's fall11_urls.txt; without a tab, the id and
    the URL split at the first run of whitespace (an id never holds any), so a URL
    with spaces in it stays whole either way.
    """
    if "\t" in line:
        image_id, _, url = line.partition("\t")
    else:
        image_id, _, url = line.strip().partition(" ")
    image_id, url = image_id.strip(), url.strip()
    if not image_id or not url:
        return None
    return image_id, url


def check_base_url(url: str) -> str:
    """``url`` without its trailing ``/`` when it is an http(s) URL a request can go to;
    else :class:`~imagenet_cli.errors.UsageError` naming it (its password masked)."""
    from ...errors import UsageError
    from ..credentials import redact
    from ..transport import normalise_url

    try:
        normalise_url(url)
    except ValueError as exc:
        raise UsageError(f"base URL {redact(url)!r}: {redact(str(exc))}") from None
    return url.rstrip("/")


@dataclass
class ImageList:
    """A wnid's list and where it came from, or the reason there is none."""

    wnid: str
    refs: list[ImageRef] = field(default_factory=list)
    source: str = ""
    error: str = ""
    not_found: bool = False  # offline with nothing cached, or the server knows no such list


def image_lists(wnids: list[str], options: ListOptions) -> list[ImageList]:
    """The image list of every wnid, in the order given (cached lists reused)."""
    from . import api, urllist

    if options.url_list:
        list_id = urllist.ensure_indexed(
            options.url_list,
            refresh=options.refresh,
            offline=options.offline,
            timeout=options.timeout,
        )
        indexed = urllist.lookup_many(wnids, list_id=list_id)
        return [ImageList(w, indexed[w], options.url_list) for w in wnids]
    found = {
        w: ImageList(w, refs, "url-list index")
        for w, refs in urllist.lookup_many(wnids).items()
        if refs
    }
    missing = [w for w in wnids if w not in found]
    if missing:
        # With lists from the index, a base URL that serves none fails only the synsets
        # the index lacks (each its own line), not the run.
        for item in api.fetch_lists(missing, options, partial=bool(found)):
            found[item.wnid] = item
    return [found[w] for w in wnids]
