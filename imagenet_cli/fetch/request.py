"""One ``imagenet fetch`` run: a typed :class:`FetchRequest` in, one call
(:func:`run_fetch`), a :class:`FetchSummary` out; what happens on the way (a terms
acceptance, a list that cannot be had, each result) goes to a :class:`FetchWatch`.

Settings are resolved here, once: an option given wins, else ``IMAGENET_*`` in the
environment, else the config file, else the default (see :mod:`imagenet_cli.config`).
The scheduler is resolved once too, and opened for the downloads only: the drivers get
a :class:`~imagenet_cli.drivers.cluster.Cluster` or None.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import UsageError

if TYPE_CHECKING:
    from ..shards import ShardOptions
    from .item import FetchOptions, FetchResult
    from .selection import Selection
    from .sources import ImageRef, ListOptions


@dataclass(frozen=True)
class FetchRequest:
    """Everything ``imagenet fetch`` was asked to do; a setting left None takes the
    environment, the config file or the default."""

    wnid: Sequence[str] | None = None  # wnids, offsets or nltk names; '-' reads stdin
    wnids: str | None = None  # a file of ids, one per line ('-': stdin)
    recursive: bool = False
    release: str | None = None
    urls_only: bool = False
    out: str = "imagenet-images"
    limit: int | None = None
    concurrency: int | None = None
    per_host: int | None = None
    timeout: float | None = None
    retries: int | None = None
    backoff: float = 0.5
    max_bytes: int | None = None
    min_side: int | None = None
    resize: int | None = None
    image_format: str = "jpeg"
    output_format: str = "folder"  # or webdataset, parquet: shards (see pack)
    shard_size: str | None = None  # 1G, 500M, or bytes
    samples_per_shard: int | None = None
    prefix: str | None = None
    seed: int = 0  # the shards' shuffle
    manifest: str | None = None
    base_url: str | None = None
    url_list: str | None = None
    refresh: bool = False
    offline: bool = False
    retry_failed: bool = False
    ignore_robots_tag: bool = False
    original: bool = False
    strict: bool = False  # count failures of earlier runs too (see FetchSummary.failed)
    workers: int = 0
    scheduler: str | None = None  # a Dask scheduler address, local or local:N
    batch_size: int | None = None
    accept_terms: bool = False
    name: str | None = None
    email: str | None = None
    organization: str | None = None


class Bar(Protocol):
    """Where the downloads' progress goes."""

    def total(self, advance: int, total: int | None, text: str) -> None: ...
    def arrived(self, result: FetchResult) -> None: ...
    def passed(self, result: FetchResult) -> None: ...


class FetchWatch(Protocol):
    """What a run tells as it goes (the face shows it)."""

    def accepted(self, version: str) -> None:
        """The terms of access (this version) were accepted now."""

    def ready(self) -> None:
        """The ids are resolved: what follows is the run itself."""

    def note(self, text: str) -> None:
        """A line for people."""

    def failed(self, text: str, not_found: bool) -> None:
        """A synset's list (or archive) could not be had; the run goes on."""

    def downloading(self, per_wnid: dict[str, int]) -> AbstractContextManager[Bar]:
        """The downloads begin (``per_wnid``: URLs of each synset, in plan order)."""


@dataclass
class FetchSummary:
    """What a run did."""

    urls_only: bool = False
    refs: list[ImageRef] = field(default_factory=list)  # the image list (--urls-only)
    list_failures: int = 0  # lists (or archives) that could not be had
    failures: list[str] = field(default_factory=list)  # a line on each of them
    downloaded: bool = False  # False: no list came, nothing was begun
    counts: Counter[str] = field(default_factory=Counter)  # URLs of this run by status
    by_wnid: dict[str, Counter[str]] = field(default_factory=dict)
    done_before: int = 0  # URLs done by earlier runs
    seconds: float = 0.0
    manifest: Path | None = None
    interrupted: bool = False
    failed: int = 0  # URLs not ok (with strict, after a resume: earlier runs' too)
    original: bool = False
    out: Path = Path()
    shards: int = 0  # sharded output: the shards (all of them, when the run was whole)
    shards_written: int = 0  # of them, written by this run
    packed: int = 0  # images in the shards
    notes: list[str] = field(default_factory=list)  # warnings for people


