"""``imagenet eval``: score a model's predictions against ImageNet labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from .common import FormatOpt, NoHeaderOpt, QuietOpt
from .output import Format, Outcome, counted, emit_json, emit_rows, messages
from .params import Arg, Opt

if TYPE_CHECKING:
    from ..eval import Scores

PredictionsArg = Annotated[
    str,
    Arg(
        help="Predictions: Kaggle ImageId,PredictionString CSV, JSONL, or a .npy/.npz array "
        "of scores, one row per image ('-': stdin).",
        metavar="PREDICTIONS",
        show_default=False,
    ),
]
TruthOpt = Annotated[
    str | None,
    Opt(
        "--truth",
        help="val (built-in labels), real (the ReaL labels), a folder of images by class, "
        "or a label file [default: val].",
        metavar="TRUTH",
        show_default=False,
    ),
]
KOpt = Annotated[int, Opt("--k", help="Also report top-k accuracy for this k.", min=1)]
PerClassOpt = Annotated[
    bool, Opt("--per-class", help="A row per true class: top-1, top-k, images, name.")
]
ClassesOpt = Annotated[
    str | None,
    Opt(
        "--classes",
        help="Restrict the label space: imagenet-a, imagenet-r, a preset, or a file of ids; "
        "labels outside are dropped (array columns masked) before taking the top k.",
        metavar="CLASSES",
        show_default=False,
    ),
]
ByOpt = Annotated[
    list[str] | None,
    Opt(
        "--by",
        help="Also the figures of the images whose true class lies under this synset "
        "(repeatable).",
        metavar="SYNSET",
        show_default=False,
    ),
]
ImagesOpt = Annotated[
    str | None,
    Opt(
        "--images",
        help="The image of each row of an array, one name a line ('-': stdin) "
        "[default: the truth's order].",
        metavar="FILE",
        show_default=False,
    ),
]
PlotOpt = Annotated[
    str | None,
    Opt(
        "--plot",
        help="Draw per-class accuracy and mistake severity into this PNG file (needs matplotlib).",
        metavar="PNG",
        show_default=False,
    ),
]
EvalStrictOpt = Annotated[bool, Opt("--strict", help="Stop at the first bad row.")]


def eval_(
    predictions: PredictionsArg,
    truth: TruthOpt = None,
    classes: ClassesOpt = None,
    k: KOpt = 5,
    by: ByOpt = None,
    per_class: PerClassOpt = False,
    images: ImagesOpt = None,
    plot: PlotOpt = None,
    strict: EvalStrictOpt = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Score predictions: top-1 and top-k accuracy (fractions 0-1) over the images scored,
    and how far the top-1 mistakes are from the truth in WordNet.

    Labels are wnids, ILSVRC-2012 class indexes (0-999) or nltk names, best first.

    Example: imagenet eval preds.csv -f json
    """
    from ..errors import UsageError
    from ..eval import EvalRequest, evaluate
    from ..request import from_options

    if per_class and by and fmt != Format.json:
        raise UsageError("--per-class and --by each make a table: give one, or -f json for both")
    messages.quiet = quiet
    outcome = Outcome()
    scores = evaluate(from_options(EvalRequest, locals(), by=tuple(by or ())), outcome.fail)
    for note in scores.notes:
        messages.info(note)
    _warn_missing(scores)
    if fmt == Format.json:
        emit_json(_document(scores, per_class))
    elif per_class or by:
        messages.info(", ".join(f"{key} {_show(v)}" for key, v in scores.summary().items()))
        rows = _per_class(scores) if per_class else scores.by()
        emit_rows(rows, list(rows[0]) if rows else ["wnid"], fmt, no_header=no_header)
    else:
        rows = [{"figure": key, "value": _show(v)} for key, v in scores.summary().items()]
        emit_rows(rows, ["figure", "value"], fmt, no_header=no_header, id_key="figure")
    return int(outcome.code)


def _document(scores: Scores, per_class: bool) -> dict[str, Any]:
    doc = scores.summary()
    doc["mistakes_by_severity"] = {str(s): n for s, n in scores.severity_counts().items()}
    if scores.groups:
        doc["by"] = scores.by()
    if per_class:
        doc["per_class"] = _per_class(scores)
    return doc


def _show(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _per_class(scores: Scores) -> list[dict[str, Any]]:
    from ..shards.classes import class_names

    return scores.per_class(class_names(list(scores.classes)))


def _warn_missing(scores: Scores) -> None:
    if scores.missing:
        shown = ", ".join(scores.missing_shown)
        more = f" and {scores.missing - len(scores.missing_shown):,} more" * (
            scores.missing > len(scores.missing_shown)
        )
        messages.warn(
            f"{counted(scores.missing, 'image')} of the truth have no prediction "
            f"({shown}{more}); figures are over the {counted(scores.images, 'image')} scored"
        )
