"""``imagenet bbox``: convert, count, draw and crop ImageNet's bounding boxes.

Each command is one function, its options declared with ``cli.params``; it returns
the exit code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
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
    from ..bbox.request import BboxConvertRequest, run_convert
    from ..request import from_options
    from .bbox_render import BboxView, converted

    request = from_options(BboxConvertRequest, locals())
    # The writers start with their header: it is held back until the first batch is
    # done, so a bad --under, --release or --wnid leaves stdout empty.
    stdout = GuardedStream(sys.stdout, held=True)
    view = BboxView("converting", quiet, stdout)
    with _pipe_safe():
        summary = run_convert(request, stdout, view)  # type: ignore[arg-type]
    return converted(summary, view)


def _silent(text: str) -> None:
    """Quirks go unsaid: stats counts them."""


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
    from ..bbox.request import SourceRequest
    from ..bbox.stats import BboxStats
    from ..request import from_options

    src = from_options(SourceRequest, locals()).source()
    outcome = Outcome()
    found = BboxStats()
    with progress("reading", quiet=quiet) as advance:
        anns = iter_annotations(
            src, on_bad=outcome.fail, on_quirk=_silent, progress=advance, on_missing=outcome.fail
        )
        with contextlib.closing(anns):
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
    from ..bbox.request import BboxCropRequest, run_crop
    from ..request import from_options
    from .bbox_render import BboxView, cropped

    view = BboxView("cropping", quiet)
    return cropped(run_crop(from_options(BboxCropRequest, locals()), view), view)