@dataclass(frozen=True)
class _Resolved:
    idents: list[str]
    scheduler: str | None  # the address, checked
    base: str
    timeout: float
    retries: int


class Unwatched:
    """A :class:`FetchWatch` that shows nothing (the summary says what happened)."""

    def accepted(self, version: str) -> None: ...
    def ready(self) -> None: ...
    def note(self, text: str) -> None: ...
    def failed(self, text: str, not_found: bool) -> None: ...

    @contextlib.contextmanager
    def downloading(self, per_wnid: dict[str, int]) -> Iterator[Unwatched]:
        yield self

    def total(self, advance: int, total: int | None, text: str) -> None: ...
    def arrived(self, result: FetchResult) -> None: ...
    def passed(self, result: FetchResult) -> None: ...


def run_fetch(request: FetchRequest, watch: FetchWatch | None = None) -> FetchSummary:
    """Fetch what ``request`` asks: the image lists, then the images (or with
    ``urls_only`` the list alone, or with ``original`` the original images).

    Raises :class:`~imagenet_cli.errors.UsageError` for a request that cannot run,
    :class:`~imagenet_cli.errors.NotFoundError` for an unknown id and
    :class:`~imagenet_cli.errors.TermsError` unless the terms of access are accepted.
    """
    watch = watch or Unwatched()
    from .. import config
    from .sources import check_base_url

    idents, address = _check(request, watch)
    watch.ready()
    got = _Resolved(
        idents,
        address,
        check_base_url(str(config.get("base_url", request.base_url))),
        float(config.get("fetch.timeout", request.timeout)),
        int(config.get("fetch.retries", request.retries)),
    )
    if request.original:
        return _originals(request, got, watch)
    return _images(request, got, watch)


def _check(request: FetchRequest, watch: FetchWatch) -> tuple[list[str], str | None]:
    """The ids asked for (each checked) and the scheduler address; the terms gate."""
    from ..drivers import resolve_scheduler
    from ..hierarchy import Hierarchy
    from ..ids import expand_stdin, listed_ids, stdin_once
    from . import terms

    if request.image_format not in ("jpeg", "keep"):
        raise UsageError(f"--image-format takes jpeg or keep, not {request.image_format!r}")
    if request.release and not request.recursive:
        raise UsageError("--release applies with --recursive")
    if request.refresh and request.offline:
        raise UsageError("--refresh and --offline cannot go together")
    _shard_options(request)
    stdin_once({"--wnid": request.wnid, "--wnids": request.wnids})
    files = [request.wnids] if request.wnids else []
    listed = listed_ids(expand_stdin(request.wnid or []), files)
    if not listed:
        raise UsageError("no synsets given: use --wnid W (repeatable) or --wnids FILE")
    address = None if request.urls_only else resolve_scheduler(request.scheduler)
    terms.gate(request.accept_terms, request.name, request.email, request.organization)
    if request.accept_terms:
        watch.accepted(terms.current().version)
    # every bad id named, with its line
    return Hierarchy.default().resolve_listed(listed), address


def _shard_options(request: FetchRequest) -> ShardOptions:
    """How the images are kept: files (``folder``) or shards; UsageError for options
    that do not go together."""
    from ..shards import require_pyarrow, shard_options

    shard = shard_options(
        str(request.output_format), request.shard_size, request.samples_per_shard, request.prefix
    )
    shard.check()
    if shard.sharded:
        for given, option in ((request.urls_only, "--urls-only"), (request.original, "--original")):
            if given:
                raise UsageError(f"--output-format {shard.format} does not go with {option}")
        if shard.format == "parquet":
            require_pyarrow()
    return shard


