"""``--plot FILE.png``: per-class top-1 accuracy, sorted, with the worst classes named,
and the histogram of mistake severity. matplotlib comes with the ``plot`` extra."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import StorageError
from ..extras import require
from ..shards.classes import class_names
from .metrics import Scores

WORST_NAMED = 10


def require_matplotlib() -> None:
    """Fail early, in one line, when matplotlib is not installed."""
    require("matplotlib", "--plot", "matplotlib", "plot")


def draw(scores: Scores, path: str, names: dict[str, str] | None = None) -> None:
    """Draw the two panels into ``path`` (PNG), written whole or not at all."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    from matplotlib import pyplot as plt

    rows = scores.per_class(names or class_names(list(scores.classes)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), width_ratios=(3, 2))
    try:
        _accuracy_panel(left, rows, scores)
        _severity_panel(right, scores.severity_counts())
        fig.tight_layout()
        _save(fig, Path(path))
    finally:
        plt.close(fig)


def _accuracy_panel(ax: Any, rows: list[dict[str, Any]], scores: Scores) -> None:
    values = [row["top1"] for row in rows]
    ax.plot(range(len(values)), values, color="tab:blue", linewidth=1.5)
    ax.set_xlim(-0.5, max(len(values) - 0.5, 0.5))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"class, worst first ({len(values):,} classes)")
    ax.set_ylabel("top-1 accuracy")
    ax.set_title(f"Per-class top-1 accuracy ({scores.images:,} images)")
    for i, row in enumerate(rows[:WORST_NAMED]):
        label = f"{row['name'] or row['wnid']} {row['top1']:.2f}"
        ax.annotate(label, (i, row["top1"]), xytext=(12, 8 + 11 * i), textcoords="offset points",
                    fontsize=7, arrowprops={"arrowstyle": "-", "linewidth": 0.4})


def _severity_panel(ax: Any, counts: dict[int, int]) -> None:
    steps = list(counts)
    ax.bar(steps, [counts[s] for s in steps], color="tab:red", width=0.8)
    ax.set_xlabel("severity: steps from the true class up to the lowest common ancestor")
    ax.set_ylabel("top-1 mistakes")
    ax.set_title(f"Mistake severity ({sum(counts.values()):,} mistakes)")
    if steps:
        ax.set_xticks(range(min(steps), max(steps) + 1))


def _save(fig: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"{path}: cannot write the plot: {exc.strerror or exc}") from None

