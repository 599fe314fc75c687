"""``imagenet bbox convert`` as a library call: inputs in, one format out.

>>> req = ConvertRequest(Source(inputs=["ann/"]), fmt="csv")
>>> tally = convert(req, sys.stdout, on_bad=print, on_quirk=print)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, cast

from ..cache import atomic_write
from ..drivers import session
from ..errors import ItemError, NotFoundError, UsageError
from . import FORMATS
from .engine import Chunk, ChunkSpec, Names, ParseOptions, chunks, results, select, selection
from .inputs import Item, cached_archive, iter_items
from .outputs import cannot_write, check_file, make_folder
from .parse import MAX_BYTES
from .records import Annotation, BadFile
from .writers import CHUNK_FORMATS, ChunkWriter, make_writer, yolo_check

if TYPE_CHECKING:
    from ..drivers.cluster import Cluster

Progress = Callable[[int, int | None, str], None]
Report = Callable[[str], None]
ReportMissing = Callable[[NotFoundError], None]


@dataclass
class Tally:
    """What a run went through."""

    files: int = 0
    images: int = 0
    boxes: int = 0
    bad: int = 0
    quirks: int = 0


@dataclass
class Source:
    """What to read and how: shared by convert, stats and crop."""

    inputs: Sequence[str] = ()
    wnids: Sequence[str] = ()
    under: str | None = None
    release: str | None = None
    clip: bool = False
    normalize: bool = False
    images: str | None = None
    need_size: bool = False
    max_bytes: int = MAX_BYTES
    workers: int = 1
    scheduler: Cluster | None = None  # an open Dask cluster: parse on it
    batch_size: int | None = None  # files per batch (None: the engine's default)
    strict: bool = False
    stdin: IO[str] | None = None
    tally: Tally = field(default_factory=Tally)


# A filter set is sent with every batch of a chunked run; past this many wnids
# (a large --under subtree) the writer filters instead.
CHUNK_MAX_ALLOWED = 4096


@dataclass
class _Plan:
    allowed: frozenset[str] | None
    items: Iterator[Item]
    opts: ParseOptions


def _prepare(src: Source, on_missing: ReportMissing | None = None) -> _Plan:
    allowed = selection(src.wnids, src.under, src.release)
    inputs = list(src.inputs)
    if not inputs:
        if not src.wnids:
            raise UsageError("give INPUT files, folders or archives, or --wnid for cached archives")
        assert allowed is not None
        missing: list[NotFoundError] = []
        for wnid in sorted(allowed):
            try:
                inputs.append(str(cached_archive(wnid)))
            except NotFoundError as err:
                missing.append(err)
        if missing and (on_missing is None or src.strict or not inputs):
            raise NotFoundError("\n".join(map(str, missing)))
        for problem in missing:
            assert on_missing is not None
            on_missing(problem)
    inputs = _present(inputs, src.strict, on_missing)
    if src.images and not os.path.isdir(src.images):
        raise NotFoundError(f"--images {src.images}: no such folder")
    opts = ParseOptions(
        max_bytes=src.max_bytes,
        clip=src.clip,
        normalize=src.normalize,
        images=src.images,
        need_size=src.need_size or src.normalize,
    )
    items = iter_items(inputs, max_bytes=src.max_bytes, stdin=src.stdin)
    return _Plan(allowed, items, opts)


def _present(inputs: list[str], strict: bool, on_missing: ReportMissing | None) -> list[str]:
    """The INPUT paths that exist. Each one that does not is a :class:`NotFoundError`
    (exit 3): raised before any work when nothing is left (or with ``strict``), else
    handed to ``on_missing`` while the rest is read, as a missing cached archive is.
    Without ``on_missing``, a missing path is a bad file like any other."""
    missing = [NotFoundError(f"{p}: no such file or folder") for p in inputs if _absent(p)]
    if not missing or on_missing is None:
        return inputs
    present = [p for p in inputs if not _absent(p)]
    if strict or not present:
        raise NotFoundError("\n".join(map(str, missing)))
    for problem in missing:
        on_missing(problem)
    return present


def _absent(path: str) -> bool:
    return path != "-" and not os.path.lexists(path)


def iter_annotations(
    src: Source,
    *,
    on_bad: Report,
    on_quirk: Report,
    progress: Progress | None = None,
    on_missing: ReportMissing | None = None,
) -> Generator[Annotation, None, None]:
    """The annotations the inputs hold, filtered, in a deterministic order.

    A bad file is handed to ``on_bad`` (one line: source, line, reason) and skipped;
    with ``strict`` it raises :class:`ItemError` instead. Each repaired or odd quirk
    goes to ``on_quirk``, once per file and kind. With no inputs, a ``--wnid`` whose
    archive is not in the cache goes to ``on_missing`` and the others are read;
    without ``on_missing``, under ``strict``, or when none is cached, it raises
    :class:`NotFoundError` (a line for each).
    """
    planned = _prepare(src, on_missing)
    return _annotations(src, planned, on_bad=on_bad, on_quirk=on_quirk, progress=progress)


def _annotations(
    src: Source,
    planned: _Plan,
    *,
    on_bad: Report,
    on_quirk: Report,
    progress: Progress | None = None,
) -> Generator[Annotation, None, None]:
    allowed = planned.allowed
    tally = src.tally
    found = results(
        planned.items,
        planned.opts,
        workers=src.workers,
        scheduler=src.scheduler,
        batch_size=src.batch_size,
        progress=progress,
    )
    # closing(): stopping early (a bad file under --strict, the caller closing this
    # generator) stops the workers here and now, locally or on the cluster.
    with contextlib.closing(found):
        for res in found:
            tally.files += 1
            if type(res) is BadFile:
                tally.bad += 1
                if src.strict:
                    raise ItemError(f"{res} (stopped: --strict)")
                on_bad(str(res))
                continue
            assert isinstance(res, Annotation)
            if res.quirks:
                for quirk in res.quirks:
                    tally.quirks += 1
                    on_quirk(f"{res.source}: {quirk}")
            ann = select(res, allowed)
            if ann is not None:
                yield ann


def _chunks(
    src: Source,
    planned: _Plan,
    spec: ChunkSpec,
    *,
    on_bad: Report,
    on_quirk: Report,
    progress: Progress | None = None,
) -> Generator[Chunk, None, None]:
    """:func:`_annotations` for the streaming formats: each batch comes back as the
    text its writer appends, its notes reported in the same order."""
    tally = src.tally
    found = chunks(
        planned.items,
        planned.opts,
        spec,
        workers=src.workers,
        scheduler=src.scheduler,
        batch_size=src.batch_size,
        progress=progress,
    )
    with contextlib.closing(found):
        for chunk in found:
            tally.files += chunk.files
            tally.images += chunk.images
            tally.boxes += chunk.boxes
            for bad, line in chunk.notes:
                if bad:
                    tally.bad += 1
                    on_bad(line)
                else:
                    tally.quirks += 1
                    on_quirk(line)
            yield chunk


@dataclass
class ConvertRequest:
    """One conversion: the source, the format and where it goes."""

    source: Source
    fmt: str = "tsv"
    output: str | None = None  # a file (None or '-': the stdout stream given)
    out_dir: str | None = None  # yolo
    with_names: bool = False
    keep_empty: bool = False
    header: bool = True
    scheduler: str | None = None  # a Dask scheduler address: parse on that cluster


def check(req: ConvertRequest) -> None:
    """Refuse option combinations that cannot work (UsageError)."""
    if req.fmt not in FORMATS:
        raise UsageError(f"unknown format {req.fmt} (choose from {', '.join(FORMATS)})")
    if req.fmt == "yolo":
        if not req.out_dir:
            raise UsageError("-f yolo writes a folder: give --out DIR")
        if req.source.normalize:
            raise UsageError("-f yolo is always normalised: leave out --normalize")
    elif req.out_dir:
        raise UsageError("--out DIR is for -f yolo; use -o FILE for other formats")
    if req.fmt == "coco" and req.source.normalize:
        raise UsageError("COCO boxes are in pixels: leave out --normalize")


def convert(
    req: ConvertRequest,
    stdout: IO[str],
    *,
    on_bad: Report,
    on_quirk: Report,
    progress: Progress | None = None,
    on_missing: ReportMissing | None = None,
) -> Tally:
    """Convert the source's annotations to ``req.fmt``; returns what went through.

    ``-o FILE`` is written atomically: complete, or not at all. ``on_missing``: as
    for :func:`iter_annotations`.
    """
    check(req)
    if req.fmt == "yolo":
        req.source.need_size = True
        # YOLO coordinates are fractions of the image, 0-1: ultralytics drops every
        # label of an image with one outside, so a box past the edge is clipped.
        req.source.clip = True
    names = Names()
    tally = req.source.tally
    # Before any output: a run that can read nothing leaves no file behind.
    planned = _prepare(req.source, on_missing)
    with session(req.scheduler) as cluster, _output(req, stdout) as out:
        opened = cluster if cluster is not None else req.source.scheduler
        source = replace(req.source, scheduler=opened)  # the same tally
        writer = make_writer(
            req.fmt,
            out,
            req.out_dir,
            header=req.header,
            keep_empty=req.keep_empty,
            names=names if req.with_names else None,
            category_names=names,
        )
        chunked = (
            req.fmt in CHUNK_FORMATS
            and not req.with_names  # names come from the synset index, read here
            and not source.strict  # stops at the first bad file, mid-batch
            and (planned.allowed is None or len(planned.allowed) <= CHUNK_MAX_ALLOWED)
        )
        # closing(): on any error the worker pool is shut down here and now.
        if chunked:
            appender = cast(ChunkWriter, writer)  # every CHUNK_FORMATS writer is one
            spec = ChunkSpec(req.fmt, req.keep_empty, planned.allowed)
            with contextlib.closing(
                _chunks(source, planned, spec, on_bad=on_bad, on_quirk=on_quirk, progress=progress)
            ) as parts:
                for chunk in parts:
                    appender.write_chunk(chunk.text, chunk.images)
        else:
            with contextlib.closing(
                _annotations(source, planned, on_bad=on_bad, on_quirk=on_quirk, progress=progress)
            ) as anns:
                for found in anns:
                    ann = _yolo_ready(found, source, on_bad) if req.fmt == "yolo" else found
                    if ann is None:
                        continue
                    if ann.boxes or req.keep_empty:
                        tally.images += 1
                        tally.boxes += len(ann.boxes)
                    writer.write(ann)
        writer.close()
    return tally


def _yolo_ready(ann: Annotation, src: Source, on_bad: Report) -> Annotation | None:
    """``ann`` with what YOLO cannot write refused (each reported as a bad file)."""
    checked, problems = yolo_check(ann)
    if problems:
        src.tally.bad += 1
        if src.strict:
            raise ItemError(f"{problems[0]} (stopped: --strict)")
        for line in problems:
            on_bad(line)
    return checked


@contextlib.contextmanager
def _output(req: ConvertRequest, stdout: IO[str]) -> Iterator[IO[str] | None]:
    # An OSError met in here is the output's (reading errors are each file's own,
    # reported as bad files): one line naming the output, exit 2.
    if req.fmt == "yolo":
        assert req.out_dir is not None
        make_folder("--out", req.out_dir)
        try:
            yield None
        except OSError as exc:
            raise cannot_write("--out", req.out_dir, exc) from None
    elif req.output in (None, "-"):
        yield stdout
        stdout.flush()
    else:
        assert req.output is not None
        check_file("-o", req.output)
        try:
            with atomic_write(req.output, "w") as fh:
                yield fh
        except OSError as exc:
            raise cannot_write("-o", req.output, exc) from None