def _options(request: FetchRequest, got: _Resolved) -> FetchOptions:
    """Every setting the downloads use, read before any list is asked for: a bad value
    in the config file stops the run before the network is touched."""
    from .. import config
    from ..images import ImageOptions
    from .download import DownloadOptions
    from .item import FetchOptions

    concurrency = int(config.get("fetch.concurrency", request.concurrency))
    per_host = int(config.get("fetch.per_host", request.per_host))
    max_bytes = int(config.get("fetch.max_bytes", request.max_bytes))
    min_side = int(config.get("fetch.min_side", request.min_side))
    placeholders = frozenset(str(p).lower() for p in config.get("fetch.placeholders") or [])
    workers = int(request.workers or config.get("workers") or 0)
    robots = bool(config.get("fetch.ignore_robots_tag", request.ignore_robots_tag or None))
    return FetchOptions(
        out=Path(request.out),
        download=DownloadOptions(
            concurrency=concurrency,
            per_host=per_host,
            timeout=got.timeout,
            retries=got.retries,
            backoff_base=request.backoff,
            max_bytes=max_bytes,
        ),
        image=ImageOptions(
            min_side=min_side,
            resize=request.resize,
            image_format=request.image_format,
            placeholders=placeholders,
        ),
        manifest=Path(request.manifest) if request.manifest else None,
        workers=workers,
        retry_failed=request.retry_failed,
        ignore_robots_tag=robots,
    )


def _list_options(request: FetchRequest, got: _Resolved) -> ListOptions:
    from .sources import ListOptions

    return ListOptions(
        base_url=got.base,
        url_list=request.url_list,
        refresh=request.refresh,
        offline=request.offline,
        timeout=got.timeout,
        retries=got.retries,
    )


def _images(request: FetchRequest, got: _Resolved, watch: FetchWatch) -> FetchSummary:
    from .selection import select

    list_opts = _list_options(request, got)
    options = None if request.urls_only else _options(request, got)
    chosen = select(
        got.idents, list_opts, recursive=request.recursive, release=request.release,
        limit=request.limit,
    )  # fmt: skip
    summary = FetchSummary(urls_only=request.urls_only, refs=chosen.refs, out=Path(request.out))
    for _wnid, error, not_found in chosen.errors:
        summary.list_failures += 1
        summary.failures.append(error)
        watch.failed(error, not_found)
    if options is None or (not chosen.refs and chosen.errors):
        return summary  # no list came: no empty bar, no empty summary
    shard = _shard_options(request)
    request_digest = ""
    if shard.sharded:
        from . import pack

        out = Path(request.out)
        request_digest = pack.request_digest(chosen.refs, shard, request.seed, options.image)
        options = replace(
            options,
            out=out / pack.STAGING,
            manifest=options.manifest_path,
            shards_done=pack.check(out, request_digest),
        )
    summary.downloaded = True
    summary.manifest = options.manifest_path
    with _holding(Path(request.out), shard.sharded):
        _download(request, got, chosen, options, watch, summary)
        if shard.sharded and not summary.interrupted:
            _pack(request, chosen.refs, options, shard, request_digest, watch, summary)
    return summary


@contextlib.contextmanager
def _holding(out: Path, sharded: bool) -> Iterator[None]:
    """A sharded run holds OUT from its downloads (into OUT/.staging, which the
    downloads hold) to its last shard."""
    if not sharded:
        yield
        return
    from .local import claim_output

    lock = claim_output(out)
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _pack(
    request: FetchRequest,
    refs: list[ImageRef],
    options: FetchOptions,
    shard: ShardOptions,
    request_digest: str,
    watch: FetchWatch,
    summary: FetchSummary,
) -> None:
    from .pack import pack

    out = Path(request.out)
    watch.note(f"packing the images kept into {shard.format} shards in {out}")
    try:
        packed = pack(refs, out, options.manifest_path, shard, request.seed, request_digest)
    except KeyboardInterrupt:
        summary.interrupted = True
        return
    summary.shards, summary.shards_written = packed.shards, packed.written
    summary.packed = packed.images
    summary.notes.extend(packed.notes)


