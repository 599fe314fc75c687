"""``imagenet subset``: carve class subsets out of a local ImageNet copy.

Each command is one function, its options declared with ``cli.params``; it returns
the exit code.
"""

from __future__ import annotations

from typing import Annotated

from .common import (
    DryRunOpt,
    FormatOpt,
    NoHeaderOpt,
    OutputFormat,
    OutputFormatOpt,
    QuietOpt,
    ReleaseOpt,
    SamplesPerShardOpt,
    SchedulerOpt,
    SeedOpt,
    ShardPrefixOpt,
    ShardSizeOpt,
    WorkersOpt,
    batch_size_opt,
)
from .output import emit_rows, messages, progress
from .params import Arg, Opt

_SEL = "Selection"
_IMG = "Images"
_SRC = "Source"


def extract(
    sources: Annotated[
        list[str],
        Opt(
            "--from",
            metavar="SOURCE",
            help="Source: train folder, ILSVRC2012_img_train.tar, val folder or tar, "
            "Kaggle or fetch folder, WebDataset shards or the hub's Parquet files "
            "(repeat for train + val).",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ],
    dst: Annotated[str, Opt("--to", metavar="DIR", help="Target folder.", show_default=False)],
    layout: Annotated[
        str | None,
        Opt(
            "--layout",
            help="Source layout: imagefolder, fetch, kaggle, train-tar, val-folder, val-tar, "
            "webdataset, hf-parquet [default: detected].",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ] = None,
    val_labels: Annotated[
        str | None,
        Opt(
            "--val-labels",
            metavar="FILE",
            help="Validation labels: LOC_val_solution.csv, ILSVRC2012_validation_ground_truth.txt, "
            "a wnid per line, or a folder of bbox XMLs [default: built in].",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ] = None,
    devkit_synsets: Annotated[
        str | None,
        Opt(
            "--devkit-synsets",
            metavar="FILE",
            help="With a devkit ground-truth file: the wnids in devkit class-id order, "
            "one per line.",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ] = None,
    wnid: Annotated[
        list[str] | None,
        Opt(
            "--wnid",
            help="A class (any synset id form; '-': stdin); repeatable.",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    wnids: Annotated[
        list[str] | None,
        Opt(
            "--wnids",
            metavar="FILE",
            help="A file of class ids, one per line ('-': stdin).",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    preset: Annotated[
        list[str] | None,
        Opt(
            "--preset",
            help="A class list, or an image list such as simclr-1pct "
            "(see 'imagenet subset presets').",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    images: Annotated[
        list[str] | None,
        Opt(
            "--images",
            metavar="FILE",
            help="A file of image names (n01440764_10026.JPEG, or paths ending in one), "
            "one per line ('-': stdin): only these images, of their classes.",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    under: Annotated[
        list[str] | None,
        Opt(
            "--under",
            metavar="ID",
            help="Every class of the source under this synset, as a wnid, offset or nltk name "
            "(e.g. n02084071, 02084071, dog.n.01), or '-' to read it from stdin.",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    classes: Annotated[
        int | None,
        Opt(
            "--classes",
            metavar="K",
            help="K classes chosen at random (seeded).",
            min=1,
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    release: ReleaseOpt = None,
    allow_missing: Annotated[
        bool,
        Opt(
            "--allow-missing",
            help="Skip named classes or images the source lacks (else exit 3).",
            rich_help_panel=_SEL,
        ),
    ] = False,
    split: Annotated[
        str | None,
        Opt(
            "--split",
            help="train, val or both [default: train, or val for a val-only source].",
            show_default=False,
        ),
    ] = None,
    per_class: Annotated[
        int | None,
        Opt(
            "--per-class", help="Train images per class [default: all].", min=1, show_default=False
        ),
    ] = None,
    val_per_class: Annotated[
        int | None,
        Opt(
            "--val-per-class",
            help="Val images per class [default: all].",
            min=1,
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = 0,
    resize: Annotated[
        int | None,
        Opt(
            "--resize",
            help="Resize to N px (see --resize-mode); writes JPEG.",
            min=1,
            show_default=False,
            rich_help_panel=_IMG,
        ),
    ] = None,
    resize_mode: Annotated[
        str,
        Opt(
            "--resize-mode",
            metavar="MODE",
            help="shorter (shorter side = N), longer (longer side = N), center-crop (N x N).",
            rich_help_panel=_IMG,
        ),
    ] = "shorter",
    quality: Annotated[
        int,
        Opt(
            "--quality",
            help="JPEG quality of resized images.",
            min=1,
            max=100,
            rich_help_panel=_IMG,
        ),
    ] = 90,
    mode: Annotated[
        str,
        Opt(
            "--mode",
            help="Without --resize: copy, hardlink or symlink the original bytes.",
            rich_help_panel=_IMG,
        ),
    ] = "copy",
    output_format: OutputFormatOpt = OutputFormat.folder,
    shard_size: ShardSizeOpt = None,
    samples_per_shard: SamplesPerShardOpt = None,
    prefix: ShardPrefixOpt = None,
    bbox: Annotated[
        str | None,
        Opt(
            "--bbox",
            metavar="PATH",
            help="Bounding-box XMLs, a folder or a tar(.gz) such as "
            "ILSVRC2012_bbox_train_v2.tar.gz; matching ones go to DST/bbox/<split>/.",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOpt = 0,
    scheduler: SchedulerOpt = None,
    batch_size: Annotated[int | None, batch_size_opt("64 on a cluster")] = None,
    dry_run: DryRunOpt = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Copy, link or resize chosen classes into DST/train/<wnid>/, DST/val/<wnid>/.

    Writes DST/classes.tsv (index, wnid, name) and DST/manifest.csv (split, wnid,
    source, path, bytes, width, height). Reruns skip finished files; the same seed
    gives the same subset whatever -j is. --dry-run prints the plan per class.
    --output-format webdataset writes DST/<split>/<prefix>-<split>-000000.tar shards
    and DST/<split>.json; parquet writes DST/data/<split>-00000-of-0000N.parquet
    (train shuffled across classes with --seed; reruns keep finished shards).
    With --scheduler the images are written by the workers of a Dask cluster: the
    source and DST must be at the same paths on every worker (a shared file system).

    Example: imagenet subset extract --from ILSVRC2012_img_train.tar --to nette --preset imagenette

    Example: imagenet subset extract --from train --to nette-wds --preset imagenette
    --output-format webdataset --shard-size 500M

    Example: imagenet synset descendants dog.n.01 -r ilsvrc2012 -f ids |
    imagenet subset extract --wnids - --from train --to dogs --per-class 5 --resize 160
    """
    from ..request import from_options
    from ..subset.extract import extract as run_extract
    from ..subset.request import ExtractRequest
    from .subset_render import show_summary

    request = from_options(ExtractRequest, locals()).request()
    messages.quiet = quiet
    with progress("extracting", quiet=quiet or dry_run) as bar:
        summary = run_extract(request, bar)
    return show_summary(summary, fmt, no_header, with_bbox=bool(request.bbox))


def presets(fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """List the class and image lists a subset can be drawn from, with counts and sources.

    Example: imagenet subset presets -f tsv
    """
    from ..subset.presets import PRESET_COLUMNS, catalog_rows

    emit_rows(
        catalog_rows(),
        PRESET_COLUMNS,
        fmt,
        no_header=no_header,
        id_key="name",  # what 'imagenet subset show' takes
    )
    return 0


def show(
    name: Annotated[str, Arg(metavar="PRESET", help="A preset or release name.")],
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> int:
    """Print a preset's classes: wnid, index (its class index in the subset), name.

    Example: imagenet subset show imagewoof -f ids | head -3
    """
    from ..subset.presets import preset_rows

    emit_rows(preset_rows(name), ["wnid", "index", "name"], fmt, no_header=no_header, title=name)
    return 0
