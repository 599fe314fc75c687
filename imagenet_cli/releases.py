"""Which classes each ImageNet release and well-known subset holds.

Lists ship as package data (``data/classes/<name>.txt``, sorted wnids) described by
``data/classes/index.tsv``. Releases are ImageNet's own class sets (ILSVRC-2012,
ImageNet-21k ...); presets are well-known subsets people train on (Imagewoof ...).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .errors import NotFoundError

DATA = Path(__file__).with_name("data")
CLASSES = DATA / "classes"

ALIASES = {
    "ilsvrc": "ilsvrc2012",
    "ilsvrc-2012": "ilsvrc2012",
    "imagenet-1k": "ilsvrc2012",
    "imagenet1k": "ilsvrc2012",
    "in1k": "ilsvrc2012",
    "imagenet-21k": "imagenet21k",
    "imagenet22k": "imagenet21k",
    "fall11": "imagenet21k",
    "in21k": "imagenet21k",
    "imagenet-12k": "imagenet12k",
    "imagenet_a": "imagenet-a",
    "imagenet_r": "imagenet-r",
    "mini_imagenet": "mini-imagenet",
    "miniimagenet": "mini-imagenet",
}


class ClassList:
    """A named class list: a release or a preset."""

    __slots__ = ("count", "kind", "name", "source", "title")

    def __init__(self, name: str, kind: str, count: int, title: str, source: str) -> None:
        self.name = name
        self.kind = kind  # "release" or "preset"
        self.count = count
        self.title = title
        self.source = source

    def __repr__(self) -> str:
        return f"ClassList({self.name!r}, {self.kind!r}, {self.count})"


@cache
def catalog() -> dict[str, ClassList]:
    """Every class list shipped with the package, by name, in index order."""
    lists: dict[str, ClassList] = {}
    lines = (CLASSES / "index.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        if not line.strip():
            continue
        name, kind, count, title, source = line.split("\t")
        lists[name] = ClassList(name, kind, int(count), title, source)
    return lists


def canonical(name: str) -> str:
    """The catalog name for ``name`` (case-insensitive, common aliases accepted)."""
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, ALIASES.get(name.strip().lower(), key))
    if key not in catalog():
        raise NotFoundError(f"unknown release or preset {name!r} (known: {', '.join(catalog())})")
    return key


def releases() -> list[ClassList]:
    """ImageNet's releases, in index order."""
    return [c for c in catalog().values() if c.kind == "release"]


def presets() -> list[ClassList]:
    """Every list that can select a subset: the releases' small members and the presets."""
    return list(catalog().values())


def get(name: str) -> ClassList:
    """The class list called ``name`` (aliases accepted)."""
    return catalog()[canonical(name)]


@cache
def _classes(name: str) -> tuple[str, ...]:
    text = (CLASSES / f"{name}.txt").read_text(encoding="ascii")
    return tuple(text.split())


def classes(name: str) -> list[str]:
    """The sorted wnids of a release or preset."""
    return list(_classes(canonical(name)))


@cache
def class_set(name: str) -> frozenset[str]:
    """The wnids of a release or preset, as a set."""
    return frozenset(_classes(canonical(name)))


@cache
def _ilsvrc_positions() -> dict[str, int]:
    return {wnid: i for i, wnid in enumerate(_classes("ilsvrc2012"))}


def ilsvrc_index(wnid: str) -> int | None:
    """The ILSVRC-2012 class index (position in the sorted 1,000 wnids), or None."""
    return _ilsvrc_positions().get(wnid)


def ilsvrc_wnid(index: int) -> str:
    """The wnid of ILSVRC-2012 class ``index`` (0-999)."""
    wnids = _classes("ilsvrc2012")
    if not 0 <= index < len(wnids):
        raise NotFoundError(f"ILSVRC-2012 class index {index} is out of range 0-{len(wnids) - 1}")
    return wnids[index]


def releases_of(wnid: str) -> list[str]:
    """The names of the releases that hold ``wnid``, in catalog order."""
    return [c.name for c in releases() if wnid in class_set(c.name)]


@cache
def val_labels() -> tuple[str, ...]:
    """The ILSVRC-2012 validation labels: the wnid of ``ILSVRC2012_val_%08d`` at index i-1."""
    import gzip

    with gzip.open(DATA / "ilsvrc2012_val_labels.txt.gz", "rt", encoding="ascii") as fh:
        return tuple(fh.read().split())


@cache
def real_labels() -> tuple[frozenset[str], ...]:
    """The ReaL labels (Beyer et al. 2020) of the validation images: the set of wnids of
    ``ILSVRC2012_val_%08d`` at index i-1, empty where the raters kept no label."""
    import gzip

    with gzip.open(DATA / "ilsvrc2012_real_labels.txt.gz", "rt", encoding="ascii") as fh:
        return tuple(frozenset(line.split()) for line in fh.read().split("\n")[:-1])
