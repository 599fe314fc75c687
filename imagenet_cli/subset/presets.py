"""The presets: class lists and image lists, as rows; a preset's classes, as rows."""

from __future__ import annotations

from collections.abc import Iterator

from .. import releases
from ..errors import NotFoundError
from ..hierarchy import Hierarchy
from . import image_lists

PRESET_COLUMNS = ["name", "kind", "count", "images", "title", "source"]


def catalog_rows() -> Iterator[dict[str, object]]:
    """One row per list a subset can be drawn from: the class lists (``count``: their
    classes), then the image lists (kind ``images``; ``count``: the classes of their
    images, ``images``: how many they name)."""
    for c in releases.catalog().values():
        yield {
            "name": c.name,
            "kind": c.kind,
            "count": c.count,
            "images": None,
            "title": c.title,
            "source": c.source,
        }
    for i in image_lists.catalog().values():
        yield {
            "name": i.name,
            "kind": "images",
            "count": i.classes,
            "images": i.count,
            "title": i.title,
            "source": i.source,
        }


def preset_rows(name: str) -> Iterator[dict[str, object]]:
    """One row per class of preset ``name``, in sorted-wnid order (the ImageFolder index);
    for an image list, the classes of its images."""
    wnids = image_lists.preset_classes(name)
    h = Hierarchy.default()
    for index, wnid in enumerate(wnids):
        try:
            label = h.get(wnid).label
        except NotFoundError:
            label = ""
        yield {"wnid": wnid, "index": index, "name": label}
