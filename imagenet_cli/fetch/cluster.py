"""``imagenet fetch`` on a Dask cluster: the local run's item function, in batches.

The plan, the manifest, resume and the folder lock are those of :mod:`.fetch` and
stay on the client; each batch of URLs runs on a worker through the very code a
local run uses (:class:`~.download.Downloader` with threads, then
:func:`~.fetch.finish`, which writes each image atomically into the output folder
the workers share). Each batch's rows go to the one manifest as the batch finishes,
as locally, so the files and the manifest equal a local run's.

Politeness holds over the whole cluster: the downloader's per-host bound is a
:class:`ClusterLimiter`, Dask semaphores on the scheduler (one per host bucket with
``per_host`` leases, one with ``concurrency`` leases for all downloads at once).
A worker that dies loses its leases when they time out
(``distributed.scheduler.locks.lease-timeout``). Nothing secret travels: batches
hold image URLs and options, never credentials (``--original`` runs on the client).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..drivers import batched, failure_reason, session
from ..errors import UsageError
from ..images import load_plugins
from .download import Downloader
from .item import FetchOptions, FetchResult, ProgressFn
from .local import (
    ItemCounter,
    Recorder,
    claim_output,
    closing_manifest,
    error_row,
    start_threads,
    warm_up,
)
from .manifest import Manifest
from .plan import clean_partials, plan
from .sources import ImageRef

if TYPE_CHECKING:
    from ..drivers.cluster import Cluster

BATCH_SIZE = 64  # URLs per task
HOST_BUCKETS = 256  # hosts hash into this many semaphores (two in one bucket share it)
KEEP_RUNS = 4  # semaphore handles a worker keeps, by run


@dataclass(frozen=True)
class Limits:
    """The cluster-wide bounds of one run, by semaphore name."""

    run: str
    concurrency: int
    per_host: int
    buckets: int = HOST_BUCKETS

    @property
    def overall(self) -> str:
        return f"imagenet-fetch-{self.run}-all"

    def host(self, host: str) -> str:
        bucket = zlib.crc32(host.encode("utf-8", "surrogatepass")) % self.buckets
        return f"imagenet-fetch-{self.run}-host-{bucket}"

    def names(self) -> list[str]:
        return [self.overall] + [f"imagenet-fetch-{self.run}-host-{b}" for b in range(self.buckets)]


# Per worker process: one semaphore handle per name (a lease is released through the
# handle that took it), for the last few runs only.
_HANDLES: dict[str, dict[str, Any]] = {}
_HANDLES_LOCK = threading.Lock()


def _semaphore(run: str, name: str, leases: int, worker: Any) -> Any:
    handles = _HANDLES.get(run, {})
    sem = handles.get(name)
    if sem is not None:
        return sem
    with _HANDLES_LOCK:
        handles = _HANDLES.setdefault(run, {})
        sem = handles.get(name)
        if sem is None:
            import distributed

            dist: Any = distributed  # untyped
            # Bound to the worker explicitly: the downloader's threads are not task
            # threads, where Dask would find it by itself.
            sem = handles[name] = dist.Semaphore(
                max_leases=leases, name=name, scheduler_rpc=worker.scheduler, loop=worker.loop
            )
        while len(_HANDLES) > KEEP_RUNS:
            for old in _HANDLES.pop(next(iter(_HANDLES))).values():
                callback = getattr(old, "refresh_callback", None)
                if callback is not None:
                    callback.stop()
    return sem


class ClusterLimiter:
    """The downloader's per-host bound (:class:`~.download.HostLimiter`), held over
    the whole cluster: a host's slot first, then one of the overall slots, so a
    thread waiting for a busy host never sits on an overall slot."""

    def __init__(self, limits: Limits, worker: Any) -> None:
        self.limits = limits
        self.worker = worker

    def _host(self, host: str) -> Any:
        limits = self.limits
        return _semaphore(limits.run, limits.host(host), limits.per_host, self.worker)

    def _overall(self) -> Any:
        limits = self.limits
        return _semaphore(limits.run, limits.overall, limits.concurrency, self.worker)

    def acquire(self, host: str, timeout: float) -> bool:
        sem = self._host(host)
        if not sem.acquire(timeout=timeout):
            return False
        try:
            if self._overall().acquire(timeout=timeout):
                return True
        except BaseException:
            sem.release()
            raise
        sem.release()
        return False

    def release(self, host: str) -> None:
        try:
            self._overall().release()
        finally:
            self._host(host).release()


@dataclass(frozen=True)
class FetchBatch:
    """One task: URLs, the run's options (an absolute ``out``), threads, bounds."""

    refs: tuple[ImageRef, ...]
    options: FetchOptions
    threads: int
    limits: Limits
    first: int = 0  # the plan's number of its first item


