"""The bbox engine: a plan of work items, a pure item function, the driver it runs on.

* plan: :func:`~.inputs.iter_items` gives the files in a fixed order; :func:`plan`
  groups them into batches (a batch is one task for a worker: the per-task cost of
  a process pool would otherwise dwarf parsing a 1 kB file).
* item function: :func:`parse_item` (and :func:`parse_batch` over a batch) reads,
  parses and repairs one file and returns an :class:`~.records.Annotation` or a
  :class:`~.records.BadFile`; top-level, picklable, no hidden state, so another
  driver (Dask) can run it as is.
* driver: :func:`imagenet_cli.drivers.map_batches` runs it over the batches in a
  local process pool or on a Dask cluster, a bounded number in flight, and hands
  results back in plan order whatever the worker count. Memory stays flat: nothing
  is read far ahead of the writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple, cast

from ..drivers import failure_reason, map_batches
from ..drivers import worker_count as worker_count
from .inputs import FolderReader, Item, Items, read_bounded
from .parse import MAX_BYTES, XmlError, parse, plain_rows
from .records import Annotation, BadFile, Result
from .repair import normalized, repair
from .writers import format_chunk

if TYPE_CHECKING:
    from ..drivers.cluster import Cluster


BATCH_FILES = 512
CLUSTER_BATCH_FILES = 1000  # a Dask task costs ms: below ~1,000 files it shows (bench_dask)
BATCH_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """How to read each file (picklable; the same for every item of a run)."""

    max_bytes: int = MAX_BYTES
    clip: bool = False
    normalize: bool = False
    images: str | None = None
    need_size: bool = False  # a file whose image size stays unknown is bad (yolo, normalize)
    fast: bool = True
    base: str | None = None  # the folder relative paths start from (the client's, on a cluster)


Batch = tuple[ParseOptions, list[Item]]


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """How a worker turns its batch into output text (picklable; one per run)."""

    fmt: str  # one of writers.CHUNK_FORMATS
    keep_empty: bool = False
    allowed: frozenset[str] | None = None  # the wnids the filters keep (None: all)


ChunkBatch = tuple[ParseOptions, ChunkSpec, list[Item]]


class Chunk(NamedTuple):
    """One batch, parsed and formatted: the text its writer appends, the counts,
    and what to tell the user, in plan order (``(True, line)`` for a bad file,
    ``(False, line)`` for a quirk)."""

    text: str
    files: int
    images: int
    boxes: int
    notes: tuple[tuple[bool, str], ...] = ()


def parse_item(item: Item, opts: ParseOptions, reader: FolderReader | None = None) -> Result:
    """Read, parse and repair one annotation file (read by ``reader`` if given)."""
    source = item.source
    if item.problem is not None:
        return BadFile(source, item.problem)
    data = item.data
    if data is None:
        assert item.path is not None
        try:
            if reader is None:
                path = os.path.join(opts.base, item.path) if opts.base else item.path
                data = read_bounded(path, opts.max_bytes)
            else:
                data = reader.read(item.path, opts.max_bytes)
        except ValueError as exc:
            return BadFile(source, str(exc))
        except OSError as exc:
            return BadFile(source, f"cannot read: {exc.strerror or exc}")
    elif len(data) > opts.max_bytes:
        return BadFile(source, f"{len(data)} bytes, over the limit of {opts.max_bytes}")
    try:
        ann = parse(data, source, fast=opts.fast)
    except XmlError as exc:
        return BadFile(source, exc.reason, exc.line)
    ann = repair(ann, clip=opts.clip, images=opts.images)
    if opts.need_size and (ann.width is None or ann.height is None):
        return BadFile(source, "image size unknown, cannot normalise (give --images DIR)")
    if opts.normalize:
        ann = normalized(ann)
    return ann


def parse_batch(batch: Batch) -> list[Result]:
    """:func:`parse_item` over one batch, in order."""
    opts, items = batch
    with FolderReader(opts.base) as reader:
        return [parse_item(item, opts, reader) for item in items]


def format_batch(batch: ChunkBatch) -> Chunk:
    """:func:`parse_item` over one batch, filtered and formatted as its writer
    would (:func:`~.writers.format_chunk`): the batch function of streaming formats.

    For csv/tsv with the default options, a file with nothing to repair becomes
    its rows in one step (:func:`~.parse.plain_rows`); the text is the
    same either way."""
    opts, spec, items = batch
    allowed = spec.allowed
    sep = None
    if spec.fmt in ("csv", "tsv") and allowed is None and _as_written(opts):
        sep = "\t" if spec.fmt == "tsv" else ","
    parts: list[str | list[Annotation]] = []  # rows made in one step, runs of records
    notes: list[tuple[bool, str]] = []
    with FolderReader(opts.base) as reader:
        for item in items:
            if sep is not None:
                row, item = _plain(item, opts, sep, reader)
                if row is not None:
                    parts.append(row)
                    continue
            res = parse_item(item, opts, reader)
            if type(res) is BadFile:
                notes.append((True, str(res)))
                continue
            assert type(res) is Annotation
            if res.quirks:
                notes.extend([(False, f"{res.source}: {quirk}") for quirk in res.quirks])
            if allowed is not None:
                kept = select(res, allowed)
                if kept is None:
                    continue
                res = kept
            if not parts or type(parts[-1]) is str:
                parts.append([])
            cast(list[Annotation], parts[-1]).append(res)
    texts: list[str] = []
    images = boxes = 0
    for part in parts:
        if type(part) is str:  # one image, a row per box
            texts.append(part)
            images += 1
            boxes += part.count("\n")
        else:
            anns = cast(list[Annotation], part)
            text, n = format_chunk(spec.fmt, anns, spec.keep_empty)
            texts.append(text)
            images += n
            boxes += sum([len(ann.boxes) for ann in anns])
    return Chunk("".join(texts), len(items), images, boxes, tuple(notes))


def _as_written(opts: ParseOptions) -> bool:
    """Whether files are read as they are written: nothing clipped, normalised or
    looked up in the images."""
    return opts.fast and not (opts.clip or opts.normalize or opts.images or opts.need_size)


def _plain(
    item: Item, opts: ParseOptions, sep: str, reader: FolderReader
) -> tuple[str | None, Item]:
    """The one-step row of ``item`` (or None), and the item to parse otherwise,
    holding the bytes read here so that they are not read twice."""
    data = item.data
    if data is None:
        if item.path is None or item.problem is not None:
            return None, item
        try:
            data = reader.read(item.path, opts.max_bytes)
        except (ValueError, OSError):
            return None, item  # parse_item reads it again and says what is wrong
        row = plain_rows(data, item.source, sep)
        return row, (item if row is not None else item._replace(data=data))
    if len(data) > opts.max_bytes:
        return None, item
    return plain_rows(data, item.source, sep), item


def plan(items: Iterable[Item], opts: ParseOptions, files: int = BATCH_FILES) -> Iterator[Batch]:
    """Consecutive items grouped into batches of at most ``files`` items and about
    :data:`BATCH_BYTES` of data read ahead."""
    batch = Items()
    size = 0
    for item in items:
        batch.append(item)
        if item.data is not None:
            size += len(item.data)
        if len(batch) >= files or size >= BATCH_BYTES:
            yield opts, batch
            batch, size = Items(), 0
    if batch:
        yield opts, batch


def failed_batch(batch: Batch, exc: BaseException) -> list[Result]:
    """A batch that could not be run: one bad-file result per item, so each gets
    its error line and the rest of the run goes on."""
    reason = failure_reason(exc)
    return [BadFile(item.source, reason) for item in batch[1]]


def failed_chunk(batch: ChunkBatch, exc: BaseException) -> Chunk:
    """:func:`failed_batch` for a chunk: no text, one bad-file line per item."""
    reason = failure_reason(exc)
    items = batch[2]
    return Chunk("", len(items), 0, 0, tuple((True, str(BadFile(i.source, reason))) for i in items))


def _batches(
    items: Iterable[Item],
    opts: ParseOptions,
    scheduler: Cluster | None,
    batch_size: int | None,
) -> Iterator[Batch]:
    """The plan's batches, at the size for the driver that runs them. A cluster's
    worker reads files from the client's working folder: it joins a relative path
    to it, once per folder (the output still names files as given)."""
    if scheduler is not None:
        images = os.path.abspath(opts.images) if opts.images else None
        opts = replace(opts, base=os.getcwd(), images=images)
    files = batch_size or (BATCH_FILES if scheduler is None else CLUSTER_BATCH_FILES)
    return plan(items, opts, files)


def chunks(
    items: Iterable[Item],
    opts: ParseOptions,
    spec: ChunkSpec,
    *,
    workers: int = 1,
    scheduler: Cluster | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> Generator[Chunk, None, None]:
    """Every batch parsed and formatted (:func:`format_batch`), in plan order, here
    or on a Dask ``scheduler``."""
    jobs = ((o, spec, b) for o, b in _batches(items, opts, scheduler, batch_size))
    for chunk in map_batches(
        format_batch, jobs, workers=workers, scheduler=scheduler, on_failure=failed_chunk
    ):
        if progress is not None:
            progress(chunk.files, None, "")
        yield chunk


def results(
    items: Iterable[Item],
    opts: ParseOptions,
    *,
    workers: int = 1,
    scheduler: Cluster | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> Generator[Result, None, None]:
    """Every file's result, in plan order, parsed here or on a Dask ``scheduler``."""
    batches = _batches(items, opts, scheduler, batch_size)
    for batch_results in map_batches(
        parse_batch, batches, workers=workers, scheduler=scheduler, on_failure=failed_batch
    ):
        if progress is not None:
            progress(len(batch_results), None, "")
        yield from batch_results


