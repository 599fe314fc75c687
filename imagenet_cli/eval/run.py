"""``evaluate``: predictions and truth in, :class:`Scores` out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import releases
from ..errors import ItemError, NotFoundError, UsageError
from ..ids import image_key, listed_ids, stdin_once
from ..ids import wnid as wnid_of
from .arrays import columns, is_array, ranked_rows
from .arrays import load as load_array
from .metrics import SHOWN_MISSING, Scores
from .readers import OnBad, Row, read_rows
from .truths import Truth
from .truths import load as load_truth

if TYPE_CHECKING:
    from ..hierarchy import Hierarchy


@dataclass
class EvalRequest:
    """What to score: the predictions (a file or ``-``), the truth, the label space, k,
    the ``--by`` synsets, the image order of an array, a plot to draw, strictness."""

    predictions: str
    truth: str | None = None
    k: int = 5
    strict: bool = False
    classes: str | None = None
    by: tuple[str, ...] = ()
    images: str | None = None
    plot: str | None = None


DROPPED = ""


class LabelSpace:
    """Turns a label as written (wnid, ILSVRC-2012 index, nltk name) into a class:
    None when it names no ILSVRC-2012 class, :data:`DROPPED` when one outside ``classes``."""

    def __init__(self, classes: frozenset[str]) -> None:
        self.classes = classes
        self.known = releases.class_set("ilsvrc2012")
        self._seen: dict[str, str | None] = {}

    def wnid(self, label: str) -> str | None:
        """The class ``label`` names, or None when it names none of the label space."""
        try:
            return self._seen[label]
        except KeyError:
            found = self._seen[label] = self._resolve(label)
            return found

    def _resolve(self, label: str) -> str | None:
        try:
            wnid = hierarchy().resolve_label(label)
        except NotFoundError:
            return None
        if wnid not in self.known:
            return None
        return wnid if wnid in self.classes else DROPPED


def hierarchy() -> Hierarchy:
    """The WordNet hierarchy, imported when first needed."""
    from ..hierarchy import Hierarchy

    return Hierarchy.default()


def class_space(spec: str | None, truth: Truth) -> frozenset[str]:
    """The classes a prediction may name: those of ``spec`` (a release or preset such as
    ``imagenet-a``, or a file of ids, one a line); without it, those of the release a
    truth folder holds (ImageNet-A/-R), else ILSVRC-2012's 1,000."""
    if spec is None:
        return releases.class_set(truth.release or "ilsvrc2012")
    if not Path(spec).is_file():
        return releases.class_set(spec) & releases.class_set("ilsvrc2012")
    wnids = hierarchy().resolve_listed(listed_ids([], [spec]))
    return frozenset(wnids) & releases.class_set("ilsvrc2012")


def evaluate(request: EvalRequest, on_bad: OnBad) -> Scores:
    """Score ``request.predictions``; each bad row goes to ``on_bad`` (raised when strict)."""

    def bad(err: ItemError) -> None:
        scores.bad_rows += 1
        if request.strict:
            raise err
        on_bad(err)

    stdin_once({"PREDICTIONS": request.predictions, "--images": request.images})
    if request.plot:
        from .plot import require_matplotlib

        require_matplotlib()
        if not Path(request.plot).resolve().parent.is_dir():
            raise UsageError(f"--plot {request.plot}: its folder does not exist")
    truth = load_truth(request.truth)
    space = LabelSpace(class_space(request.classes, truth))
    # images of classes outside the label space are outside the question: not scored
    asked = [key for key, wnid in truth.labels.items() if wnid in space.classes]
    scores = Scores(k=request.k, real=truth.real is not None, truth_images=len(asked))
    scores.groups = _groups(request.by)
    if request.classes is None and truth.release:
        scores.notes.append(
            f"scoring over the {len(space.classes):,} classes of {truth.release}, the classes "
            "of the truth's folders (--classes ilsvrc2012: over all 1,000)"
        )
    seen: set[str] = set()
    name = "stdin" if request.predictions == "-" else request.predictions
    for row in _rows(request, truth, space, scores.ranks, bad):
        where = f"{name}: {row.where}: "
        key = image_key(row.image)
        true = truth.labels.get(key)
        if true is None:
            bad(ItemError(f"{where}image {row.image!r} is not in the truth"))
            continue
        if key in seen:
            bad(ItemError(f"{where}image {row.image!r} is predicted twice"))
            continue
        seen.add(key)
        if true not in space.classes:
            continue
        ranked = _ranked(row.labels, space, where, bad)
        if ranked is not None:
            _count(scores, truth, key, true, ranked)
    missing = [key for key in asked if key not in seen]
    scores.missing, scores.missing_shown = len(missing), missing[:SHOWN_MISSING]
    _judge(scores)
    if request.plot:
        from .plot import draw

        draw(scores, request.plot)
    return scores


def _rows(
    request: EvalRequest, truth: Truth, space: LabelSpace, depth: int, bad: OnBad
) -> Iterator[Row]:
    if not is_array(request.predictions):
        if request.images:
            raise UsageError("--images orders the rows of an array; text rows name their image")
        yield from read_rows(request.predictions, bad)
        return
    name = "stdin" if request.predictions == "-" else request.predictions
    array = load_array(request.predictions)
    keep, classes = columns(array, space.classes, name)
    images = _image_order(request.images, truth)
    yield from ranked_rows(array, images, keep, classes, depth, name, bad)


def _image_order(images: str | None, truth: Truth) -> list[str]:
    """The image of each array row: as ``--images`` lists them, else the truth's order."""
    if images is None:
        return list(truth.labels)
    from ..subset.image_lists import read_entries

    return [image_key(name) for _line, name in read_entries(images)]


def _ranked(labels: list[str], space: LabelSpace, where: str, bad: OnBad) -> list[str] | None:
    """The classes of ``labels`` best first, repeats once; None after a bad label."""
    ranked: list[str] = []
    for label in labels:
        wnid = space.wnid(label)
        if wnid is None:
            bad(ItemError(f"{where}label {label!r} is no ILSVRC-2012 class"))
            return None
        if wnid and wnid not in ranked:  # a repeat takes one place; DROPPED none
            ranked.append(wnid)
    return ranked


def _count(scores: Scores, truth: Truth, key: str, true: str, ranked: list[str]) -> None:
    rank = ranked.index(true) if true in ranked else None
    first = ranked[0] if ranked else None
    if truth.real is None:
        scores.add(true, rank, first)
        return
    real = truth.real.get(key, frozenset())
    real_rank = next((r for r, wnid in enumerate(ranked) if wnid in real), None)
    scores.add(true, rank, first, real=real, real_rank=real_rank)


def _groups(idents: tuple[str, ...]) -> list[tuple[str, str, frozenset[str]]]:
    """Each ``--by`` synset: its wnid, name, and the ILSVRC-2012 classes at or under it."""
    if not idents:
        return []
    h = hierarchy()
    known = releases.class_set("ilsvrc2012")
    groups = []
    for wnid in h.resolve_listed(("--by: ", i) for i in idents):
        synset = h.get(wnid)
        under = {wnid_of(o) for o in h.descendant_offsets(synset.offset)} | {wnid}
        groups.append((wnid, synset.name, frozenset(under & known)))
    return groups


def _judge(scores: Scores) -> None:
    if scores.confusions:
        from .severity import Severity

        judge = Severity(hierarchy())
        scores.judge(lambda t, g: (judge.distance(t, g), judge.in_parent(t, g)))
