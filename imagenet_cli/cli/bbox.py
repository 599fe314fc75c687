"""``imagenet bbox``: convert, count, draw and crop ImageNet's bounding boxes.

The bodies live in ``bbox_actions`` (Typer-free, shared with the fast path);
this module only declares the options.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from ..bbox import FORMATS
from . import bbox_actions as act
from .cluster_opts import SchedulerOpt, batch_size_opt
from .common import FormatOpt, NoHeaderOpt, QuietOpt, ReleaseOpt, WorkersOpt

app = typer.Typer(
    # Help texts are plain text: '[default: ...]' must show, not vanish as markup.
    rich_markup_mode=None,
    help="Bounding boxes: convert ImageNet's XML files, count, draw and crop them.",
    epilog="Example: imagenet bbox convert Annotation/ -f csv -o boxes.csv",
    no_args_is_help=True,
)


if TYPE_CHECKING:
    BboxFormat = str
else:  # the choice of --format, made of the one list the core checks against
    BboxFormat = StrEnum("BboxFormat", {f: f for f in FORMATS})

InputsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="INPUT",
        help="XML files, folders (recursive), .tar/.tar.gz/.tgz archives, or - (paths on stdin).",
        show_default=False,
    ),
]
WnidOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--wnid",
        help="Only boxes of this synset (repeatable). With no INPUT: read its archive "
        "kept in the cache by 'imagenet bbox fetch'.",
        show_default=False,
    ),
]
UnderOpt = Annotated[
    str | None,
    typer.Option(
        "--under",
        help="Only boxes of synsets below this one (itself included).",
        show_default=False,
    ),
]
ImagesOpt = Annotated[
    str | None,
    typer.Option(
        "--images",
        help="Folder of the images: read an image's size when its XML lacks it.",
        show_default=False,
    ),
]
ClipOpt = Annotated[
    bool, typer.Option("--clip", help="Clip boxes past the image edge to the image.")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Stop at the first bad file.")]
MaxBytesOpt = Annotated[
    int, typer.Option("--max-bytes", help="Refuse XML files larger than this.", min=1)
]


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


@app.command()
def convert(
    inputs: InputsArg = None,
    fmt: Annotated[
        BboxFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = BboxFormat("tsv"),
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Write to this file ('-': stdout).", show_default=False
        ),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="Output folder (-f yolo).", show_default=False)
    ] = None,
    keep_empty: Annotated[
        bool,
        typer.Option(
            "--keep-empty", help="Also images without boxes (csv/tsv: one row, empty box fields)."
        ),
    ] = False,
    normalize: Annotated[
        bool,
        typer.Option(
            "--normalize", help="Coordinates divided by the image width and height (0-1)."
        ),
    ] = False,
    clip: ClipOpt = False,
    images: ImagesOpt = None,
    with_names: Annotated[
        bool, typer.Option("--with-names", help="Add each wnid's name and ILSVRC-2012 class index.")
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
) -> None:
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
    _exit(
        act.convert(
            inputs=inputs,
            fmt=str(fmt),
            output=output,
            out=out,
            keep_empty=keep_empty,
            normalize=normalize,
            clip=clip,
            images=images,
            with_names=with_names,
            wnid=wnid,
            under=under,
            release=release,
            strict=strict,
            workers=workers,
            max_bytes=max_bytes,
            no_header=no_header,
            quiet=quiet,
            scheduler=scheduler,
            batch_size=batch_size,
        )
    )


@app.command()
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
) -> None:
    """Count images, boxes, boxes per image, classes, box sizes and quirks.

    Rows of section, key, value, name; -f json gives one document.

    Example: imagenet bbox stats ILSVRC2012_bbox_train_v2.tar.gz --release imagenette
    """
    _exit(
        act.stats(
            inputs=inputs,
            wnid=wnid,
            under=under,
            release=release,
            images=images,
            strict=strict,
            workers=workers,
            max_bytes=max_bytes,
            fmt=fmt,
            no_header=no_header,
            quiet=quiet,
        )
    )


@app.command()
def draw(
    image: Annotated[str, typer.Argument(help="The image.", show_default=False)],
    xml: Annotated[
        str | None,
        typer.Argument(
            help="Its annotation file [default: beside the image, or under --annotations].",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="The picture to write (.png, .jpg ...).")
    ] = "boxes.png",
    annotations: Annotated[
        str | None,
        typer.Option(
            "--annotations", help="Folder holding the annotation files.", show_default=False
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Draw an image's boxes and class names on it.

    Example: imagenet bbox draw n01440764_18.JPEG --annotations Annotation/ -o fish.png
    """
    _exit(
        act.draw(
            image=image,
            xml=xml,
            output=output,
            annotations=annotations,
            quiet=quiet,
        )
    )


@app.command()
def crop(
    inputs: InputsArg = None,
    images: Annotated[str, typer.Option("--images", help="Folder of the images.")] = ".",
    out: Annotated[
        str, typer.Option("--out", help="Folder for the crops: OUT/<wnid>/<image>_<k>.jpg.")
    ] = "crops",
    margin: Annotated[
        int, typer.Option("--margin", help="Pixels added around each box.", min=0)
    ] = 0,
    min_size: Annotated[
        int,
        typer.Option(
            "--min-size", help="Skip boxes whose width or height is below this (pixels).", min=0
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
) -> None:
    """Cut every box out of its image into OUT/<wnid>/<image>_<k>.jpg (k from 0).

    Example: imagenet bbox crop Annotation/ --images train/ --out crops/ --margin 8
    """
    _exit(
        act.crop(
            inputs=inputs,
            images=images,
            out=out,
            margin=margin,
            min_size=min_size,
            clip=clip,
            wnid=wnid,
            under=under,
            release=release,
            strict=strict,
            workers=workers,
            max_bytes=max_bytes,
            quiet=quiet,
        )
    )
