"""``evaluate``: predictions and truth in, :class:`Scores` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import releases
from ..errors import ItemError, NotFoundError
from ..ids import is_wnid
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


class LabelSpace:
    """Turns a label as written (wnid, ILSVRC-2012 index, nltk name) into a class."""

    def __init__(self, classes: frozenset[str]) -> None:
        self.classes = classes
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
        return wnid if wnid in self.classes else None


def evaluate(request: EvalRequest, on_bad: OnBad) -> Scores:
    """Score ``request.predictions``; each bad row goes to ``on_bad`` (raised when strict)."""

    def bad(err: ItemError) -> None:
        scores.bad_rows += 1
        if request.strict:
            raise err
        on_bad(err)

    truth = load_truth(request.truth)
    space = LabelSpace(releases.class_set("ilsvrc2012"))
    scores = Scores(k=request.k, truth_images=len(truth), hits=[0] * max(request.k, 5))
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
        ranked: list[str] = []
        for label in row.labels:
            wnid = space.wnid(label)
            if wnid is None:
                ranked = []
                bad(ItemError(f"{where}label {label!r} is no class of the label space"))
                break
            if wnid not in ranked:  # a repeat takes no second place
                ranked.append(wnid)
        if ranked:
            scores.add(true, ranked.index(true) if true in ranked else None)
    missing = [key for key in truth if key not in seen]
    scores.missing, scores.missing_shown = len(missing), missing[:SHOWN_MISSING]
    return scores
