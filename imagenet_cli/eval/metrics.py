"""Tallies of ranked predictions, and the figures taken from them.

A prediction is a list of classes best first, repeats dropped; its *rank* is the
position of the true class in it (0: top-1), or ``None`` when absent. Top-k accuracy
is the share of scored images whose rank is below k.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SHOWN_MISSING = 5


@dataclass
class Scores:
    """What ``evaluate`` found: counts of ranks overall and per true class."""

    k: int = 5
    truth_images: int = 0
    bad_rows: int = 0
    missing: int = 0
    missing_shown: list[str] = field(default_factory=list)
    images: int = 0
    # hits[r]: images whose true class came at rank r (r < max(k, 5))
    hits: list[int] = field(default_factory=lambda: [0] * 5)
    # per true class: [images, top-1 hits, top-k hits]
    classes: dict[str, list[int]] = field(default_factory=dict)
    # top-1 mistakes: (truth, guess) -> images
    confusions: dict[tuple[str, str], int] = field(default_factory=dict)
    # with severity asked: mean severity and share inside the true class's parent
    severity: tuple[float, float] | None = None

    def add(self, truth: str, rank: int | None, first: str | None = None) -> None:
        """Count one scored image of class ``truth`` whose truth came at ``rank``
        (``first``: the top guess)."""
        self.images += 1
        if rank != 0 and first is not None:
            pair = (truth, first)
            self.confusions[pair] = self.confusions.get(pair, 0) + 1
        counts = self.classes.setdefault(truth, [0, 0, 0])
        counts[0] += 1
        if rank is None:
            return
        if rank < len(self.hits):
            self.hits[rank] += 1
        counts[1] += rank == 0
        counts[2] += rank < self.k

    def top(self, k: int) -> float:
        """Top-``k`` accuracy, a fraction 0-1 of the scored images (0 when none)."""
        return sum(self.hits[:k]) / self.images if self.images else 0.0

    def figures(self) -> dict[str, Any]:
        """The headline figures: images scored, top-1, top-5 (and top-k), counts."""
        doc: dict[str, Any] = {"images": self.images, "top1": self.top(1), "top5": self.top(5)}
        if self.k not in (1, 5):
            doc[f"top{self.k}"] = self.top(self.k)
        doc.update(truth_images=self.truth_images, missing=self.missing, bad_rows=self.bad_rows)
        if self.severity is not None:
            doc["mistakes"] = sum(self.confusions.values())
            doc["mistake_severity"], doc["mistakes_in_parent"] = self.severity
        return doc

    def per_class(self, names: dict[str, str]) -> list[dict[str, Any]]:
        """A row per true class, worst top-1 first: wnid, top1, top-k, images, name."""
        rows = [
            {
                "wnid": wnid,
                "top1": top1 / n,
                f"top{self.k}": topk / n,
                "images": n,
                "name": names.get(wnid, ""),
            }
            for wnid, (n, top1, topk) in self.classes.items()
        ]
        rows.sort(key=lambda r: (r["top1"], r["wnid"]))
        return rows
