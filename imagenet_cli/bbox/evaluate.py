"""``imagenet bbox eval``: ILSVRC localisation scoring of a Kaggle-style submission.

A guess localises an image when its class is one of the image's true classes and its
box overlaps some true box of that class with IoU >= 0.5. Boxes follow the ILSVRC
devkit's inclusive-pixel convention: a box ``xmin ymin xmax ymax`` covers
``xmax - xmin + 1`` by ``ymax - ymin + 1`` pixels (the same +1 on the overlap).
Top-1 takes the first guess, top-5 the first five. An image of the truth with no
prediction counts as wrong in every figure, as the devkit counts it.

The truth is a folder or archive of validation XMLs (read by the ``bbox`` engine) or
Kaggle's ``LOC_val_solution.csv``; the submission is streamed row by row.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from ..errors import ItemError, NotFoundError
from ..ids import image_key

BoxT = tuple[float, float, float, float]
# One image's truth: its classes in order, each with its boxes.
Truth = dict[str, dict[str, list[BoxT]]]
Report = Callable[[str], None]

TOP = 5
IOU = 0.5
NAMED_MISSING = 5  # missing images named in the warning, then a count
ERROR_KEYS = ("top1_loc_error", "top5_loc_error", "top1_cls_error", "top5_cls_error")


@dataclass(frozen=True)
class LocEvalRequest:
    """What ``imagenet bbox eval`` was asked."""

    submission: str  # a CSV file, or '-' for stdin
    truth: str  # XML folder/archive/file, or a LOC_val_solution.csv
    per_class: bool = False
    strict: bool = False  # the first bad row raises ItemError
    workers: int = 0  # for reading XML truth: 0 resolves as bbox convert does


@dataclass
class ClassScore:
    """Counts for the images of one true class."""

    images: int = 0
    top1_loc: int = 0
    top5_loc: int = 0
    top1_cls: int = 0
    top5_cls: int = 0


@dataclass
class LocSummary:
    """The figures of a scoring run. Errors are fractions over ``images`` (every
    image of the truth; the missing ones count as wrong)."""

    images: int = 0
    predicted: int = 0
    bad_rows: int = 0
    missing: list[str] = field(default_factory=list)
    total: ClassScore = field(default_factory=ClassScore)
    classes: dict[str, ClassScore] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """``images``, ``predicted``, ``missing``, ``bad_rows`` and the four errors."""
        return {
            "images": self.images,
            "predicted": self.predicted,
            "missing": len(self.missing),
            "bad_rows": self.bad_rows,
            **_errors(self.total),
        }

    def class_rows(
        self, names: Callable[[str], tuple[str | None, int | None]] | None = None
    ) -> list[dict[str, Any]]:
        """One row per true class: ``wnid, name, images`` and the four errors."""
        return [
            {
                "wnid": w,
                "name": (names(w)[0] if names else None) or "",
                "images": s.images,
                **_errors(s),
            }
            for w, s in sorted(self.classes.items())
        ]


def _errors(s: ClassScore) -> dict[str, float]:
    n = s.images
    counts = (s.top1_loc, s.top5_loc, s.top1_cls, s.top5_cls)
    return {k: ((n - c) / n if n else 0.0) for k, c in zip(ERROR_KEYS, counts, strict=True)}


def iou(a: BoxT, b: BoxT) -> float:
    """Intersection over union with the devkit's inclusive pixels (+1 on each side)."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
    return inter / union if union > 0 else 0.0


