"""Tallies of ranked predictions, and the figures taken from them.

A prediction is a list of classes best first, repeats dropped; its *rank* is the
position of the true class in it (0: top-1), or ``None`` when absent. Top-k accuracy
is the share of scored images whose rank is below k. With ReaL labels an image's ReaL
rank is the first position holding any of its ReaL labels; images whose ReaL set is
empty are left out of the ReaL figures.

Counts are kept per true class, so the figures of any group of classes (``--by``) are
sums of its classes' tallies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

SHOWN_MISSING = 5


@dataclass
class Tally:
    """Counts for one group of images: how many, and at which rank the truth came."""

    ranks: int = 5
    images: int = 0
    hits: list[int] = field(default_factory=list)  # hits[r]: truth at rank r
    real_images: int = 0
    real_hits: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hits = self.hits or [0] * self.ranks
        self.real_hits = self.real_hits or [0] * self.ranks

    def add(self, rank: int | None, real_rank: int | None = None, real: bool = False) -> None:
        """Count one image; ``real``: it has a ReaL set, first matched at ``real_rank``."""
        self.images += 1
        if rank is not None and rank < self.ranks:
            self.hits[rank] += 1
        if real:
            self.real_images += 1
            if real_rank is not None and real_rank < self.ranks:
                self.real_hits[real_rank] += 1

    def merge(self, other: Tally) -> None:
        """Add ``other``'s counts to these."""
        self.images += other.images
        self.real_images += other.real_images
        for mine, theirs in ((self.hits, other.hits), (self.real_hits, other.real_hits)):
            for r, n in enumerate(theirs):
                mine[r] += n

    def top(self, k: int) -> float:
        """Top-``k`` accuracy, a fraction 0-1 of the images (0 when none)."""
        return sum(self.hits[:k]) / self.images if self.images else 0.0

    def real_top(self, k: int) -> float:
        """ReaL top-``k`` accuracy over the images with a ReaL set (0 when none)."""
        return sum(self.real_hits[:k]) / self.real_images if self.real_images else 0.0


Judge = Callable[[str, str], tuple[int, bool]]


@dataclass
class Scores:
    """What ``evaluate`` found: a tally per true class, the top-1 mistakes, the counts
    of the input, and the groups asked for with ``--by``."""

    k: int = 5
    real: bool = False  # scored against ReaL labels too
    truth_images: int = 0
    bad_rows: int = 0
    missing: int = 0
    missing_shown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the question was read
    classes: dict[str, Tally] = field(default_factory=dict)
    # top-1 mistakes: (truth, guess) -> images, and each pair's (severity, inside parent)
    confusions: dict[tuple[str, str], int] = field(default_factory=dict)
    judged: dict[tuple[str, str], tuple[int, bool]] = field(default_factory=dict)
    # --by: (wnid, name, the classes under it)
    groups: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)

    @property
    def ranks(self) -> int:
        """How many ranks are counted: enough for top-5 and top-k."""
        return max(self.k, 5)

    def add(
        self,
        truth: str,
        rank: int | None,
        first: str | None = None,
        *,
        real: Collection[str] | None = None,
        real_rank: int | None = None,
    ) -> None:
        """Count one scored image of class ``truth`` whose truth came at ``rank``
        (``first``: the top guess; ``real``: its ReaL set, first matched at ``real_rank``)."""
        if rank != 0 and first is not None:
            pair = (truth, first)
            self.confusions[pair] = self.confusions.get(pair, 0) + 1
        tally = self.classes.get(truth)
        if tally is None:
            tally = self.classes[truth] = Tally(self.ranks)
        tally.add(rank, real_rank, bool(real))

    def judge(self, judge: Judge) -> None:
        """Work out the severity of every top-1 mistake (see :mod:`.severity`)."""
        self.judged = {pair: judge(*pair) for pair in self.confusions}

    @property
    def images(self) -> int:
        """Images scored."""
        return sum(t.images for t in self.classes.values())

    def tally(self, classes: Collection[str] | None = None) -> Tally:
        """The counts of the images whose true class is in ``classes`` (all: None)."""
        total = Tally(self.ranks)
        for wnid, tally in self.classes.items():
            if classes is None or wnid in classes:
                total.merge(tally)
        return total

    def severity_counts(self, classes: Collection[str] | None = None) -> dict[int, int]:
        """Severity -> top-1 mistakes, over the true classes in ``classes`` (all: None)."""
        counts: dict[int, int] = {}
        for (truth, guess), n in self.confusions.items():
            if classes is None or truth in classes:
                steps = self.judged[(truth, guess)][0]
                counts[steps] = counts.get(steps, 0) + n
        return dict(sorted(counts.items()))

    def figures(self, classes: Collection[str] | None = None) -> dict[str, Any]:
        """The figures over all images, or those whose true class is in ``classes``:
        images, top-1, top-5 (and top-k), the ReaL figures, the mistakes' severity."""
        t = self.tally(classes)
        doc: dict[str, Any] = {"images": t.images, "top1": t.top(1), "top5": t.top(5)}
        if self.k not in (1, 5):
            doc[f"top{self.k}"] = t.top(self.k)
        if self.real:
            doc.update(real_images=t.real_images, real_top1=t.real_top(1))
            doc["real_top5"] = t.real_top(5)
            if self.k not in (1, 5):
                doc[f"real_top{self.k}"] = t.real_top(self.k)
        mistakes = [
            (n, *self.judged[pair])
            for pair, n in self.confusions.items()
            if classes is None or pair[0] in classes
        ]
        total = sum(n for n, _, _ in mistakes)
        doc["mistakes"] = total
        doc["mistake_severity"] = sum(n * s for n, s, _ in mistakes) / total if total else 0.0
        doc["mistakes_in_parent"] = sum(n for n, _, p in mistakes if p) / total if total else 0.0
        return doc

    def summary(self) -> dict[str, Any]:
        """The overall figures and the counts of the input."""
        doc = self.figures()
        doc.update(truth_images=self.truth_images, missing=self.missing, bad_rows=self.bad_rows)
        return doc

    def by(self) -> list[dict[str, Any]]:
        """A row per ``--by`` synset: its wnid and name, then its figures."""
        return [
            {"synset": wnid, "name": name, **self.figures(under)}
            for wnid, name, under in self.groups
        ]

    def per_class(self, names: dict[str, str]) -> list[dict[str, Any]]:
        """A row per true class, worst top-1 first: wnid, top1, top-k, images, name."""
        rows = []
        for wnid, t in self.classes.items():
            row: dict[str, Any] = {"wnid": wnid, "top1": t.top(1), f"top{self.k}": t.top(self.k)}
            if self.real:
                row["real_top1"] = t.real_top(1)
            rows.append({**row, "images": t.images, "name": names.get(wnid, "")})
        rows.sort(key=lambda r: (r["top1"], r["wnid"]))
        return rows
