"""A subset written as shards (``--output-format webdataset|parquet``).

The plan's images are put in shard order first: train shuffled across classes with
the seed (any shard a fair mix), val in its own order (by file name, as the 50,000
are numbered). Then cut into shards by their planned sizes (:func:`..shards.plan.cut`;
a resized image counts as :func:`resized_bytes`), before any is written, so the
shards are the same whatever ``-j`` or ``--scheduler`` is.

Locally the images are read (or resized) by a pool and written, in order, into one
shard after another by this process; on a cluster each task writes whole shards.
Each finished shard is recorded in the journal (``.imagenet-shards.jsonl``: the plan's
digest, then a line per shard with its size and its images); a rerun keeps a shard
whose file has its recorded size, writes the others again, and refuses a target
holding the shards of another plan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from .. import releases
from ..drivers import batched, failure_reason, map_batches
from ..errors import StorageError, storage_error
from ..shards import Sample, ShardOptions, journal
from ..shards.plan import cut, shard_name, shuffled, unique_keys
from ..shards.writers import write_whole
from . import imaging
from .items import ItemResult, read_source
from .plan import Options, Plan, WorkItem

if TYPE_CHECKING:
    from ..drivers.cluster import Cluster

BATCH = 32  # images per task of the local pool
Progress = Callable[[int, int | None, str], None]


@dataclass(slots=True)  # not frozen: see plan.WorkItem
class SampleJob:
    """One image to make into a sample (picklable, no globals)."""

    item: WorkItem
    key: str
    ext: str
    label: int
    name: str  # the class's name (the sample's metadata)
    options: Options
    shard: str  # the shard's name under the target folder


@dataclass
class ShardTask:
    """One shard to write: its name under the target folder, its absolute path, its images."""

    name: str
    path: str
    split: str
    jobs: list[SampleJob]
    shard: ShardOptions
    names: tuple[str, ...]  # class names by index (Parquet's ClassLabel)


@dataclass
class ShardDone:
    """A shard written (or found written): its size and what became of each image."""

    name: str
    bytes: int
    results: list[ItemResult] = field(default_factory=list)
    stopped: str = ""  # the disk failed: the line that stops the run
    kept: bool = False  # written by an earlier run


def order(items: list[WorkItem], split: str, seed: int) -> list[WorkItem]:
    """The images of one split in shard order: train shuffled with ``seed``, val by name."""
    if split == "train":
        return shuffled(items, split, seed)
    return sorted(items, key=lambda i: (i.rel.rsplit("/", 1)[1], i.wnid))


def resized_bytes(options: Options, size: int) -> int:
    """The planned size of an image of ``size`` bytes resized with ``options``: 2 bits a
    pixel of its target (``--resize`` N: N x 4N/3, or N x N cropped; about what a photo
    takes as a JPEG of quality 90), at most its own size. Only for cutting shards."""
    assert options.resize is not None
    side = options.resize
    pixels = side * side if options.resize_mode == "center-crop" else side * side * 4 // 3
    return min(size, pixels // 4)


def plan_shards(
    plan: Plan,
    dst: Path,
    options: Options,
    shard: ShardOptions,
    seed: int,
    names: dict[str, str],
) -> list[ShardTask]:
    """Every shard to write, in order: per split, the images ordered, keyed and cut;
    ``names`` are the classes' names by wnid."""
    wnids = sorted(plan.wnids)
    label = {w: i for i, w in enumerate(wnids)}
    root = str(dst.resolve())
    tasks: list[ShardTask] = []
    for split in ("train", "val"):
        items = order([i for i in plan.items if i.split == split], split, seed)
        if not items:
            continue
        keys = unique_keys([(i.wnid, i.rel.rsplit("/", 1)[1]) for i in items])
        sizes = [
            resized_bytes(options, i.src.size) if options.resize else i.src.size for i in items
        ]
        cuts = cut(sizes, shard)
        for number, span in enumerate(cuts):
            name = shard_name(shard, split, number, len(cuts))
            jobs = []
            for p in span:
                item, (key, ext) = items[p], keys[p]
                title = names.get(item.wnid, "")
                jobs.append(SampleJob(item, key, ext, label[item.wnid], title, options, name))
            tasks.append(ShardTask(name, f"{root}/{name}", split, jobs, shard, tuple(wnids)))
    return tasks