class Labels:
    """A guess's label as a wnid: a wnid, an ILSVRC-2012 class index (0-999) or an
    nltk name (``tench.n.01``); answers are remembered."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._seen: dict[str, str] = {w: w for w in known}

    def __call__(self, label: str) -> str:
        found = self._seen.get(label)
        if found is None:
            found = self._seen[label] = self._resolve(label)
        return found

    @staticmethod
    def _resolve(label: str) -> str:
        from ..hierarchy import Hierarchy

        return Hierarchy.default().resolve_label(label)


def _rows(stream: IO[str], name: str) -> Iterator[tuple[int, list[str]]]:
    """Data rows ``(line, cells)`` of an ``ImageId,PredictionString`` CSV."""
    for line, cells in enumerate(csv.reader(stream), 1):
        if not cells or (line == 1 and cells[0].strip().lower() == "imageid"):
            continue
        yield line, cells


def _numbers(parts: list[str], step: int, where: str) -> Iterator[tuple[str, BoxT]]:
    """``label x y x y`` groups of a PredictionString (``step`` = 5)."""
    if len(parts) % step:
        raise ValueError(
            f"{where}{len(parts)} values, not groups of {step} (label xmin ymin xmax ymax)"
        )
    for i in range(0, len(parts), step):
        try:
            box = (
                float(parts[i + 1]),
                float(parts[i + 2]),
                float(parts[i + 3]),
                float(parts[i + 4]),
            )
        except ValueError:
            raise ValueError(f"{where}guess {i // step + 1}: box numbers are not numbers") from None
        yield parts[i], box


def read_solution_csv(stream: IO[str], name: str, on_bad: Report) -> Truth:
    """Kaggle's ``LOC_val_solution.csv``: ``ImageId,PredictionString`` of
    ``wnid xmin ymin xmax ymax ...``."""
    truth: Truth = {}
    for line, cells in _rows(stream, name):
        where = f"{name}: line {line}: "
        try:
            if len(cells) < 2:
                raise ValueError(f"{where}no PredictionString")
            boxes: dict[str, list[BoxT]] = {}
            for wnid, box in _numbers(cells[1].split(), 5, where):
                boxes.setdefault(wnid, []).append(box)
        except ValueError as exc:
            on_bad(str(exc))
            continue
        truth[image_key(cells[0])] = boxes
    return truth


def read_xml_truth(path: str, on_bad: Report, *, strict: bool = False, workers: int = 0) -> Truth:
    """A folder, archive or file of validation XMLs, read by the ``bbox`` engine."""
    from .convert import iter_annotations
    from .request import SourceRequest

    src = SourceRequest(inputs=[path], strict=strict, workers=workers).source()

    def missing(error: NotFoundError) -> None:
        on_bad(str(error))

    truth: Truth = {}
    for ann in iter_annotations(src, on_bad=on_bad, on_quirk=lambda text: None, on_missing=missing):
        boxes: dict[str, list[BoxT]] = {}
        for b in ann.boxes:
            boxes.setdefault(b.wnid, []).append(
                (float(b.xmin), float(b.ymin), float(b.xmax), float(b.ymax))
            )
        truth[image_key(ann.image)] = boxes
    return truth


def _is_csv(path: str) -> bool:
    if os.path.isdir(path):
        return False
    if path.lower().endswith(".csv"):
        return True
    with open(path, "rb") as f:
        return f.read(16).lower().startswith(b"imageid")


def read_truth(path: str, on_bad: Report, *, strict: bool = False, workers: int = 0) -> Truth:
    """The truth at ``path``: a ``LOC_val_solution.csv`` or validation XMLs."""
    if not os.path.exists(path):
        raise NotFoundError(f"{path}: no such file or folder")
    if _is_csv(path):
        with open(path, encoding="utf-8", newline="") as f:
            return read_solution_csv(f, path, on_bad)
    return read_xml_truth(path, on_bad, strict=strict, workers=workers)


def score(
    truth: Truth,
    submission: IO[str],
    name: str,
    on_bad: Report,
    *,
    labels: Callable[[str], str] | None = None,
) -> LocSummary:
    """Score the ``ImageId,PredictionString`` rows of ``submission`` against ``truth``.

    A bad row (an image the truth lacks, a label that is no class, a duplicate, a
    row short of numbers) goes to ``on_bad`` as one line and is skipped.
    """
    known = {w for boxes in truth.values() for w in boxes}
    resolve = labels or Labels(known)
    out = LocSummary(images=len(truth))
    seen: set[str] = set()
    for line, cells in _rows(submission, name):
        where = f"{name}: line {line}: "
        key = image_key(cells[0])
        try:
            if key not in truth:
                raise ValueError(f"{where}{cells[0]!r}: no such image in the truth")
            if key in seen:
                raise ValueError(f"{where}{cells[0]!r}: image already predicted")
            guesses = [
                (_label(resolve, lab, where), box)
                for lab, box in _numbers(cells[1].split() if len(cells) > 1 else [], 5, where)
            ]
        except ValueError as exc:
            out.bad_rows += 1
            on_bad(str(exc))
            continue
        seen.add(key)
        _tally(out, key, truth[key], guesses)
    out.predicted = len(seen)
    for key, boxes in truth.items():
        if key not in seen:
            out.missing.append(key)
            _add(out, _image_class(boxes), (False, False, False, False))
    return out


def _label(resolve: Callable[[str], str], label: str, where: str) -> str:
    try:
        return resolve(label)
    except NotFoundError as exc:
        raise ValueError(f"{where}label {label!r} is no class: {exc}") from None


def _image_class(boxes: dict[str, list[BoxT]]) -> str:
    return next(iter(boxes), "")


def _tally(
    out: LocSummary, key: str, boxes: dict[str, list[BoxT]], guesses: list[tuple[str, BoxT]]
) -> None:
    hits = []
    for wnid, box in guesses[:TOP]:
        true = boxes.get(wnid)
        cls = true is not None
        loc = cls and any(iou(box, t) >= IOU for t in true or ())
        hits.append((cls, loc))
    first = hits[0] if hits else (False, False)
    flags = (first[1], any(h[1] for h in hits), first[0], any(h[0] for h in hits))
    _add(out, _image_class(boxes), flags)


def _add(out: LocSummary, wnid: str, flags: tuple[bool, bool, bool, bool]) -> None:
    for s in (out.total, out.classes.setdefault(wnid, ClassScore())):
        s.images += 1
        s.top1_loc += flags[0]
        s.top5_loc += flags[1]
        s.top1_cls += flags[2]
        s.top5_cls += flags[3]


def evaluate(request: LocEvalRequest, on_bad: Report, stdin: IO[str] | None = None) -> LocSummary:
    """Read the truth, then score the submission; with ``strict`` the first bad row
    or file raises :class:`~imagenet_cli.errors.ItemError`."""

    def bad(text: str) -> None:
        if request.strict:
            raise ItemError(text)
        on_bad(text)

    truth = read_truth(request.truth, bad, strict=request.strict, workers=request.workers)
    if request.submission == "-":
        stream = stdin or sys.stdin
        return score(truth, stream, "<stdin>", bad)
    if not os.path.isfile(request.submission):
        raise NotFoundError(f"{request.submission}: no such file")
    with open(request.submission, encoding="utf-8", newline="") as f:
        return score(truth, f, request.submission, bad)


__all__ = [
    "ClassScore",
    "LocEvalRequest",
    "LocSummary",
    "evaluate",
    "iou",
    "read_truth",
    "score",
]
