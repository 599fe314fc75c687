"""Image sizes from headers, and the resize that writes a subset's JPEGs.

Copy and link modes never decode: the manifest's width and height come from the
JPEG SOF or PNG IHDR header (Pillow only for other formats). Resizing decodes with
JPEG draft mode, which lets libjpeg scale by 1/2, 1/4 or 1/8 in the DCT domain
while staying at least as large as the target, so most of the decoding work of a
500 px image resized to 160 px is never done.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

RESIZE_MODES = ("shorter", "longer", "center-crop")
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_PNG = b"\x89PNG\r\n\x1a\n"
# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
_SWAPS = frozenset({5, 6, 7, 8})


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a JPEG or PNG header, or None when not found in ``data``."""
    if data[:2] == b"\xff\xd8":
        i, n = 2, len(data)
        while i + 9 < n:
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
                i += 2
                continue
            if marker in _SOF:
                return (data[i + 7] << 8) | data[i + 8], (data[i + 5] << 8) | data[i + 6]
            i += 2 + ((data[i + 2] << 8) | data[i + 3])
        return None
    if data[:8] == _PNG and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of an encoded image, from its header; raises ValueError if not an image."""
    found = header_size(data)
    if found is not None and found[0] > 0 and found[1] > 0:
        return found
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except UnidentifiedImageError:
        raise ValueError(not_an_image(data)) from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"not an image ({exc})") from None


def not_an_image(data: bytes) -> str:
    """Why ``data`` is refused when Pillow finds no format in it (its own message
    would name an in-memory buffer by its address)."""
    return "an empty file, not an image" if not data else "not an image Pillow can read"


def file_size(path: str) -> tuple[int, int]:
    """(width, height) of the image file at ``path``, reading as little as it can."""
    with open(path, "rb") as fh:
        head = fh.read(4096)  # SOF comes early unless a big EXIF or ICC block precedes it
        found = header_size(head)
        if found is not None and found[0] > 0:
            return found
        return image_size(head + fh.read())


def target_size(width: int, height: int, size: int, mode: str) -> tuple[int, int]:
    """The size before any crop: the shorter (or longer) side becomes ``size``.

    Images already small enough keep their size, except for ``center-crop``, which
    always fills ``size`` x ``size``.
    """
    side = max(width, height) if mode == "longer" else min(width, height)
    scale = size / side
    if scale >= 1 and mode != "center-crop":
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(
    data: bytes, size: int, mode: str = "shorter", quality: int = 90
) -> tuple[bytes, int, int]:
    """``data`` decoded, oriented upright, resized and encoded as RGB JPEG: (bytes, w, h)."""
    from PIL import Image, UnidentifiedImageError

    from ..images import open_bytes  # here: copies and links never decode

    try:
        opened = open_bytes(data)
    except UnidentifiedImageError:
        raise ValueError(not_an_image(data)) from None
    with opened as im:
        width, height = im.size
        tw, th = target_size(width, height, size, mode)
        if im.format == "JPEG" and tw < width:
            im.draft("RGB", (tw, th))
        orientation = im.getexif().get(0x0112, 1)
        img: PILImage = im
        if orientation in (2, 3, 4, 5, 6, 7, 8):
            from PIL import ImageOps  # only for the few images not stored upright

            img = ImageOps.exif_transpose(im)
            if orientation in _SWAPS:
                tw, th = th, tw
        img = _rgb(img)
        if img.size != (tw, th):
            img = img.resize((tw, th), Image.Resampling.BICUBIC)
        if mode == "center-crop":
            left, top = (tw - size) // 2, (th - size) // 2
            img = img.crop((left, top, left + size, top + size))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=quality)
        return out.getvalue(), img.width, img.height


def _rgb(img: PILImage) -> PILImage:
    from PIL import Image

    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if img.mode.startswith("I;16") or (img.mode == "I" and img.getextrema()[1] > 255):  # type: ignore[operator]
        # 16-bit gray: converting straight to 8 bits clips everything above 255 to white
        img = img.convert("I").point(lambda v: v / 256)
    return img.convert("RGB")  # CMYK (Adobe inversion handled by the decoder), L, P