def fetch_batch(batch: FetchBatch) -> list[FetchResult]:
    """Download, check and write a batch's images on a worker; rows in batch order."""
    refs = list(batch.refs)
    done: list[FetchResult | None] = [None] * len(refs)
    from distributed import get_worker

    warm_up()
    load_plugins()
    limiter = ClusterLimiter(batch.limits, get_worker())
    download = replace(batch.options.download, concurrency=batch.threads)
    with Downloader(download, limiter=limiter) as dl:

        def post(i: int, result: FetchResult) -> None:
            done[i] = result

        take = ItemCounter(None).take
        threads = min(batch.threads, len(refs))
        for t in start_threads(refs, batch.options, dl, take, post, threads):
            t.join()
    return [
        r if r is not None else error_row(ref, RuntimeError("not done"))
        for ref, r in zip(refs, done, strict=True)
    ]


def _numbered(batch: FetchBatch) -> tuple[int, list[FetchResult]]:
    return batch.first, fetch_batch(batch)


def _failed_numbered(batch: FetchBatch, exc: BaseException) -> tuple[int, list[FetchResult]]:
    return batch.first, failed_batch(batch, exc)


def failed_batch(batch: FetchBatch, exc: BaseException) -> list[FetchResult]:
    """A batch that could not be run: an ``error`` row per URL (``--retry-failed``
    redoes them), and the run goes on."""
    reason = failure_reason(exc)
    return [error_row(ref, RuntimeError(reason)) for ref in batch.refs]


def fetch_on_cluster(
    refs: Iterable[ImageRef],
    options: FetchOptions,
    scheduler: str | Cluster,
    *,
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
    arrived: Callable[[FetchResult], None] | None = None,
) -> Iterator[FetchResult]:
    """:func:`~.fetch.fetch` with the downloads on a Dask cluster; results in plan
    order, the manifest appended here. ``options.out`` must be a folder every worker
    sees at the same path. Raises :class:`~.errors.TermsError` unless ImageNet's terms of
    access are accepted (here, on the client)."""
    from . import terms

    terms.require_accepted()
    refs = list(refs)
    size = batch_size or BATCH_SIZE
    if size < 1:
        raise UsageError("--batch-size takes a positive count")
    out = options.out.resolve()
    lock = claim_output(out)
    manifest = Manifest(options.manifest_path)
    try:
        with closing_manifest(manifest), session(scheduler) as cluster:
            assert cluster is not None
            work = plan(refs, options, manifest)
            clean_partials(out, (r.wnid for r in refs))
            if progress:
                progress(0, len(work.todo), f"{work.done} done before")
            if work.todo:
                yield from _drive(work.todo, replace(options, out=out), cluster, size, manifest,
                                  progress, arrived)  # fmt: skip
    finally:
        lock.__exit__(None, None, None)


def _drive(
    todo: list[ImageRef],
    options: FetchOptions,
    cluster: Cluster,
    size: int,
    manifest: Manifest,
    progress: ProgressFn | None,
    arrived: Callable[[FetchResult], None] | None = None,
) -> Iterator[FetchResult]:
    dl = options.download
    limits = Limits(uuid.uuid4().hex[:12], max(1, dl.concurrency), max(1, dl.per_host))
    # Each batch may use up to `concurrency` threads; the overall semaphore keeps the
    # cluster's sum at `concurrency`, so a batch stuck on a slow URL holds one slot.
    threads = max(1, min(limits.concurrency, size))
    batches = (
        FetchBatch(tuple(chunk), options, threads, limits, k * size)
        for k, chunk in enumerate(batched(todo, size))
    )
    record = Recorder(manifest, progress, arrived)
    buffer: dict[int, FetchResult] = {}
    nxt = 0
    try:
        # Batches as they finish: one held up by a slow URL holds back no other's rows.
        with contextlib.closing(
            cluster.map(_numbered, batches, on_failure=_failed_numbered, ordered=False)
        ) as found:
            for first, results in found:
                record.add(results)  # a batch's rows in one write, as locally
                buffer.update(enumerate(results, first))
                while nxt in buffer:  # yielded in plan order
                    yield buffer.pop(nxt)
                    nxt += 1
    finally:
        _close_semaphores(cluster, limits)


def _close_semaphores(cluster: Cluster, limits: Limits) -> None:
    client = cluster.client
    if client is None:
        return

    async def close_all() -> None:
        for name in limits.names():
            await client.scheduler.semaphore_close(name=name)

    with contextlib.suppress(Exception):
        client.sync(close_all)