def _download(
    request: FetchRequest,
    got: _Resolved,
    chosen: Selection,
    options: FetchOptions,
    watch: FetchWatch,
    summary: FetchSummary,
) -> None:
    started = time.monotonic()
    try:
        with watch.downloading(chosen.per_wnid) as bar:

            def on_progress(advance: int, total: int | None, text: str) -> None:
                if total is not None and text.endswith("done before"):
                    summary.done_before = int(text.split()[0])
                bar.total(advance, total, text)

            for result in _results(chosen.refs, options, got.scheduler, request.batch_size,
                                   on_progress, bar.arrived):  # fmt: skip
                summary.counts[result.status] += 1
                summary.by_wnid.setdefault(result.wnid, Counter())[result.status] += 1
                bar.passed(result)
    except KeyboardInterrupt:
        summary.interrupted = True
        return
    summary.seconds = time.monotonic() - started
    summary.failed = sum(n for s, n in summary.counts.items() if s != "ok")
    if request.strict and not summary.failed and summary.done_before:
        summary.failed = _failed_before(chosen.refs, options)


def _results(
    refs: list[ImageRef],
    options: FetchOptions,
    address: str | None,
    batch_size: int | None,
    progress: Callable[[int, int | None, str], None],
    arrived: Callable[[FetchResult], None],
) -> Iterator[FetchResult]:
    """Each result in plan order, fetched here or on the cluster at ``address``."""
    from ..drivers import session
    from .local import fetch

    with session(address) as cluster:
        if cluster is None:
            yield from fetch(refs, options, progress=progress, arrived=arrived)
            return
        from .cluster import fetch_on_cluster

        yield from fetch_on_cluster(
            refs, options, cluster, batch_size=batch_size, progress=progress, arrived=arrived
        )


def _failed_before(refs: list[ImageRef], options: FetchOptions) -> int:
    """URLs of ``refs`` whose manifest row is no success (a resumed run: failures
    recorded by the earlier runs count too)."""
    from .manifest import Manifest

    rows = Manifest(options.manifest_path).load()
    return sum(
        1
        for r in refs
        if (row := rows.get((r.wnid, r.image_id))) is not None and row.get("status") != "ok"
    )


def _originals(request: FetchRequest, got: _Resolved, watch: FetchWatch) -> FetchSummary:
    from .. import config
    from . import credentials
    from .originals import fetch_originals, is_archive_row
    from .selection import synsets

    if got.scheduler:
        watch.note("--original runs on this machine: the access key never goes to workers")
    out = Path(request.out)
    manifest = Path(request.manifest) if request.manifest else None
    max_bytes = int(config.get("fetch.max_bytes", request.max_bytes))
    creds = credentials.load(required=True)
    assert creds is not None
    wnids = synsets(got.idents, recursive=request.recursive, release=request.release)
    summary = FetchSummary(original=True, out=out)
    found = fetch_originals(
        wnids, creds, got.base, out, manifest=manifest, timeout=got.timeout, max_bytes=max_bytes
    )
    for result in found:
        if is_archive_row(result):
            # The synset's whole archive could not be had: as for a list that cannot
            # be had, the run says so and exits 1.
            line = f"{result.wnid}: no archive of original images: {result.error} ({result.url})"
            summary.list_failures += 1
            summary.failures.append(line)
            watch.failed(line, False)
            continue
        summary.counts[result.status] += 1
    summary.failed = sum(n for s, n in summary.counts.items() if s != "ok")
    return summary
