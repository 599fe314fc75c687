"""Score a model's predictions against ImageNet labels: ``imagenet eval``.

``evaluate(EvalRequest(...), on_bad=...)`` reads the predictions (:mod:`.readers`),
the truth (:mod:`.truths`) and returns the :class:`.metrics.Scores`.
"""

from __future__ import annotations

from .metrics import Scores
from .run import EvalRequest, evaluate

__all__ = ["EvalRequest", "Scores", "evaluate"]
