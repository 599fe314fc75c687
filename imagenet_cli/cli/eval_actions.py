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
        help="Predictions: Kaggle ImageId,PredictionString CSV or JSONL ('-': stdin).",
        metavar="PREDICTIONS",
        show_default=False,
    ),
]
TruthOpt = Annotated[
    str | None,
    Opt(
        "--truth",
        help="val (built-in labels), a folder of images by class, or a label file [default: val].",
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
        "labels outside are dropped before taking the top k.",
        metavar="CLASSES",
        show_default=False,
    ),
]
SeverityOpt = Annotated[
    bool,
    Opt(
        "--severity",
        help="Also the mean WordNet distance of top-1 mistakes from the true class up to "
        "the lowest common ancestor, and the share inside the true class's parent.",
    ),
]
EvalStrictOpt = Annotated[bool, Opt("--strict", help="Stop at the first bad row.")]


def eval_(
    predictions: PredictionsArg,
    truth: TruthOpt = None,
    classes: ClassesOpt = None,
    k: KOpt = 5,
    per_class: PerClassOpt = False,
    severity: SeverityOpt = False,
    strict: EvalStrictOpt = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Score predictions: top-1 and top-k accuracy (fractions 0-1) over the images scored.

    Labels are wnids, ILSVRC-2012 class indexes (0-999) or nltk names, best first.

    Example: imagenet eval preds.csv -f json
    """
    from ..eval import EvalRequest, evaluate
    from ..request import from_options

    messages.quiet = quiet
    outcome = Outcome()
    scores = evaluate(from_options(EvalRequest, locals()), on_bad=outcome.fail)
    _warn_missing(scores)
    figures = scores.figures()
    if fmt == Format.json:
        emit_json({**figures, **({"per_class": _per_class(scores)} if per_class else {})})
    elif per_class:
        messages.info(", ".join(f"{key} {_show(value)}" for key, value in figures.items()))
        columns = ["wnid", "top1", f"top{k}", "images", "name"]
        emit_rows(_per_class(scores), columns, fmt, no_header=no_header)
    else:
        rows = [{"figure": key, "value": _show(value)} for key, value in figures.items()]
        emit_rows(rows, ["figure", "value"], fmt, no_header=no_header, id_key="figure")
    return int(outcome.code)


def _show(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _per_class(scores: Scores) -> list[dict[str, Any]]:
    from ..hierarchy import Hierarchy

    names = {s.wnid: s.label for s in Hierarchy.default().get_many(list(scores.classes))}
    return scores.per_class(names)


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
