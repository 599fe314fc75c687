"""Known quirks of ImageNet's box files, repaired or reported, one note per kind.

* ``xmin > xmax`` or ``ymin > ymax``: the corners are swapped back.
* float coordinates (``12.5``): rounded to the nearest whole pixel (halves up).
* missing or zero image size: read from the image when an images folder is given,
  else reported (normalising then fails for that file).
* a box past the image edge (below 0, or beyond the width/height): clipped to the
  image with ``clip``, else reported and kept as written.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .records import Annotation, Number, unsafe_part

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = (".JPEG", ".jpg", ".jpeg", ".JPG", ".png", ".PNG")


def _round(v: Number) -> int:
    return v if isinstance(v, int) else math.floor(v + 0.5)


def _note(kind: str, ks: Sequence[int]) -> str:
    which = "box" if len(ks) == 1 else "boxes"
    return f"{which} {', '.join(map(str, ks))}: {kind}"


def find_image(images: str, ann: Annotation) -> str | None:
    """The image file an annotation describes, under ``images``: flat, or in a
    subfolder named by the annotation's folder or its first box's wnid. Names from
    the XML that could lead out of ``images`` (:func:`~.records.unsafe_part`) are
    not followed."""
    if unsafe_part(ann.image) is not None:
        return None
    stems = [ann.image]
    subdirs = [""]
    if ann.folder:
        subdirs.append(ann.folder)
    if ann.boxes and ann.boxes[0].wnid != ann.folder:
        subdirs.append(ann.boxes[0].wnid)
    prefix = ann.image.split("_", 1)[0]
    if prefix not in subdirs:
        subdirs.append(prefix)
    for sub in subdirs:
        if sub and unsafe_part(sub) is not None:
            continue
        for stem in stems:
            base = os.path.join(images, sub, stem)
            if os.path.splitext(stem)[1] and os.path.isfile(base):
                return base
            for suffix in IMAGE_SUFFIXES:
                if os.path.isfile(base + suffix):
                    return base + suffix
    return None


_ORIENTATION = 0x0112  # EXIF: how the stored pixels are to be turned for display
_TURNED = (5, 6, 7, 8)  # the orientations that swap width and height


def upright(im: Image.Image, width: int | None, height: int | None) -> Image.Image:
    """``im`` as the annotation's boxes were drawn on it. The ``<size>`` tells: a
    JPEG stored on its side with an EXIF orientation whose size, once turned, is the
    annotated one (and stored, is not) is turned; any other image is kept as stored."""
    if not width or not height or im.size == (width, height) or im.size != (height, width):
        return im
    if im.getexif().get(_ORIENTATION) not in _TURNED:
        return im
    from PIL import ImageOps

    return ImageOps.exif_transpose(im)


def image_size(path: str) -> tuple[int, int, int] | None:
    """Width, height and channel count from an image's header (no full decode)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size[0], im.size[1], len(im.getbands())
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None


def repair(ann: Annotation, *, clip: bool = False, images: str | None = None) -> Annotation:
    """The annotation with known quirks repaired, each kind noted once in ``quirks``."""
    width, height = ann.width, ann.height
    if width is not None and height is not None:
        # Nearly every file: whole-pixel corners, in order, inside the image.
        for _, x0, y0, x1, y1, *_ in ann.boxes:
            if not (
                type(x0) is int
                and type(y0) is int
                and type(x1) is int
                and type(y1) is int
                and 0 <= x0 <= x1 <= width
                and 0 <= y0 <= y1 <= height
            ):
                break
        else:
            return ann
    floats: list[int] = []
    swapped: list[int] = []
    outside: list[int] = []
    quirks: list[str] = []
    width, height, depth = ann.width, ann.height, ann.depth
    if width is None or height is None:
        found = find_image(images, ann) if images else None
        size = image_size(found) if found else None
        if size is not None:
            width, height = size[0], size[1]
            depth = depth or size[2]
            quirks.append("image size missing or zero, read from the image")
        elif images:
            quirks.append(f"image size missing or zero, and no readable image under {images}")
        else:
            quirks.append(
                "image size missing or zero (give --images DIR to read it from the image)"
            )
    boxes = list(ann.boxes)
    for i, b in enumerate(boxes):
        k = i + 1
        x0, y0, x1, y1 = b.xmin, b.ymin, b.xmax, b.ymax
        rounded = not (type(x0) is int and type(y0) is int and type(x1) is int and type(y1) is int)
        if rounded:
            floats.append(k)
            x0, y0, x1, y1 = _round(x0), _round(y0), _round(x1), _round(y1)
        if x0 > x1 or y0 > y1:
            swapped.append(k)
            x0, x1 = min(x0, x1), max(x0, x1)
            y0, y1 = min(y0, y1), max(y0, y1)
        if (
            width is not None
            and height is not None
            and (x0 < 0 or y0 < 0 or x1 > width or y1 > height)
        ):
            outside.append(k)
            if clip:
                x0, x1 = min(max(x0, 0), width), min(max(x1, 0), width)
                y0, y1 = min(max(y0, 0), height), min(max(y1, 0), height)
        # 100.0 == 100: a rounded box is replaced even when its values compare equal.
        if rounded or (x0, y0, x1, y1) != (b.xmin, b.ymin, b.xmax, b.ymax):
            boxes[i] = b._replace(xmin=x0, ymin=y0, xmax=x1, ymax=y1)
    if floats:
        quirks.append(_note("float coordinates, rounded to whole pixels", floats))
    if swapped:
        quirks.append(_note("min > max, corners swapped", swapped))
    if outside:
        kind = "past the image edge, clipped" if clip else "past the image edge, kept (use --clip)"
        quirks.append(_note(kind, outside))
    if not quirks:
        return ann
    return ann._replace(
        width=width, height=height, depth=depth, boxes=tuple(boxes), quirks=tuple(quirks)
    )


def normalized(ann: Annotation) -> Annotation:
    """Coordinates divided by the image size (0-1); the size must be known."""
    w, h = ann.width, ann.height
    assert w and h
    return ann._replace(
        boxes=tuple(
            b._replace(xmin=b.xmin / w, ymin=b.ymin / h, xmax=b.xmax / w, ymax=b.ymax / h)
            for b in ann.boxes
        )
    )
