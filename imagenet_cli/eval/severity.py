"""How bad a top-1 mistake is, on WordNet's hypernym graph.

The *severity* of taking true class T for guess G is the number of hypernym steps
(hypernyms and instance hypernyms alike) on the shortest path from T up to the lowest
common ancestor of T and G, as ``imagenet synset lca`` finds it (the deepest synsets
above both). When there are several, the nearest to T counts. A mistake *inside the
parent* is a guess under a direct hypernym of T (severity 1).
"""

from __future__ import annotations

from collections import deque

from ..hierarchy import Hierarchy
from ..ids import offset_of
from ..ids import wnid as wnid_of


class Severity:
    """Severities of (truth, guess) pairs. Each class's ancestors are walked once, so
    tens of thousands of distinct pairs take a fraction of a second."""

    def __init__(self, hierarchy: Hierarchy | None = None) -> None:
        self.h = hierarchy or Hierarchy.default()
        self._ups: dict[str, dict[int, int]] = {}
        self._depth: dict[int, int] = {}

    def steps_up(self, wnid: str) -> dict[int, int]:
        """Every synset offset above ``wnid`` (and its own) -> the fewest steps up to it."""
        found = self._ups.get(wnid)
        if found is None:
            start = offset_of(wnid) or 0
            found = {start: 0}
            queue = deque([start])
            while queue:  # breadth first: the first visit is the shortest way up
                node = queue.popleft()
                for parent in self.h.parent_offsets(node):
                    if parent not in found:
                        found[parent] = found[node] + 1
                        queue.append(parent)
            self._ups[wnid] = found
            new = [o for o in found if o not in self._depth]
            if new:
                synsets = self.h.get_many(wnid_of(o) for o in new)
                self._depth.update((s.offset, s.depth) for s in synsets)
        return found

    def distance(self, truth: str, guess: str) -> int:
        """Steps from ``truth`` up to the nearest of the lowest common ancestors."""
        up_truth, up_guess = self.steps_up(truth), self.steps_up(guess)
        common = up_truth.keys() & up_guess.keys()
        deepest = max(self._depth[o] for o in common)
        return min(up_truth[o] for o in common if self._depth[o] == deepest)

    def in_parent(self, truth: str, guess: str) -> bool:
        """Whether ``guess`` lies under a direct hypernym of ``truth``."""
        up_guess = self.steps_up(guess)
        return any(steps == 1 and o in up_guess for o, steps in self.steps_up(truth).items())
