"""``imagenet bbox eval``: ILSVRC localisation error of a submission against the truth."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from .common import FormatOpt, NoHeaderOpt, QuietOpt, WorkersOpt
from .output import Format, Outcome, counted, emit_json, emit_rows, messages
from .params import Arg, Opt

if TYPE_CHECKING:
    from ..bbox.evaluate import LocSummary

FIGURES = ("images", "predicted", "missing", "bad_rows")
ERRORS = ("top1_loc_error", "top5_loc_error", "top1_cls_error", "top5_cls_error")


def bbox_eval(
    submission: Annotated[
        str,
        Arg(
            help="Kaggle-style CSV: ImageId,PredictionString of 'label xmin ymin xmax ymax' "
            "per guess, best first; - reads stdin.",
            show_default=False,
        ),
    ],
    truth: Annotated[
        str,
        Opt(
            "--truth",
            metavar="SRC",
            help="Validation XMLs (folder, archive, file) or Kaggle's LOC_val_solution.csv.",
            show_default=False,
        ),
    ],
    per_class: Annotated[bool, Opt("--per-class", help="One row per true class.")] = False,
    strict: Annotated[bool, Opt("--strict", help="Stop at the first bad row or file.")] = False,
    workers: WorkersOpt = 0,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Score localisation: top-1/top-5 localisation and classification error.

    A guess is right when its class is the image's and its box has IoU >= 0.5 with a
    true box of that class (inclusive pixels: +1 on widths and heights). Images of the
    truth with no prediction count as wrong.

    Example: imagenet bbox eval submission.csv --truth LOC_val_solution.csv -f json
    """
    from ..bbox.engine import Names
    from ..bbox.evaluate import LocEvalRequest, evaluate
    from ..request import from_options

    outcome = Outcome()
    summary = evaluate(from_options(LocEvalRequest, locals()), outcome.fail)
    _warn_missing(summary, quiet)
    figures = summary.figures()
    rows = summary.class_rows(Names()) if per_class else None
    if fmt == Format.json:
        emit_json({**figures, "classes": rows} if per_class else figures)
    elif rows is not None:
        emit_rows(rows, ["wnid", "name", "images", *ERRORS], fmt, no_header=no_header)
        if not quiet:
            messages.info(", ".join(f"{k} {figures[k]}" for k in (*FIGURES, *ERRORS)))
    else:
        table = [{"figure": k, "value": figures[k]} for k in (*FIGURES, *ERRORS)]
        emit_rows(table, ["figure", "value"], fmt, no_header=no_header, id_key="figure")
    return int(outcome.code)


def _warn_missing(summary: LocSummary, quiet: bool) -> None:
    """Name the first few truth images with no prediction, then count the rest."""
    from ..bbox.evaluate import NAMED_MISSING

    missing: list[Any] = summary.missing
    if missing and not quiet:
        named = ", ".join(missing[:NAMED_MISSING])
        more = f" and {len(missing) - NAMED_MISSING} more" if len(missing) > NAMED_MISSING else ""
        verb = "has" if len(missing) == 1 else "have"
        messages.warn(
            f"{counted(len(missing), 'image')} of the truth {verb}"
            f" no prediction (counted as wrong): {named}{more}"
        )
