"""What a bounding-box file holds once parsed: an image and its boxes.

Coordinates are pixel coordinates exactly as the XML writes them (the PASCAL VOC
convention ImageNet follows: the corners ``xmin ymin xmax ymax`` are inclusive pixel
positions; VOC counts from 1, and ImageNet's own files also hold 0, so no offset is
ever applied). They change only when asked (``normalize``: divided by the image
size; ``clip``: held inside the image) or to repair a known quirk, which is then
reported.

Records are named tuples: cheap to build in a worker, to pickle back to the main
process and to read in the writers' hot loops.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Number = int | float

# Pickled as "tuple.__new__(cls, fields)": rebuilt in C on the receiving side, where
# a named tuple's own __new__ is a Python call per record (results cross a process
# boundary by the hundred thousand).
_tuple_new = tuple.__new__


class Box(NamedTuple):
    """One ``<object>``: its class and its box."""

    wnid: str
    xmin: Number
    ymin: Number
    xmax: Number
    ymax: Number
    truncated: int | None = None
    difficult: int | None = None
    pose: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return _tuple_new, (Box, tuple(self))


class Annotation(NamedTuple):
    """One annotation file: the image it describes and its boxes.

    ``source`` is the file's path, or ``archive!member`` for a member of a tar.
    ``width``/``height``/``depth`` are None when the file does not give them.
    ``quirks`` lists what was repaired or found odd, one short text each.
    """

    image: str
    folder: str | None
    width: int | None
    height: int | None
    depth: int | None
    source: str
    boxes: tuple[Box, ...] = ()
    quirks: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return _tuple_new, (Annotation, tuple(self))


class BadFile(NamedTuple):
    """A file that could not be read as an annotation: where, and why."""

    source: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}: line {self.line}" if self.line else self.source
        return f"{where}: {self.reason}"


Result = Annotation | BadFile

COLUMNS: tuple[str, ...] = (
    "image",
    "folder",
    "wnid",
    "xmin",
    "ymin",
    "xmax",
    "ymax",
    "width",
    "height",
    "depth",
    "truncated",
    "difficult",
    "pose",
    "source",
)
NAME_COLUMNS: tuple[str, ...] = ("name", "ilsvrc_index")
BOX_FIELDS: tuple[str, ...] = Box._fields

# Below the 255-byte limit of common file systems, with room for a suffix and the
# temporary name an atomic write uses beside it.
MAX_NAME_BYTES = 200


def unsafe_part(name: str) -> str | None:
    """Why ``name`` (a value read from an XML file) cannot be one file or folder name
    inside an output folder, or None when it can. Refused: what could leave the
    folder (a path separator, ``.``, ``..``) or cannot be a name at all (empty, a
    control character such as NUL, tab or a line break, too long)."""
    if not name:
        return "empty"
    if name in (".", ".."):
        return f"{name!r} names a folder"
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "holds a control character such as NUL, tab or a line break"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    return None
