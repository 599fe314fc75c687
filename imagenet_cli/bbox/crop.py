"""``imagenet bbox crop``: every box cut out of its image into ``OUT/<wnid>/<image>_<k>.jpg``.

``k`` counts the image's boxes from 0 in file order (after filtering it keeps the
box's position in the file, so names stay stable). Work items are images; the item
function :func:`crop_image` is pure and top-level, run by the engine's driver.

``<wnid>`` and ``<image>`` come from the XML file: a value that cannot be one name
inside ``OUT`` (:func:`~.records.unsafe_part`) is refused, never joined to a path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass

from ..cache import temp_name
from ..drivers import map_batches
from .outputs import make_folder
from .records import Annotation, unsafe_part
from .repair import find_image, upright


@dataclass(frozen=True, slots=True)
class CropOptions:
    """Where images are, where crops go, and how they are cut."""

    images: str
    out: str
    margin: int = 0
    min_size: int = 0
    quality: int = 90


@dataclass(frozen=True, slots=True)
class CropResult:
    """One image done: crops written, boxes skipped as too small, or why it failed;
    ``refused``: a line for each box whose class cannot name a folder."""

    source: str
    written: int = 0
    skipped: int = 0
    error: str | None = None
    refused: tuple[str, ...] = ()


CropJob = tuple[CropOptions, list[Annotation]]


def crop_image(ann: Annotation, opts: CropOptions) -> CropResult:
    """Cut out every box of one image (pure: reads the image, writes the crops)."""
    from PIL import Image, UnidentifiedImageError

    stem = os.path.splitext(ann.image)[0]
    problem = unsafe_part(ann.image) or unsafe_part(stem)
    if problem is not None:
        return CropResult(
            ann.source,
            error=f"<filename> {ann.image!r} cannot name a crop file ({problem}); image refused",
        )
    refused: list[str] = []
    path = find_image(opts.images, ann)
    if path is None:
        return CropResult(ann.source, error=f"image {ann.image} not found under {opts.images}")
    written = skipped = 0
    try:
        with Image.open(path) as im:
            im.load()
            turned = upright(im, ann.width, ann.height)
            rgb = turned.convert("RGB") if turned.mode != "RGB" else turned
            iw, ih = rgb.size
            sx = iw / ann.width if ann.width else 1.0
            sy = ih / ann.height if ann.height else 1.0
            for k, b in enumerate(ann.boxes):
                problem = unsafe_part(b.wnid)
                if problem is not None:
                    refused.append(
                        f"object {k + 1}: <name> {b.wnid!r} cannot name a folder "
                        f"in {opts.out} ({problem}); box refused"
                    )
                    continue
                x0 = max(0, int(b.xmin * sx) - opts.margin)
                y0 = max(0, int(b.ymin * sy) - opts.margin)
                x1 = min(iw, round(b.xmax * sx) + 1 + opts.margin)
                y1 = min(ih, round(b.ymax * sy) + 1 + opts.margin)
                if x1 - x0 < max(1, opts.min_size) or y1 - y0 < max(1, opts.min_size):
                    skipped += 1
                    continue
                folder = os.path.join(opts.out, b.wnid)
                os.makedirs(folder, exist_ok=True)
                target = os.path.join(folder, f"{stem}_{k}.jpg")
                tmp = temp_name(target)
                rgb.crop((x0, y0, x1, y1)).save(tmp, "JPEG", quality=opts.quality)
                os.replace(tmp, target)
                written += 1
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        error = f"cannot crop {path}: {exc}"
        return CropResult(ann.source, written, skipped, error, tuple(refused))
    return CropResult(ann.source, written, skipped, refused=tuple(refused))


def crop_batch(job: CropJob) -> list[CropResult]:
    """:func:`crop_image` over a batch of images."""
    opts, anns = job
    return [crop_image(ann, opts) for ann in anns]


def _jobs(anns: Iterable[Annotation], opts: CropOptions, size: int = 16) -> Iterator[CropJob]:
    batch: list[Annotation] = []
    for ann in anns:
        if not ann.boxes:
            continue
        batch.append(ann)
        if len(batch) >= size:
            yield opts, batch
            batch = []
    if batch:
        yield opts, batch


def crop(
    anns: Iterable[Annotation],
    opts: CropOptions,
    *,
    workers: int = 1,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> Generator[CropResult, None, None]:
    """Crop every box of ``anns``; one result per image, in input order."""
    make_folder("--out", opts.out)
    for results in map_batches(crop_batch, _jobs(anns, opts), workers=workers):
        if progress is not None:
            progress(len(results), None, "")
        yield from results
