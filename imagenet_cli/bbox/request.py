"""``bbox convert`` and ``bbox crop`` as one call each: a typed request in
(:class:`BboxConvertRequest`, :class:`BboxCropRequest`), a summary out
(:class:`ConvertSummary`, :class:`CropSummary`); what a run meets as it goes (a bad
file, a quirk, a missing archive, progress) goes to a :class:`BboxWatch`.

Settings are resolved here, once: ``workers`` (option, else ``IMAGENET_WORKERS``, else
the config file, else one per core) and the scheduler address (option, else
``IMAGENET_SCHEDULER``, else the config file); the cluster itself is opened by the
engine for the parsing only (see :func:`~.convert.convert`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Protocol

from ..errors import NotFoundError
from .convert import ConvertRequest, Source, Tally
from .parse import MAX_BYTES

Progress = Callable[[int, int | None, str], None]


class BboxWatch(Protocol):
    """What a run tells as it goes (the face shows it)."""

    def bad(self, text: str) -> None:
        """A bad file or image, one line; the run goes on."""

    def quirk(self, text: str) -> None:
        """A file read with a repair or an oddity, one line."""

    def missing(self, error: NotFoundError) -> None:
        """An input (or a synset's cached archive) that is not there; the others are read."""

    def working(self) -> AbstractContextManager[Progress]:
        """The work begins: its progress callback ``(advance, total, text)``."""


class Unwatched:
    """A :class:`BboxWatch` that shows nothing: it keeps a line on each bad file and
    missing input in :attr:`problems`, and drops the quirks."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, text: str) -> None:
        self.problems.append(text)

    def quirk(self, text: str) -> None:
        pass

    def missing(self, error: NotFoundError) -> None:
        self.problems.append(str(error))

    @contextlib.contextmanager
    def working(self) -> Iterator[Progress]:
        yield lambda advance, total, text: None


@dataclass(frozen=True)
class SourceRequest:
    """What to read, as ``bbox convert``, ``stats`` and ``crop`` are asked."""

    inputs: Sequence[str] | None = None  # files, folders, archives; '-' reads stdin
    wnid: Sequence[str] | None = None  # with no inputs: these synsets' cached archives
    under: str | None = None
    release: str | None = None
    images: str | None = None
    clip: bool = False
    normalize: bool = False
    strict: bool = False
    workers: int = 0  # 0: IMAGENET_WORKERS, the config file, else one per core
    max_bytes: int = MAX_BYTES

    def source(self) -> Source:
        """The engine's :class:`~.convert.Source`, stdin read and ``workers`` resolved."""
        from .. import config
        from ..ids import expand_stdin, stdin_once
        from .engine import worker_count

        stdin_once({"INPUT": self.inputs, "--wnid": self.wnid})
        return Source(
            inputs=list(self.inputs or []),
            wnids=list(expand_stdin(self.wnid)) if self.wnid else [],
            under=self.under,
            release=self.release,
            clip=self.clip,
            normalize=self.normalize,
            images=self.images or None,
            max_bytes=self.max_bytes,
            workers=worker_count(int(config.get("workers", self.workers or None))),
            strict=self.strict,
        )


@dataclass(frozen=True)
class BboxConvertRequest(SourceRequest):
    """Everything ``imagenet bbox convert`` was asked to do."""

    fmt: str = "tsv"
    output: str | None = None  # a file; None or '-': the stream given to run_convert
    out: str | None = None  # -f yolo: a folder
    keep_empty: bool = False
    with_names: bool = False
    no_header: bool = False
    scheduler: str | None = None  # a Dask scheduler address, local or local:N
    batch_size: int | None = None


@dataclass(frozen=True)
class ConvertSummary:
    """What a conversion went through."""

    tally: Tally
    to_file: bool  # written to -o FILE or --out DIR (not to the stream)


def run_convert(
    request: BboxConvertRequest, stdout: IO[str], watch: BboxWatch | None = None
) -> ConvertSummary:
    """Convert what ``request`` names; records to ``stdout`` unless it names a file."""
    watch = watch or Unwatched()
    from ..drivers import resolve_scheduler
    from .convert import convert

    src = request.source()
    src.batch_size = request.batch_size
    req = ConvertRequest(
        source=src,
        fmt=str(request.fmt).lower(),
        output=request.output,
        out_dir=request.out or None,
        with_names=request.with_names,
        keep_empty=request.keep_empty,
        header=not request.no_header,
        scheduler=resolve_scheduler(request.scheduler),
    )
    with watch.working() as progress:
        tally = convert(
            req,
            stdout,
            on_bad=watch.bad,
            on_quirk=watch.quirk,
            progress=progress,
            on_missing=watch.missing,
        )
    return ConvertSummary(tally, request.output not in (None, "-") or bool(request.out))


@dataclass(frozen=True)
class BboxCropRequest(SourceRequest):
    """Everything ``imagenet bbox crop`` was asked to do."""

    images: str | None = "."
    out: str = "crops"
    margin: int = 0
    min_size: int = 0


@dataclass(frozen=True)
class CropSummary:
    """What a crop run did."""

    written: int
    skipped: int  # boxes under min_size
    out: str


def run_crop(request: BboxCropRequest, watch: BboxWatch | None = None) -> CropSummary:
    """Cut every box ``request`` names out of its image into ``out/<wnid>/``."""
    watch = watch or Unwatched()
    from .convert import iter_annotations
    from .crop import CropOptions, crop

    src = request.source()
    # Parsing is light beside decoding and encoding JPEGs: it stays in this process
    # and the workers crop (one pool, never a pool forked beside another).
    crop_workers, src.workers = src.workers, 1
    images = request.images if request.images is not None else "."
    opts = CropOptions(images=images, out=request.out, margin=request.margin,
                       min_size=request.min_size)  # fmt: skip
    anns = iter_annotations(src, on_bad=watch.bad, on_quirk=watch.quirk, on_missing=watch.missing)
    written = skipped = 0
    with (
        watch.working() as progress,
        contextlib.closing(crop(anns, opts, workers=crop_workers, progress=progress)) as results,
    ):
        for result in results:
            written += result.written
            skipped += result.skipped
            for line in result.refused:
                watch.bad(f"{result.source}: {line}")
            if result.error:
                watch.bad(f"{result.source}: {result.error}")
    return CropSummary(written, skipped, request.out)
