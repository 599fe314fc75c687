"""Score a model's predictions against ImageNet labels: ``imagenet eval`` and
``imagenet bbox eval``.

``evaluate(EvalRequest(...), on_bad=...)`` reads the predictions (:mod:`.readers`, or
an array: :mod:`.arrays`), the truth (:mod:`.truths`) and returns the
:class:`.metrics.Scores`. ``evaluate_localisation(LocEvalRequest(...), on_bad=...)``
scores ILSVRC localisation (:mod:`imagenet_cli.bbox.evaluate`).
"""

from __future__ import annotations

from ..bbox.evaluate import LocEvalRequest, LocSummary
from ..bbox.evaluate import evaluate as evaluate_localisation
from .metrics import Scores, Tally
from .run import EvalRequest, evaluate

__all__ = [
    "EvalRequest",
    "LocEvalRequest",
    "LocSummary",
    "Scores",
    "Tally",
    "evaluate",
    "evaluate_localisation",
]
