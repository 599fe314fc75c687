"""``evaluate``: predictions and truth in, :class:`Scores` out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import releases
from ..errors import ItemError, NotFoundError
from ..ids import is_wnid, listed_ids
from .metrics import SHOWN_MISSING, Scores
from .readers import OnBad, image_key, read_rows
from .truths import load as load_truth

if TYPE_CHECKING:
    from ..hierarchy import Hierarchy


@dataclass
class EvalRequest:
    """What to score: the predictions (a file or ``-``), the truth, k, strictness."""

    predictions: str
    truth: str | None = None
    k: int = 5
    strict: bool = False
    classes: str | None = None
    severity: bool = False


DROPPED = ""


class LabelSpace:
    """Turns a label as written (wnid, ILSVRC-2012 index, nltk name) into a class:
    None when it names no ILSVRC-2012 class, :data:`DROPPED` when one outside ``classes``."""

    def __init__(self, classes: frozenset[str]) -> None:
        self.classes = classes
        self.known = releases.class_set("ilsvrc2012")
        self._seen: dict[str, str | None] = {}
        self._hierarchy: Hierarchy | None = None

    def wnid(self, label: str) -> str | None:
        """The class ``label`` names, or None when it names none of the label space."""
        try:
            return self._seen[label]
        except KeyError:
            found = self._seen[label] = self._resolve(label)
            return found

    def _resolve(self, label: str) -> str | None:
        if is_wnid(label):
            wnid = label
        elif label.isdigit():
            index = int(label)
            wnid = releases.ilsvrc_wnid(index) if index < 1000 else ""
        elif "." in label:
            if self._hierarchy is None:
                from ..hierarchy import Hierarchy

                self._hierarchy = Hierarchy.default()
            try:
                wnid = self._hierarchy.resolve(label)
            except NotFoundError:
                return None
        else:
            return None
        if wnid not in self.known:
            return None
        return wnid if wnid in self.classes else DROPPED


def class_space(spec: str | None) -> frozenset[str]:
    """The classes a prediction may name: ILSVRC-2012's 1,000, or those of ``spec``
    (a release or preset such as ``imagenet-a``, or a file of ids, one a line)."""
    if spec is None:
        return releases.class_set("ilsvrc2012")
    if not Path(spec).is_file():
        return releases.class_set(spec) & releases.class_set("ilsvrc2012")
    from ..hierarchy import Hierarchy

    wnids = Hierarchy.default().resolve_listed(listed_ids([], [spec]))
    return frozenset(wnids) & releases.class_set("ilsvrc2012")


def evaluate(request: EvalRequest, on_bad: OnBad) -> Scores:
    """Score ``request.predictions``; each bad row goes to ``on_bad`` (raised when strict)."""

    def bad(err: ItemError) -> None:
        scores.bad_rows += 1
        if request.strict:
            raise err
        on_bad(err)

    truth = load_truth(request.truth)
    space = LabelSpace(class_space(request.classes))
    # images of classes outside the label space are outside the question: not scored
    asked = [key for key, wnid in truth.items() if wnid in space.classes]
    scores = Scores(k=request.k, truth_images=len(asked), hits=[0] * max(request.k, 5))
    seen: set[str] = set()
    name = "stdin" if request.predictions == "-" else request.predictions
    for row in read_rows(request.predictions, bad):
        where = f"{name}: line {row.line}: "
        key = image_key(row.image)
        true = truth.get(key)
        if true is None:
            bad(ItemError(f"{where}image {row.image!r} is not in the truth"))
            continue
        if key in seen:
            bad(ItemError(f"{where}image {row.image!r} is predicted twice"))
            continue
        seen.add(key)
        if true not in space.classes:
            continue
        ranked: list[str] = []
        for label in row.labels:
            wnid = space.wnid(label)
            if wnid is None:
                bad(ItemError(f"{where}label {label!r} is no ILSVRC-2012 class"))
                break
            if wnid and wnid not in ranked:  # a repeat takes one place; DROPPED none
                ranked.append(wnid)
        else:
            rank = ranked.index(true) if true in ranked else None
            scores.add(true, rank, ranked[0] if ranked else None)
    missing = [key for key in asked if key not in seen]
    scores.missing, scores.missing_shown = len(missing), missing[:SHOWN_MISSING]
    if request.severity:
        scores.severity = mistake_severity(scores.confusions)
    return scores


def mistake_severity(confusions: dict[tuple[str, str], int]) -> tuple[float, float]:
    """Mean severity of the top-1 mistakes and the share inside the true class's parent
    (:mod:`.severity`); 0 and 0 without mistakes."""
    from .severity import Severity

    judge = Severity()
    total = sum(confusions.values())
    if not total:
        return 0.0, 0.0
    steps = sum(judge.distance(t, g) * n for (t, g), n in confusions.items())
    inside = sum(n for (t, g), n in confusions.items() if judge.in_parent(t, g))
    return steps / total, inside / total