def digest(tasks: list[ShardTask], settings: dict[str, object]) -> str:
    """What the shards hold, in one hash: a rerun with another plan is told apart."""
    return journal.digest(settings, ((t.name, map(_line, t.jobs)) for t in tasks))


def _line(job: SampleJob) -> str:
    src = job.item.src
    return f"{job.key}.{job.ext}\t{job.label}\t{src.label}\t{src.size}"


def make_sample(job: SampleJob, base: str = "") -> tuple[ItemResult, Sample | None]:
    """One image read (and resized) into its sample; a bad image is a failed result."""
    item, opts = job.item, job.options
    src = item.src
    where = dataclasses.replace(src, path=os.path.join(base, src.path)) if base else src
    member = f"{job.key}.{job.ext}"
    try:
        data = read_source(where)
        if opts.resize is not None:
            data, width, height = imaging.resize(data, opts.resize, opts.resize_mode, opts.quality)
        else:
            width, height = imaging.image_size(data)
    except Exception as exc:  # one bad image must never stop a run of a million
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        result = ItemResult(item.split, item.wnid, src.label, member, 0, 0, 0, "failed", reason)
        result.shard = job.shard
        return result, None
    meta = {
        "wnid": item.wnid,
        "ilsvrc2012_index": releases.ilsvrc_index(item.wnid),
        "name": job.name,
        "source": src.label,
        "width": width,
        "height": height,
    }
    result = ItemResult(
        item.split, item.wnid, src.label, member, len(data), width, height, "written"
    )
    result.shard = job.shard
    return result, Sample(job.key, data, job.ext, job.label, meta)


def sample_batch(batch: tuple[str, list[SampleJob]]) -> list[tuple[ItemResult, Sample | None]]:
    """:func:`make_sample` over one batch ``(base, jobs)`` (base: see ``run.process_batch``)."""
    base, jobs = batch
    return [make_sample(job, _base(job, base)) for job in jobs]


def shard_batch(batch: tuple[str, ShardTask]) -> ShardDone:
    """One whole shard, read and written where this runs (a cluster's worker)."""
    base, task = batch
    return write_shard(task, (make_sample(job, _base(job, base)) for job in task.jobs))


def _base(job: SampleJob, base: str) -> str:
    return "" if not base or os.path.isabs(job.item.src.path) else base


def write_shard(task: ShardTask, samples: Iterable[tuple[ItemResult, Sample | None]]) -> ShardDone:
    """``samples`` written into ``task``'s shard, renamed into place when whole; a disk
    that fails comes back as a stopped shard (nothing of it left behind)."""
    results: list[ItemResult] = []

    def written() -> Iterator[Sample]:
        for result, sample in samples:
            results.append(result)
            if sample is not None:
                yield sample

    try:
        size = write_whole(task.path, task.shard, task.names, written())
    except OSError as exc:
        return ShardDone(task.name, 0, results, str(storage_error(task.path, exc)))
    return ShardDone(task.name, size, results)


def failed_samples(
    batch: tuple[str, list[SampleJob]], exc: BaseException
) -> list[tuple[ItemResult, Sample | None]]:
    """A batch that could not be run: each of its images failed, with the reason."""
    return [(_failed(j, failure_reason(exc)), None) for j in batch[1]]


def failed_shard(batch: tuple[str, ShardTask], exc: BaseException) -> ShardDone:
    """A shard whose task could not be run: not written, each image failed."""
    task = batch[1]
    return ShardDone(task.name, -1, [_failed(j, failure_reason(exc)) for j in task.jobs])


def _failed(job: SampleJob, reason: str) -> ItemResult:
    i = job.item
    member = f"{job.key}.{job.ext}"
    result = ItemResult(i.split, i.wnid, i.src.label, member, 0, 0, 0, "failed", reason)
    result.shard = job.shard
    return result


