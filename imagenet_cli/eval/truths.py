"""The true class of each image: image key -> wnid, in the order an array's rows follow.

- ``val`` (or nothing): the built-in 50,000 ILSVRC-2012 validation labels, in
  validation order;
- ``real``: the same, with the ReaL labels of each image (Beyer et al. 2020);
- a folder of images by class: wnid folders (ImageNet-A/-R) or ``0``..``999`` index
  folders (ImageNet-V2); an image's key is its file name without extension. The order is
  torchvision's ``ImageFolder`` order: class folders sorted by name, then the files
  under each, sorted;
- any label file or XML folder that ``subset extract --val-labels`` reads
  (:mod:`imagenet_cli.subset.labels`), in image-name order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import releases
from ..errors import UsageError
from ..ids import image_key, is_wnid
from ..subset import labels

# torchvision's IMG_EXTENSIONS: a folder read as ImageFolder reads it, row for row
FOLDER_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# releases whose test sets ship as class folders of a part of the 1,000 classes
FOLDER_RELEASES = ("imagenet-a", "imagenet-r")


@dataclass
class Truth:
    """The labels, the ReaL sets when asked for, and the release a folder's classes are."""

    labels: dict[str, str]
    real: dict[str, frozenset[str]] | None = None
    release: str | None = None


def load(spec: str | None) -> Truth:
    """The truth ``spec`` names (see the module doc)."""
    if spec is None or spec == "val":
        return Truth(labels.builtin())
    if spec == "real":
        builtin = labels.builtin()
        return Truth(builtin, dict(zip(builtin, releases.real_labels(), strict=True)))
    path = Path(spec)
    if path.is_dir():
        classes = _class_folders(path)
        if classes:
            found = _from_class_folders(path, classes)
            kinds = set(found.values())
            same = [r for r in FOLDER_RELEASES if releases.class_set(r) == kinds]
            return Truth(found, release=same[0] if same else None)
    return Truth(dict(sorted(labels.load(spec).items())))


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
        for dirpath, _dirs, names in sorted(os.walk(folder / sub, followlinks=True)):
            for name in sorted(names):
                if not name.lower().endswith(FOLDER_EXTENSIONS):
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
