"""The true class of each image: image key -> wnid.

- ``val`` (or nothing): the built-in 50,000 ILSVRC-2012 validation labels;
- a folder of images by class: wnid folders (ImageNet-A/-R) or ``0``..``999`` index
  folders (ImageNet-V2); an image's key is its file name without extension;
- any label file or XML folder that ``subset extract --val-labels`` reads
  (:mod:`imagenet_cli.subset.labels`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import releases
from ..errors import UsageError
from ..ids import is_wnid
from ..subset import labels
from .readers import IMAGE_SUFFIXES, image_key


def load(spec: str | None) -> dict[str, str]:
    """The truth ``spec`` names (see the module doc)."""
    if spec is None or spec == "val":
        return labels.builtin()
    path = Path(spec)
    if path.is_dir():
        classes = _class_folders(path)
        if classes:
            return _from_class_folders(path, classes)
    return labels.load(spec)


def _class_folders(folder: Path) -> dict[str, str]:
    """Sub-folder name -> wnid when the folder is laid out by class, else empty."""
    found: dict[str, str] = {}
    for entry in os.scandir(folder):
        if not entry.is_dir():
            continue
        if is_wnid(entry.name):
            found[entry.name] = entry.name
        elif entry.name.isdigit() and int(entry.name) < 1000:
            found[entry.name] = releases.ilsvrc_wnid(int(entry.name))
    return found


def _from_class_folders(folder: Path, classes: dict[str, str]) -> dict[str, str]:
    truth: dict[str, str] = {}
    for sub, wnid in sorted(classes.items()):
        for dirpath, _dirs, names in os.walk(folder / sub):
            for name in names:
                if not name.lower().endswith(IMAGE_SUFFIXES):
                    continue
                key = image_key(name)
                if truth.setdefault(key, wnid) != wnid:
                    raise UsageError(
                        f"{Path(dirpath, name)}: the image name {key!r} is also in class "
                        f"{truth[key]}; image names must be unique across classes"
                    )
    if not truth:
        raise UsageError(f"{folder}: no images in its class folders")
    return truth
