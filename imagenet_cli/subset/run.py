"""Running the item function over a plan: locally or on a Dask cluster, in batches.

:func:`run_jobs` maps :func:`~.items.process` over the jobs with a local pool
(processes when resizing, which is CPU work; threads for copies and links, which
wait on I/O) or a cluster, and yields results in the jobs' order, so the manifest is
the same whatever the worker count.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from .. import config
from ..drivers import batched, failure_reason, map_batches
from .items import ItemResult, Job, process

if TYPE_CHECKING:
    from ..drivers.cluster import Cluster

BATCH_SIZE = 64  # images per task on a cluster
T = TypeVar("T")


def resolve_workers(workers: int | None) -> int:
    """The worker count: the option, else the ``workers`` setting, 0 meaning one per core."""
    count = int(config.get("workers", workers if workers else None) or 0)
    return count if count > 0 else (os.cpu_count() or 1)


def process_batch(batch: tuple[str, list[Job]]) -> list[ItemResult]:
    """:func:`process` over one batch ``(base, jobs)``, in order.

    ``base`` is the client's working folder when the batch runs on a cluster: a
    worker elsewhere reads relative source paths from there, while the manifest
    names them as given. Locally it is empty.
    """
    base, jobs = batch
    if any(job.item.src.row >= 0 for job in jobs):
        # Parquet rows are read a row group at a time: take them in file and row-group
        # order so each row group is read once per batch, and answer in the jobs' order.
        order = sorted(range(len(jobs)), key=lambda i: _row_key(jobs[i]))
        done = dict(zip(order, _process(base, [jobs[i] for i in order]), strict=True))
        return [done[i] for i in range(len(jobs))]
    return _process(base, jobs)


def _process(base: str, jobs: list[Job]) -> list[ItemResult]:
    if not base:
        return [process(job) for job in jobs]
    results = []
    for job in jobs:
        src = job.item.src
        if os.path.isabs(src.path):
            results.append(process(job))
            continue
        moved = replace(src, path=os.path.join(base, src.path))
        result = process(replace(job, item=replace(job.item, src=moved)))
        results.append(replace(result, source=src.label))
    return results


def _row_key(job: Job) -> tuple[int, str, int, int]:
    src = job.item.src
    return (0, src.path, src.offset, src.row) if src.row >= 0 else (1, "", 0, 0)


def folder_batches(jobs: list[Job], workers: int, cap: int | None = None) -> Iterator[list[Job]]:
    """Copy and link jobs in batches that each stay in one target folder, in order.

    Creating and renaming files takes the folder's lock in the kernel, so threads
    writing into one folder wait for each other (about 6 % of a copy's CPU went to
    spinning on that lock). A batch is a whole folder, or, when there are too few
    folders to keep ``workers`` threads busy, an equal share of one; ``cap`` bounds
    its length.
    """
    groups: list[list[Job]] = []
    last = None
    for job in jobs:
        folder = job.dest.rpartition("/")[0]
        if folder == last:
            groups[-1].append(job)
        else:
            groups.append([job])
            last = folder
    for group in groups:
        size = len(group)
        if len(groups) < 2 * workers:
            size = -(-size // max(workers, 1))
        if cap:
            size = min(size, cap)
        yield from batched(group, max(1, size))


def shrinking_batches(
    jobs: list[T], workers: int, cap: int = 64, floor: int = 4
) -> Iterator[list[T]]:
    """Batches for a process pool: ``cap`` jobs while many remain, then smaller.

    Each batch costs the parent most of a millisecond of CPU (pickling, pipes, thread
    hand-offs), taken from the workers it feeds, so most batches are large. Near the
    end each is a quarter of what is left per worker (at least ``floor``), so the
    workers finish together instead of one waiting out another's last large batch.
    """
    start, total, share = 0, len(jobs), 4 * max(workers, 1)
    while start < total:
        size = max(floor, min(cap, (total - start) // share))
        yield jobs[start : start + size]
        start += size


def failed_batch(batch: tuple[str, list[Job]], exc: BaseException) -> list[ItemResult]:
    """A batch that could not be run: each of its images failed, with the reason."""
    reason = failure_reason(exc)
    return [
        ItemResult(
            j.item.split, j.item.wnid, j.item.src.label, j.item.rel, 0, 0, 0, "failed", reason
        )
        for j in batch[1]
    ]


def run_jobs(
    jobs: list[Job],
    workers: int,
    *,
    cpu_bound: bool,
    scheduler: Cluster | None = None,
    batch_size: int | None = None,
) -> Iterator[ItemResult]:
    """:func:`process` over ``jobs``, results in the jobs' order whatever ``workers`` is.

    Locally: processes when resizing (CPU work), in batches that shrink towards the
    end (see :func:`shrinking_batches`); threads for copies and links (which wait on
    the kernel), in batches that each stay in one folder (see :func:`folder_batches`).
    With a ``scheduler``: batches of ``batch_size`` jobs (default :data:`BATCH_SIZE`)
    on the Dask cluster.
    """
    if scheduler is not None:
        size = batch_size or BATCH_SIZE
        base = os.getcwd()
        chunks: Iterable[list[Job]] = batched(jobs, size)
    elif cpu_bound:
        base = ""
        chunks = batched(jobs, batch_size) if batch_size else shrinking_batches(jobs, workers)
    else:
        base = ""
        chunks = folder_batches(jobs, workers, batch_size)
    batches = ((base, chunk) for chunk in chunks)
    with contextlib.closing(
        map_batches(
            process_batch,
            batches,
            workers=workers,
            scheduler=scheduler,
            pool="process" if cpu_bound else "thread",
            on_failure=failed_batch,
        )
    ) as done:
        for results in done:
            yield from results