def _kept(book: journal.Journal, task: ShardTask) -> ShardDone | None:
    """The shard as an earlier run wrote it, if its file has the recorded size."""
    found = book.finished(task.name, task.path, len(task.jobs))
    if found is None:
        return None
    try:
        results = [_row(task.name, r) for r in found[1]]
    except (TypeError, ValueError):
        return None
    return ShardDone(task.name, found[0], results, kept=True)


def _record(book: journal.Journal, done: ShardDone) -> None:
    book.record(
        done.name,
        done.bytes,
        (
            [r.split, r.wnid, r.source, r.path, r.bytes, r.width, r.height, r.status, r.error]
            for r in done.results
        ),
    )


def _row(shard: str, row: list[object]) -> ItemResult:
    split, wnid, source, path, size, width, height, status, error = row
    result = ItemResult(
        str(split),
        str(wnid),
        str(source),
        str(path),
        int(str(size)),
        int(str(width)),
        int(str(height)),
        str(status),
        str(error),
    )
    result.shard = shard
    return result


def write_all(
    tasks: list[ShardTask],
    dst: Path,
    settings: dict[str, object],
    *,
    workers: int,
    cpu_bound: bool,
    cluster: Cluster | None,
    batch_size: int | None,
    progress: Progress | None,
) -> Iterator[ShardDone]:
    """Write the shards an earlier run did not finish; each shard (kept or written)
    comes back in plan order. Raises StorageError when the disk fails."""
    book = journal.Journal(dst, digest(tasks, settings))
    journal.sweep(dst, (t.path for t in tasks))
    kept = {t.name: done for t in tasks if (done := _kept(book, t)) is not None}
    todo = [t for t in tasks if t.name not in kept]
    if progress:
        progress(0, sum(len(t.jobs) for t in tasks), "")
        progress(sum(len(kept[n].results) for n in kept), None, "")
    written = (
        _write_cluster(todo, cluster)
        if cluster
        else _write_local(todo, workers, cpu_bound, batch_size)
    )
    new = iter(written)
    for task in tasks:
        if task.name in kept:
            yield kept[task.name]
            continue
        done = next(new)
        if done.stopped:
            raise StorageError(done.stopped)
        if done.bytes >= 0:
            _record(book, done)
        if progress:
            progress(len(task.jobs), None, "")
        yield done


def _write_local(
    tasks: list[ShardTask], workers: int, cpu_bound: bool, batch_size: int | None
) -> Iterator[ShardDone]:
    jobs = [j for t in tasks for j in t.jobs]
    if cpu_bound and not batch_size:
        from .run import shrinking_batches

        chunks: Iterable[list[SampleJob]] = shrinking_batches(jobs, workers)
    else:
        chunks = batched(jobs, batch_size or BATCH)
    with contextlib.closing(
        map_batches(
            sample_batch,
            (("", c) for c in chunks),
            workers=workers,
            pool="process" if cpu_bound else "thread",
            on_failure=failed_samples,
        )
    ) as done:
        stream = (pair for batch in done for pair in batch)
        for task in tasks:
            yield write_shard(task, islice(stream, len(task.jobs)))


def _write_cluster(tasks: list[ShardTask], cluster: Cluster) -> Iterator[ShardDone]:
    base = os.getcwd()
    with contextlib.closing(
        map_batches(
            shard_batch,
            ((base, t) for t in tasks),
            scheduler=cluster,
            on_failure=failed_shard,
        )
    ) as done:
        yield from done


def stray_shards(tasks: list[ShardTask]) -> list[str]:
    """A warning for shard files in the shard folders that this plan does not name."""
    return journal.stray_shards(t.path for t in tasks)


def write_lists(dst: Path, done: list[ShardDone], tasks: list[ShardTask], prefix: str) -> None:
    """``DST/<split>.json``, the ``wids`` shard list of each split, with sample counts."""
    journal.write_lists(
        dst,
        (
            (task.split, task.name, sum(r.status != "failed" for r in shard.results))
            for task, shard in zip(tasks, done, strict=True)
            if shard.bytes >= 0  # else its task failed: not written
        ),
        prefix,
    )
