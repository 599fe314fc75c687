"""``imagenet bbox``: convert, count, draw and crop ImageNet's bounding boxes.

Each command is one function, its options declared with ``cli.params``; it returns
the exit code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from ..bbox import FORMATS
from .common import (
    FormatOpt,
    NoHeaderOpt,
    QuietOpt,
    ReleaseOpt,
    SchedulerOpt,
    WorkersOpt,
    batch_size_opt,
)
from .output import (
    Format,
    GuardedStream,
    Outcome,
    counted,
    emit_json,
    emit_rows,
    messages,
    progress,
)
from .params import Arg, Opt

if TYPE_CHECKING:
    from ..bbox.convert import Source

if TYPE_CHECKING:
    BboxFormat = str
else:  # the choice of --format, made of the one list the core checks against
    BboxFormat = StrEnum("BboxFormat", {f: f for f in FORMATS})

InputsArg = Annotated[
    list[str] | None,
    Arg(
        metavar="INPUT",
        help="XML files, folders (recursive), .tar/.tar.gz/.tgz archives, or - (paths on stdin).",
        show_default=False,
    ),
]
WnidOpt = Annotated[
    list[str] | None,
    Opt(
        "--wnid",
        help="Only boxes of this synset (repeatable). With no INPUT: read its archive "
        "kept in the cache by 'imagenet bbox fetch'.",
        show_default=False,
    ),
]
UnderOpt = Annotated[
    str | None,
    Opt(
        "--under",
        help="Only boxes of synsets below this one (itself included).",
        metavar="ID",
        show_default=False,
    ),
]
ImagesOpt = Annotated[
    str | None,
    Opt(
        "--images",
        help="Folder of the images: read an image's size when its XML lacks it.",
        metavar="DIR",
        show_default=False,
    ),
]
ClipOpt = Annotated[bool, Opt("--clip", help="Clip boxes past the image edge to the image.")]
StrictOpt = Annotated[bool, Opt("--strict", help="Stop at the first bad file.")]
MaxBytesOpt = Annotated[
    int, Opt("--max-bytes", help="Refuse XML files larger than this.", metavar="BYTES", min=1)
]


def _workers(value: int) -> int:
    from .. import config
    from ..bbox.engine import worker_count

    return worker_count(int(config.get("workers", value or None)))


def _source(
    inputs: list[str] | None,
    wnid: list[str] | None,
    under: str | None,
    release: str | None,
    images: str | None,
    clip: bool,
    strict: bool,
    max_bytes: int,
    workers: int,
    normalize: bool = False,
) -> Source:
    from ..bbox.convert import Source
    from ..ids import expand_stdin, stdin_once

    stdin_once({"INPUT": inputs, "--wnid": wnid})
    wnids = list(expand_stdin(wnid)) if wnid else []
    return Source(
        inputs=inputs or [],
        wnids=wnids,
        under=under,
        release=release,
        clip=clip,
        normalize=normalize,
        images=images or None,
        max_bytes=max_bytes,
        workers=_workers(workers),
        strict=strict,
    )


@contextlib.contextmanager
def _pipe_safe() -> Iterator[None]:
    """A closed stdout (``| head``) ends the command as SIGPIPE would, but only after
    the worker pool is shut down (a process killed outright would orphan it)."""
    if not hasattr(signal, "SIGPIPE"):  # pragma: no cover - Windows
        yield
        return
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        yield
    except BrokenPipeError:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())  # nothing more to flush at exit
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    finally:
        signal.signal(signal.SIGPIPE, previous)


def _warn(quiet: bool) -> Callable[[str], None]:
    return (lambda text: None) if quiet else messages.warn


def convert(
    inputs: InputsArg = None,
    fmt: Annotated[
        BboxFormat,
        Opt("--format", "-f", help="Output format.", case_sensitive=False),
    ] = BboxFormat("tsv"),
    output: Annotated[
        str | None,
        Opt(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file ('-': stdout).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        str | None, Opt("--out", metavar="DIR", help="Output folder (-f yolo).", show_default=False)
    ] = None,
    keep_empty: Annotated[
        bool,
        Opt("--keep-empty", help="Also images without boxes (csv/tsv: one row, empty box fields)."),
    ] = False,
    normalize: Annotated[
        bool,
        Opt("--normalize", help="Coordinates divided by the image width and height (0-1)."),
    ] = False,
    clip: ClipOpt = False,
    images: ImagesOpt = None,
    with_names: Annotated[
        bool, Opt("--with-names", help="Add each wnid's name and ILSVRC-2012 class index.")
    ] = False,
    wnid: WnidOpt = None,
    under: UnderOpt = None,
    release: ReleaseOpt = None,
    strict: StrictOpt = False,
    workers: WorkersOpt = 0,
    max_bytes: MaxBytesOpt = 1_000_000,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
    scheduler: SchedulerOpt = None,
    batch_size: Annotated[int | None, batch_size_opt("512; 1,000 on a cluster")] = None,
) -> int:
    """Convert bounding-box XML files to csv, tsv, json, jsonl, COCO, YOLO or Kaggle LOC.

    One row per box: image, folder, wnid, xmin, ymin, xmax, ymax, width, height, depth,
    truncated, difficult, pose, source. Coordinates are pixels as the XML writes them
    (PASCAL VOC corners, inclusive) unless --normalize or --clip. Known quirks are
    repaired with a warning; a bad file gets one error line and the rest goes on
    (exit 1).

    With --scheduler the files are parsed on a Dask cluster (the workers read INPUT
    files by path: the same paths must be visible on every worker) and the output is
    the same as a local run's.

    Example: imagenet bbox convert ILSVRC2012_bbox_val_v3.tgz -f coco -o val.json

    Example: imagenet bbox convert Annotation/ -f csv -o boxes.csv --scheduler tcp://head:8786
    """
    from ..bbox.convert import ConvertRequest
    from ..bbox.convert import convert as run_convert
    from ..drivers import resolve_scheduler

    src = _source(inputs, wnid, under, release, images, clip, strict, max_bytes, workers, normalize)
    src.scheduler = resolve_scheduler(scheduler)
    src.batch_size = batch_size
    req = ConvertRequest(
        source=src,
        fmt=str(fmt).lower(),
        output=output,
        out_dir=out or None,
        with_names=with_names,
        keep_empty=keep_empty,
        header=not no_header,
    )
    outcome = Outcome()
    # The writers start with their header: it is held back until the first batch is
    # done, so a bad --under, --release or --wnid leaves stdout empty.
    stdout = GuardedStream(sys.stdout, held=True)
    with _pipe_safe(), progress("converting", quiet=quiet) as advance:

        def started(done: int, total: int | None = None, text: str = "") -> None:
            stdout.release()
            advance(done, total, text)

        tally = run_convert(
            req,
            stdout,  # type: ignore[arg-type]
            on_bad=outcome.fail,
            on_quirk=_warn(quiet),
            progress=started,
            on_missing=outcome.fail,
        )
        stdout.release()
        stdout.flush()
    if not quiet and (output not in (None, "-") or out):
        messages.info(
            f"{counted(tally.files, 'file')}, {counted(tally.images, 'image')}, "
            f"{counted(tally.boxes, 'box', 'boxes')}, {tally.bad:,} bad"
        )
    return int(outcome.code)


def stats(
    inputs: InputsArg = None,
    wnid: WnidOpt = None,
    under: UnderOpt = None,
    release: ReleaseOpt = None,
    images: ImagesOpt = None,
    strict: StrictOpt = False,
    workers: WorkersOpt = 0,
    max_bytes: MaxBytesOpt = 1_000_000,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Count images, boxes, boxes per image, classes, box sizes and quirks.

    Rows of section, key, value, name; -f json gives one document.

    Example: imagenet bbox stats ILSVRC2012_bbox_train_v2.tar.gz --release imagenette
    """
    from ..bbox.convert import iter_annotations
    from ..bbox.engine import Names
    from ..bbox.stats import BboxStats

    src = _source(inputs, wnid, under, release, images, False, strict, max_bytes, workers)
    outcome = Outcome()
    found = BboxStats()
    with (
        progress("reading", quiet=quiet) as advance,
        contextlib.closing(
            iter_annotations(
                src,
                on_bad=outcome.fail,
                on_quirk=lambda text: None,
                progress=advance,
                on_missing=outcome.fail,
            )
        ) as anns,
    ):
        for ann in anns:
            found.add(ann)
    found.files, found.bad_files = src.tally.files, src.tally.bad
    rows = found.rows(Names())
    if fmt == Format.json:
        emit_json(rows)
    else:
        emit_rows(rows, ["section", "key", "value", "name"], fmt, no_header=no_header, id_key="key")
    return int(outcome.code)


