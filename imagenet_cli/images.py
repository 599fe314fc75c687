"""Pillow checks on downloaded bytes: is it a whole image, a real photo, big enough.

:func:`check_image` is a pure, top-level function (bytes in, :class:`Checked` out)
so a process pool can run it off the event loop. Pillow's decompression-bomb limit
stays on: an image over it is refused as ``too_large``.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from PIL.ImageFile import ImageFile

# Formats worth keeping; anything else Pillow can identify is refused as not_image.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tif",
}

# Flickr's "This photo is no longer available" image, served instead of a deleted
# photo, comes in Flickr's fixed sizes for each size suffix, as a flat light-grey
# field with one line of grey text. A photo of exactly one of those sizes that is
# nearly a single flat grey is taken for it (see _looks_like_placeholder).
PLACEHOLDER_SIZES = frozenset(
    {
        (500, 374),
        (240, 179),
        (240, 180),
        (100, 75),
        (75, 75),
        (1024, 768),
        (640, 480),
        (320, 240),
        (150, 150),
    }
)

_HTML_MARKERS = (b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<svg")


@dataclass(frozen=True)
class ImageOptions:
    """What an image must be to be kept, and how it is written."""

    min_side: int = 0
    resize: int | None = None  # shorter side, only ever downscaled
    image_format: str = "jpeg"  # "jpeg" or "keep"
    quality: int = 90
    placeholders: frozenset[str] = field(default_factory=frozenset)  # sha256 hex digests
    detect_placeholder: bool = True


@dataclass
class Checked:
    """The verdict on one body: ``ok`` with the bytes to write, or a refusal status."""

    status: str  # ok, not_image, corrupt, placeholder, too_small, too_large
    data: bytes | None = None
    ext: str = ""
    width: int | None = None
    height: int | None = None
    sha256: str = ""
    error: str = ""


def sha256(data: bytes) -> str:
    import hashlib  # here: subset's resize workers use this module but never hash

    return hashlib.sha256(data).hexdigest()


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip().lower()
    return text.startswith(b"<") and any(m in text for m in _HTML_MARKERS)


@functools.cache
def load_plugins() -> None:
    """Register Pillow's readers of :data:`FORMATS`, and no others.

    ``Image.open(..., formats=FORMATS)`` looks only among registered plugins, and
    ``Image.init()`` would import all forty of them (about 0.1 s). Once per process.
    """
    from PIL import (  # noqa: F401
        BmpImagePlugin,
        GifImagePlugin,
        JpegImagePlugin,
        PngImagePlugin,
        TiffImagePlugin,
        WebPImagePlugin,
    )


def open_bytes(data: bytes, formats: tuple[str, ...] | None = None) -> ImageFile:
    """``Image.open`` over an encoded image in memory. Its decoder takes ``data`` in one
    piece, not 64 kB at a time (each further piece copied onto what the last one left)."""
    from PIL import Image

    im = Image.open(io.BytesIO(data), formats=formats)
    im.decodermaxblock = max(im.decodermaxblock, len(data))
    return im


def check_image(body: bytes, options: ImageOptions) -> Checked:
    """Decode ``body`` fully and decide whether to keep it (converted and resized as asked)."""
    from PIL import Image, UnidentifiedImageError

    load_plugins()
    digest = sha256(body)
    if digest in options.placeholders:
        return Checked("placeholder", sha256=digest, error="a known placeholder image")
    if _looks_like_html(body[:512]):
        return Checked("not_image", sha256=digest, error="an HTML page, not an image")
    try:
        im = open_bytes(body, FORMATS)
        fmt = im.format or ""
        width, height = im.size
        if fmt == "JPEG" and _keeps_bytes(im.mode, (width, height), fmt, options):
            # Its bytes are kept as they are, so no pixels are needed: draft mode has
            # libjpeg scale by 1/8 while it still entropy-decodes the whole stream,
            # so truncation and corruption fail exactly as in a full decode.
            im.draft(im.mode, (1, 1))
        im.load()  # the whole image: a truncated or corrupt file fails here
    except Image.DecompressionBombError as exc:
        return Checked("too_large", sha256=digest, error=str(exc).splitlines()[0])
    except UnidentifiedImageError:
        return Checked("not_image", sha256=digest, error="not an image Pillow can read")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return Checked("corrupt", sha256=digest, error=f"does not decode: {exc}")
    if (
        options.detect_placeholder
        and (width, height) in PLACEHOLDER_SIZES
        and _looks_like_placeholder(im)
    ):
        return Checked(
            "placeholder",
            sha256=digest,
            width=width,
            height=height,
            error="looks like a 'photo unavailable' placeholder",
        )
    if min(width, height) < options.min_side:
        return Checked(
            "too_small",
            sha256=digest,
            width=width,
            height=height,
            error=f"{width}x{height}, shorter side under {options.min_side}",
        )
    return _encode(body, digest, im, fmt, (width, height), options)


def _looks_like_placeholder(im: PILImage) -> bool:
    """A flat, grey field: 90 % of pixels within a few levels of one light or mid grey."""
    from PIL import Image, ImageChops

    small = im.convert("RGB").resize((64, 48), Image.Resampling.NEAREST)
    r, g, b = small.split()
    # A pixel is colourful when its channels spread by more than 12 levels.
    spread = ImageChops.subtract(
        ImageChops.lighter(ImageChops.lighter(r, g), b),
        ImageChops.darker(ImageChops.darker(r, g), b),
    )
    if sum(spread.histogram()[13:]) > 0.05 * 64 * 48:
        return False
    hist = small.convert("L").histogram()
    peak = max(range(256), key=hist.__getitem__)
    near = sum(hist[max(0, peak - 3) : peak + 4])
    return 96 <= peak <= 250 and near >= 0.9 * 64 * 48


def _keeps_bytes(mode: str, size: tuple[int, int], fmt: str, options: ImageOptions) -> bool:
    """Whether the body is written as it came (no conversion, resize or re-encode),
    and no check needs its pixels (a placeholder-sized image is looked at)."""
    target = "JPEG" if options.image_format == "jpeg" else fmt
    needs_resize = bool(options.resize) and min(size) > (options.resize or 0)
    if mode not in ("RGB", "L") or needs_resize or target != fmt:
        return False
    return not (options.detect_placeholder and size in PLACEHOLDER_SIZES)


def _encode(
    body: bytes, digest: str, im: PILImage, fmt: str, size: tuple[int, int], options: ImageOptions
) -> Checked:
    from PIL import Image, ImageOps

    width, height = size
    mode = im.mode
    needs_mode = mode not in ("RGB", "L")
    target = "JPEG" if options.image_format == "jpeg" else fmt
    needs_resize = bool(options.resize) and min(width, height) > (options.resize or 0)
    if not needs_mode and not needs_resize and target == fmt:
        # Already what we want: keep the original bytes, untouched.
        return Checked("ok", body, EXTENSIONS.get(fmt, fmt.lower()), width, height, digest)
    out = im
    if needs_resize or needs_mode:
        out = ImageOps.exif_transpose(out) or out
    if needs_mode:
        out = _to_rgb(out)
    if needs_resize and options.resize:
        scale = options.resize / min(out.size)
        size = (max(1, round(out.size[0] * scale)), max(1, round(out.size[1] * scale)))
        out = out.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if target not in ("JPEG", "PNG", "WEBP") or (target == "JPEG" and out.mode not in ("RGB", "L")):
        target = "JPEG" if target not in ("PNG", "WEBP") else target
        out = _to_rgb(out) if out.mode not in ("RGB", "L") else out
    buf = io.BytesIO()
    if target == "JPEG":
        out.save(buf, "JPEG", quality=options.quality, optimize=False)
    else:
        out.save(buf, target)
    data = buf.getvalue()
    w, h = out.size
    return Checked("ok", data, EXTENSIONS[target], w, h, sha256(data))


def _to_rgb(im: PILImage) -> PILImage:
    """RGB, or L for a gray image of more than 8 bits a sample (16-bit PNG and TIFF),
    scaled down: converted as they are, its levels would clip to white."""
    from PIL import Image

    if im.mode == "I" or im.mode.startswith("I;16"):
        return im.convert("I").point(lambda v: v / 256).convert("L")
    if im.mode == "CMYK":
        return im.convert("RGB")
    if im.mode in ("P", "PA", "RGBA", "LA", "La", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")
