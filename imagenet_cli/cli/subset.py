"""``imagenet subset``: carve class subsets out of a local ImageNet copy.

The bodies live in ``subset_actions`` (Typer-free, shared with the fast path);
this module only declares the options.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import subset_actions as act
from .cluster_opts import SchedulerOpt, batch_size_opt
from .common import DryRunOpt, FormatOpt, NoHeaderOpt, QuietOpt, ReleaseOpt, SeedOpt, WorkersOpt

app = typer.Typer(
    # Help texts are plain text: '[default: ...]' must show, not vanish as markup.
    rich_markup_mode=None,
    help="Carve class subsets (Imagenette, dogs, K random classes) out of a local ImageNet copy.",
    epilog="Example: imagenet subset extract --from train/ --to nette --preset imagenette",
    no_args_is_help=True,
)


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


_SEL = "Selection"
_IMG = "Images"
_SRC = "Source"


@app.command()
def extract(
    sources: Annotated[
        list[str],
        typer.Option(
            "--from",
            help="Source: train folder, ILSVRC2012_img_train.tar, val folder or tar, "
            "Kaggle or fetch folder (repeat for train + val).",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ],
    dst: Annotated[str, typer.Option("--to", help="Target folder.", show_default=False)],
    layout: Annotated[
        str | None,
        typer.Option(
            "--layout",
            help="Source layout: imagefolder, fetch, kaggle, train-tar, val-folder, val-tar "
            "[default: detected].",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ] = None,
    val_labels: Annotated[
        str | None,
        typer.Option(
            "--val-labels",
            help="Validation labels: LOC_val_solution.csv, ILSVRC2012_validation_ground_truth.txt, "
            "a wnid per line, or a folder of bbox XMLs [default: built in].",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ] = None,
    devkit_synsets: Annotated[
        str | None,
        typer.Option(
            "--devkit-synsets",
            help="With a devkit ground-truth file: the wnids in devkit class-id order, "
            "one per line.",
            show_default=False,
            rich_help_panel=_SRC,
        ),
    ] = None,
    wnid: Annotated[
        list[str] | None,
        typer.Option(
            "--wnid",
            help="A class (any synset id form; '-': stdin); repeatable.",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    wnids: Annotated[
        list[str] | None,
        typer.Option(
            "--wnids",
            help="A file of class ids, one per line ('-': stdin).",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    preset: Annotated[
        list[str] | None,
        typer.Option(
            "--preset",
            help="A class list (see 'imagenet subset presets').",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    under: Annotated[
        list[str] | None,
        typer.Option(
            "--under",
            help="Every class of the source under this synset, as a wnid, offset or nltk name "
            "(e.g. n02084071, 02084071, dog.n.01), or '-' to read it from stdin.",
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    classes: Annotated[
        int | None,
        typer.Option(
            "--classes",
            help="K classes chosen at random (seeded).",
            min=1,
            show_default=False,
            rich_help_panel=_SEL,
        ),
    ] = None,
    release: ReleaseOpt = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Skip named classes the source lacks (else exit 3).",
            rich_help_panel=_SEL,
        ),
    ] = False,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="train, val or both [default: train, or val for a val-only source].",
            show_default=False,
        ),
    ] = None,
    per_class: Annotated[
        int | None,
        typer.Option(
            "--per-class", help="Train images per class [default: all].", min=1, show_default=False
        ),
    ] = None,
    val_per_class: Annotated[
        int | None,
        typer.Option(
            "--val-per-class",
            help="Val images per class [default: all].",
            min=1,
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = 0,
    resize: Annotated[
        int | None,
        typer.Option(
            "--resize",
            help="Resize to N px (see --resize-mode); writes JPEG.",
            min=1,
            show_default=False,
            rich_help_panel=_IMG,
        ),
    ] = None,
    resize_mode: Annotated[
        str,
        typer.Option(
            "--resize-mode",
            help="shorter (shorter side = N), longer (longer side = N), center-crop (N x N).",
            rich_help_panel=_IMG,
        ),
    ] = "shorter",
    quality: Annotated[
        int,
        typer.Option(
            "--quality",
            help="JPEG quality of resized images.",
            min=1,
            max=100,
            rich_help_panel=_IMG,
        ),
    ] = 90,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="Without --resize: copy, hardlink or symlink the original bytes.",
            rich_help_panel=_IMG,
        ),
    ] = "copy",
    bbox: Annotated[
        str | None,
        typer.Option(
            "--bbox",
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
) -> None:
    """Copy, link or resize chosen classes into DST/train/<wnid>/, DST/val/<wnid>/.

    Writes DST/classes.tsv (index, wnid, name) and DST/manifest.csv (split, wnid,
    source, path, bytes, width, height). Reruns skip finished files; the same seed
    gives the same subset whatever -j is. --dry-run prints the plan per class.
    With --scheduler the images are written by the workers of a Dask cluster: the
    source and DST must be at the same paths on every worker (a shared file system).

    Example: imagenet subset extract --from ILSVRC2012_img_train.tar --to nette --preset imagenette

    Example: imagenet synset descendants dog.n.01 -r ilsvrc2012 -f ids |
    imagenet subset extract --wnids - --from train --to dogs --per-class 5 --resize 160
    """
    _exit(act.extract(**locals()))  # every option, by its name


@app.command()
def presets(fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
    """List the class lists a subset can be drawn from, with counts and sources.

    Example: imagenet subset presets -f tsv
    """
    _exit(act.presets(fmt=fmt, no_header=no_header))


@app.command()
def show(
    name: Annotated[str, typer.Argument(metavar="PRESET", help="A preset or release name.")],
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """Print a preset's classes: wnid, index (its class index in the subset), name.

    Example: imagenet subset show imagewoof -f ids | head -3
    """
    _exit(act.show(name=name, fmt=fmt, no_header=no_header))
