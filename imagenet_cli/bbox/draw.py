"""``imagenet bbox draw``: an image with its boxes and class names drawn on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..cache import atomic_write
from ..errors import NotFoundError, UsageError
from .inputs import read_bounded
from .outputs import cannot_write, check_file
from .parse import MAX_BYTES, XmlError, parse
from .records import Annotation
from .repair import repair, upright

PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
)


@dataclass(frozen=True)
class Drawn:
    """What was drawn: the output file, the annotation file used, the box count."""

    output: Path
    xml: Path
    boxes: int
    quirks: tuple[str, ...]


def find_xml(image: Path, annotations: Path | None) -> Path:
    """The annotation file of ``image``: beside it, or under ``annotations``
    (flat, in a folder named like the image's wnid prefix or its own folder)."""
    stem = image.stem
    candidates = [image.with_suffix(".xml")]
    if annotations is not None:
        prefix = stem.split("_", 1)[0]
        candidates = [
            annotations / f"{stem}.xml",
            annotations / prefix / f"{stem}.xml",
            annotations / image.parent.name / f"{stem}.xml",
            *candidates,
        ]
    for path in candidates:
        if path.is_file():
            return path
    where = (
        f"beside the image or under {annotations}"
        if annotations
        else "beside the image (or give --annotations DIR)"
    )
    raise NotFoundError(f"no annotation file {stem}.xml found {where}")


def load(xml: Path, max_bytes: int = MAX_BYTES) -> Annotation:
    """Read and repair one annotation file; unreadable ones raise UsageError."""
    try:
        data = read_bounded(str(xml), max_bytes)
        return repair(parse(data, str(xml)))
    except FileNotFoundError:
        raise NotFoundError(f"{xml}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{xml}: cannot read: {exc}") from None
    except XmlError as exc:
        where = f"{xml}: line {exc.line}" if exc.line else str(xml)
        raise UsageError(f"{where}: {exc.reason}") from None


def _format_for(output: Path) -> str:
    """The Pillow format ``output``'s suffix names (PNG without one): before any work,
    so that an unknown suffix is refused, not written as PNG under its name."""
    from PIL import Image

    suffix = output.suffix.lower()
    if not suffix:
        return "PNG"
    fmt = Image.registered_extensions().get(suffix)  # every plugin loaded, writers too
    if fmt is None or fmt not in Image.SAVE:
        raise UsageError(f"-o {output}: Pillow writes no image format named {suffix} (try .png)")
    return fmt


def draw(
    image: Path,
    output: Path,
    xml: Path | None = None,
    *,
    annotations: Path | None = None,
    names: Callable[[str], tuple[str | None, int | None]] | None = None,
) -> Drawn:
    """Draw the boxes of ``image``'s annotation on it and save to ``output``
    (format from its suffix, PNG when it has none)."""
    from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

    check_file("-o", output)
    fmt = _format_for(output)
    if not image.exists():  # named first: the annotation beside it is missing too
        raise NotFoundError(f"{image}: no such file")
    xml = xml or find_xml(image, annotations)
    ann = load(xml)
    try:
        with Image.open(image) as im:
            canvas = upright(im, ann.width, ann.height).convert("RGB")
    except FileNotFoundError:
        raise NotFoundError(f"{image}: no such file") from None
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise UsageError(f"{image}: cannot read the image: {exc}") from None
    pen = ImageDraw.Draw(canvas)
    side = max(canvas.size)
    width = max(2, side // 200)
    font = ImageFont.load_default(size=max(12, side // 40))
    # Boxes were written for the image's stated size; scale if the file differs.
    sx = canvas.width / ann.width if ann.width else 1.0
    sy = canvas.height / ann.height if ann.height else 1.0
    colours: dict[str, tuple[int, int, int]] = {}
    for b in ann.boxes:
        colour = colours.setdefault(b.wnid, PALETTE[len(colours) % len(PALETTE)])
        x0, y0, x1, y1 = b.xmin * sx, b.ymin * sy, b.xmax * sx, b.ymax * sy
        pen.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        label = (names(b.wnid)[0] if names else None) or ""
        text = f"{b.wnid} {label}".strip()
        left, top, right, bottom = pen.textbbox((0, 0), text, font=font)
        tw, th = right - left, bottom - top
        ty = y0 - th - 2 * width if y0 - th - 2 * width >= 0 else y0 + width
        pen.rectangle((x0, ty, x0 + tw + 2 * width, ty + th + 2 * width), fill=colour)
        pen.text((x0 + width - left, ty + width - top), text, fill=(0, 0, 0), font=font)
    try:
        # whole or not at all; a device or FIFO (/dev/stdout) is written in place
        with atomic_write(output, "wb") as fh:
            canvas.save(fh, format=fmt)
    except OSError as exc:
        raise cannot_write("-o", output, exc) from None
    except ValueError as exc:  # Pillow: no writer for this suffix
        raise UsageError(f"-o {output}: cannot write: {exc}") from None
    return Drawn(output, xml, len(ann.boxes), ann.quirks)