def select(ann: Annotation, allowed: frozenset[str] | None) -> Annotation | None:
    """The annotation with only boxes of ``allowed`` wnids; None when none is left
    (an image that had no box to begin with is kept: ``--keep-empty`` decides)."""
    if allowed is None or not ann.boxes:
        return ann
    kept = tuple(b for b in ann.boxes if b.wnid in allowed)
    if len(kept) == len(ann.boxes):
        return ann
    return ann._replace(boxes=kept) if kept else None


def selection(
    wnids: Sequence[str] = (), under: str | None = None, release: str | None = None
) -> frozenset[str] | None:
    """The wnids the filters allow (None: no filter). Ids in any form; raises
    NotFoundError for an unknown id or release."""
    sets: list[frozenset[str]] = []
    if wnids or under:
        from ..hierarchy import Hierarchy

        h = Hierarchy.default()
        if wnids:
            sets.append(frozenset(h.resolve(w) for w in wnids))
        if under:
            sets.append(frozenset(h.descendants(under, include_self=True)))
    if release:
        from .. import releases

        sets.append(releases.class_set(release))
    if not sets:
        return None
    allowed = sets[0]
    for other in sets[1:]:
        allowed = allowed & other
    return allowed


class Names:
    """wnid -> (first lemma, ILSVRC-2012 index), looked up once per wnid."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[str | None, int | None]] = {}

    def __call__(self, wnid: str) -> tuple[str | None, int | None]:
        hit = self.cache.get(wnid)
        if hit is None:
            hit = self.cache[wnid] = self._lookup(wnid)
        return hit

    def _lookup(self, wnid: str) -> tuple[str | None, int | None]:
        from .. import releases
        from ..errors import ImagenetError
        from ..hierarchy import Hierarchy

        try:
            label: str | None = Hierarchy.default().get(wnid).label
        except ImagenetError:
            label = None
        try:
            index = releases.ilsvrc_index(wnid)
        except (ImagenetError, OSError):
            index = None
        return label, index
