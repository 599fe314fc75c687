"""How bad a top-1 mistake is, on WordNet's hypernym graph.

The *severity* of taking true class T for guess G is the number of hypernym steps
(hypernyms and instance hypernyms alike) on the shortest path from T up to the lowest
common ancestor of T and G, as ``imagenet synset lca`` finds it (the deepest synsets
above both). When there are several, the nearest to T counts. A mistake *inside the
parent* is a guess under a direct hypernym of T (severity 1).
"""

from __future__ import annotations

from functools import cache

from ..hierarchy import Hierarchy
from ..ids import offset_of


class Severity:
    """Severities of (truth, guess) pairs, each pair worked out once."""

    def __init__(self, hierarchy: Hierarchy | None = None) -> None:
        self.h = hierarchy or Hierarchy.default()
        self.distance = cache(self._distance)
        self._ups = cache(self._steps_up)

    def _steps_up(self, wnid: str) -> dict[str, int]:
        """Every synset above ``wnid`` (and itself) -> the fewest steps up to it."""
        steps: dict[str, int] = {}
        for path in self.h.hypernym_paths(wnid):
            for i, above in enumerate(reversed(path)):
                steps[above] = min(steps.get(above, i), i)
        return steps

    def _distance(self, truth: str, guess: str) -> int:
        ups = self._ups(truth)
        return min(ups[s.wnid] for s in self.h.lca([truth, guess]))

    def in_parent(self, truth: str, guess: str) -> bool:
        """Whether ``guess`` lies under a direct hypernym of ``truth``."""
        parents = {w for w, steps in self._ups(truth).items() if steps == 1}
        above = self.h.ancestor_offsets(offset_of(guess) or 0)
        return any(offset_of(p) in above for p in parents)