def draw(
    image: Annotated[str, Arg(help="The image.", show_default=False)],
    xml: Annotated[
        str | None,
        Arg(
            help="Its annotation file [default: beside the image, or under --annotations].",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str, Opt("--output", "-o", metavar="FILE", help="The picture to write (.png, .jpg ...).")
    ] = "boxes.png",
    annotations: Annotated[
        str | None,
        Opt(
            "--annotations",
            metavar="DIR",
            help="Folder holding the annotation files.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> int:
    """Draw an image's boxes and class names on it.

    Example: imagenet bbox draw n01440764_18.JPEG --annotations Annotation/ -o fish.png
    """
    from ..bbox.draw import draw as draw_boxes
    from ..bbox.engine import Names

    done = draw_boxes(
        Path(image),
        Path(output),
        Path(xml) if xml else None,
        annotations=Path(annotations) if annotations else None,
        names=Names(),
    )
    if not quiet:
        for quirk in done.quirks:
            messages.warn(f"{done.xml}: {quirk}")
        messages.info(f"{done.output}: {counted(done.boxes, 'box', 'boxes')} from {done.xml}")
    return 0


def crop(
    inputs: InputsArg = None,
    images: Annotated[str, Opt("--images", metavar="DIR", help="Folder of the images.")] = ".",
    out: Annotated[
        str, Opt("--out", metavar="DIR", help="Folder for the crops: OUT/<wnid>/<image>_<k>.jpg.")
    ] = "crops",
    margin: Annotated[
        int, Opt("--margin", metavar="PIXELS", help="Pixels added around each box.", min=0)
    ] = 0,
    min_size: Annotated[
        int,
        Opt(
            "--min-size",
            metavar="PIXELS",
            help="Skip boxes whose width or height is below this (pixels).",
            min=0,
        ),
    ] = 0,
    clip: ClipOpt = False,
    wnid: WnidOpt = None,
    under: UnderOpt = None,
    release: ReleaseOpt = None,
    strict: StrictOpt = False,
    workers: WorkersOpt = 0,
    max_bytes: MaxBytesOpt = 1_000_000,
    quiet: QuietOpt = False,
) -> int:
    """Cut every box out of its image into OUT/<wnid>/<image>_<k>.jpg (k from 0).

    Example: imagenet bbox crop Annotation/ --images train/ --out crops/ --margin 8
    """
    from ..bbox.convert import iter_annotations
    from ..bbox.crop import CropOptions
    from ..bbox.crop import crop as crop_boxes

    src = _source(inputs, wnid, under, release, images, clip, strict, max_bytes, workers)
    # Parsing is light beside decoding and encoding JPEGs: it stays in this process
    # and the workers crop (one pool, never a pool forked beside another).
    crop_workers, src.workers = src.workers, 1
    opts = CropOptions(images=images, out=out, margin=margin, min_size=min_size)
    outcome = Outcome()
    written = skipped = 0
    anns = iter_annotations(
        src, on_bad=outcome.fail, on_quirk=_warn(quiet), on_missing=outcome.fail
    )
    with (
        progress("cropping", quiet=quiet) as advance,
        contextlib.closing(
            crop_boxes(anns, opts, workers=crop_workers, progress=advance)
        ) as results,
    ):
        for result in results:
            written += result.written
            skipped += result.skipped
            for line in result.refused:
                outcome.fail(f"{result.source}: {line}")
            if result.error:
                outcome.fail(f"{result.source}: {result.error}")
    if not quiet:
        messages.info(
            f"{counted(written, 'crop')} written to {out}, "
            f"{counted(skipped, 'box', 'boxes')} under --min-size skipped"
        )
    return int(outcome.code)
