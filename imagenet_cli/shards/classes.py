"""The classes of a sharded (or folder) output: ``classes.tsv``, the label of each
class its index in the sorted wnids, with the class's name."""

from __future__ import annotations

from pathlib import Path

from ..cache import write_bytes_atomic
from ..errors import NotFoundError
from ..hierarchy import Hierarchy


def class_names(wnids: list[str]) -> dict[str, str]:
    """Each wnid's name (its WordNet label; empty for an id the hierarchy lacks)."""
    h = Hierarchy.default()
    names = {}
    for wnid in wnids:
        try:
            names[wnid] = h.get(wnid).label
        except NotFoundError:
            names[wnid] = ""
    return names


def write_classes(path: Path, wnids: list[str], names: dict[str, str]) -> None:
    """``classes.tsv``: ``index``, ``wnid``, ``name``, one class a line, by sorted wnid."""
    lines = ["index\twnid\tname"] + [
        f"{i}\t{w}\t{names.get(w, '')}" for i, w in enumerate(sorted(wnids))
    ]
    write_bytes_atomic(str(path), ("\n".join(lines) + "\n").encode(), fsync=False)
