"""Bounding-box XML (PASCAL VOC layout, as ImageNet writes it) to :class:`Annotation`.

Two readers give the same result:

* a strict fast path: one compiled regular expression that accepts only the plain
  layout ImageNet's ~600,000 files use (known elements, in order, no attributes,
  ASCII text without ``<``, ``&`` or ``]``, optional UTF-8/ASCII declaration). Any
  document it matches is well formed, so nothing unsafe or malformed can get
  through it; it is about four times faster than building a tree.
* lxml, hardened, for everything else: no DTD loaded, no entity expansion, no
  network, no huge trees; a document that declares a DOCTYPE or an ENTITY is refused
  outright. A declared encoding (ISO-8859-1, UTF-16 ...) is honoured.

Files larger than a bound are refused before they are parsed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .records import Annotation, Box, Number

_tuple_new = tuple.__new__

if TYPE_CHECKING:
    from lxml import etree

MAX_BYTES = 1_000_000  # ImageNet's largest annotation file is under 10 kB


class XmlError(Exception):
    """A file that is not a readable annotation: the reason and, when known, the line."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


# ---------------------------------------------------------------- fast path

# The patterns work on text decoded as Latin-1 (never fails, one char per byte);
# their text class admits ASCII only, so what they accept is also valid UTF-8.
# Quantifiers are possessive (each class is always followed by a character outside
# it, so nothing they could give back would help): a file that does not fit fails at
# once instead of backtracking through every optional element.
_WS = r"[ \t\r\n]*+"
# Text: printable ASCII, tab and LF, but never '<', '&' or ']' (so no markup, no
# entity, no ']]>') and no CR (which XML would normalise).
_TEXT = r"[\t\n\x20-\x25\x27-\x3b\x3d-\x5c\x5e-\x7e]*+"


def _leaf(tag: str, capture: bool = True) -> str:
    body = f"({_TEXT})" if capture else _TEXT
    return f"<{tag}>{body}</{tag}>{_WS}"


def _opt(pattern: str) -> str:
    return f"(?:{pattern})?"


def _quoted(alternatives: str) -> str:
    return f"(?:\"(?:{alternatives})\"|'(?:{alternatives})')"


_DECL = _opt(
    r"<\?xml version="
    + _quoted(r"1\.0")
    + _opt(" encoding=" + _quoted("utf-8|UTF-8|utf8|UTF8|us-ascii|US-ASCII|ascii|ASCII"))
    + _opt(" standalone=" + _quoted("yes|no"))
    + r" ?\?>"
)
_OBJECT = (
    f"<object>{_WS}"
    + _leaf("name")
    + _opt(_leaf("pose"))
    + _opt(_leaf("truncated"))
    + _opt(_leaf("difficult"))
    + f"<bndbox>{_WS}"
    + _leaf("xmin")
    + _leaf("ymin")
    + _leaf("xmax")
    + _leaf("ymax")
    + f"</bndbox>{_WS}</object>{_WS}"
)
_OBJECT_RE = re.compile(_OBJECT)
_HEAD_RE = re.compile(
    _DECL
    + _WS
    + f"<annotation>{_WS}"
    + _opt(_leaf("folder"))
    + _opt(_leaf("filename"))
    + _opt(_leaf("path", False))
    + _opt(
        f"<source>{_WS}"
        + _opt(_leaf("database", False))
        + _opt(_leaf("annotation", False))
        + _opt(_leaf("image", False))
        + f"</source>{_WS}"
    )
    + _opt(
        f"<size>{_WS}" + _leaf("width") + _leaf("height") + _opt(_leaf("depth")) + f"</size>{_WS}"
    )
    + _opt(_leaf("segmented", False))
)
_TAIL_RE = re.compile(f"</annotation>{_WS}\\Z")


def _fast(data: bytes, source: str) -> Annotation | None:
    """The annotation when ``data`` is in the plain layout, else None. The head, each
    object and the tail are matched back to back, so together they cover the whole
    document or nothing is accepted."""
    found = _plain_parts(data.decode("latin-1"))
    if found is None:
        return None  # not the whole document: lxml says what is wrong
    (folder, filename, width, height, depth), objects = found
    boxes: list[Box] = []
    for name, pose, trunc, diff, x0, y0, x1, y1 in objects:
        name = name.strip()
        try:
            if not name:
                raise ValueError
            # int() skips surrounding whitespace itself. Built as a plain tuple of
            # the Box type (its Python-level __new__ costs as much as the match).
            box = _tuple_new(
                Box,
                (
                    name,
                    int(x0),
                    int(y0),
                    int(x1),
                    int(y1),
                    int(trunc) if trunc.strip() else None,
                    int(diff) if diff.strip() else None,
                    pose.strip() or None,
                ),
            )
        except ValueError:  # floats, odd flags, no name: the general route says what
            box = _box(
                name or None,
                x0.strip(),
                y0.strip(),
                x1.strip(),
                y1.strip(),
                trunc.strip(),
                diff.strip(),
                pose.strip() or None,
                len(boxes) + 1,
            )
        boxes.append(box)
    filename = filename.strip()
    if not filename or "%" in filename:
        filename = fallback_name(source)
    return _tuple_new(
        Annotation,
        (
            filename,
            folder.strip() or None,
            _size(width),
            _size(height),
            _size(depth),
            source,
            tuple(boxes),
            (),
        ),
    )


_ONE_RE = re.compile(_HEAD_RE.pattern + _OBJECT + f"</annotation>{_WS}\\Z")


def _plain_parts(text: str) -> tuple[tuple[str, ...], list[tuple[str, ...]]] | None:
    """The head's fields and each object's, when ``text`` is wholly in the plain
    layout; else None. The head, each object and the tail are matched back to back;
    a file with one object, as most are, in one match. ``groups("")``: an absent
    optional element reads as an empty one; both mean "not given"."""
    one = _ONE_RE.match(text)
    if one is not None:
        groups = one.groups("")
        return groups[:5], [groups[5:]]
    m = _HEAD_RE.match(text)
    if m is None:
        return None
    pos = m.end()
    match_object = _OBJECT_RE.match
    objects = []
    while (o := match_object(text, pos)) is not None:
        objects.append(o.groups(""))
        pos = o.end()
    if _TAIL_RE.match(text, pos) is None:
        return None
    return m.groups(""), objects


def plain_rows(data: bytes, source: str, sep: str) -> str | None:
    """The csv (``sep`` ",") or tsv ("\\t") rows of a file in the plain layout with
    nothing to repair, quote or look up, exactly as :func:`parse`,
    :func:`~.repair.repair` and the csv writer would give them; None for any other
    file, which then takes that route. Most of ImageNet's files are such, and
    matching straight to text skips building their records."""
    found = _plain_parts(data.decode("latin-1"))
    if found is None or not found[1]:
        return None  # not the plain layout, or no box to write
    (folder, image, width, height, depth), objects = found
    image = image.strip()
    if not image or "%" in image:
        return None
    try:
        w, h = int(width), int(height)
    except ValueError:
        return None
    if w <= 0 or h <= 0:
        return None
    depth = depth.strip()
    if not (depth.isdigit() and depth[0] != "0"):  # else as _size() reads it
        size = _size(depth)
        depth = "" if size is None else str(size)
    s = sep
    folder = folder.strip()
    out = ""
    for name, pose, trunc, diff, x0, y0, x1, y1 in objects:
        name, trunc, diff = name.strip(), trunc.strip(), diff.strip()
        if not name:
            return None
        try:
            a, b, c, d = int(x0), int(y0), int(x1), int(y1)
            t = int(trunc) if trunc else ""
            f = int(diff) if diff else ""
        except ValueError:
            return None
        if not (0 <= a <= c <= w and 0 <= b <= d <= h):
            return None
        row = (
            f"{image}{s}{folder}{s}{name}{s}{a}{s}{b}{s}{c}{s}{d}{s}{w}{s}{h}{s}"
            f"{depth}{s}{t}{s}{f}{s}{pose.strip()}{s}{source}"
        )
        if row.count(sep) != 13 or '"' in row or "\n" in row or "\r" in row:
            return None  # a field needs quoting
        out += row + "\n"
    return out


# ---------------------------------------------------------------- shared helpers


def _image(filename: str | None, source: str) -> str:
    # Some ImageNet files hold a printf placeholder ("%s") instead of the name.
    if filename is None or "%" in filename:
        return fallback_name(source)
    return filename


def _size(text: str | None) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
        if value > 0:
            return value
    except ValueError:
        try:
            value = int(float(text))
        except ValueError:
            return None
    return value if value > 0 else None


def _coord(text: str | None, what: str, k: int) -> Number:
    if not text:
        raise XmlError(f"object {k}: <{what}> is missing or empty")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise XmlError(f"object {k}: <{what}> {text[:40]!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise XmlError(f"object {k}: <{what}> {text[:40]!r} is not a number")
    return value


def _flag(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _box(
    name: str | None,
    x0: str | None,
    y0: str | None,
    x1: str | None,
    y1: str | None,
    trunc: str | None,
    diff: str | None,
    pose: str | None,
    k: int,
) -> Box:
    if name is None:
        raise XmlError(f"object {k} has no <name>")
    return Box(
        name,
        _coord(x0, "xmin", k),
        _coord(y0, "ymin", k),
        _coord(x1, "xmax", k),
        _coord(y1, "ymax", k),
        _flag(trunc),
        _flag(diff),
        pose,
    )


# ---------------------------------------------------------------- lxml path

_PARSER: etree.XMLParser | None = None


def _parser() -> etree.XMLParser:
    global _PARSER
    if _PARSER is None:
        from lxml import etree

        _PARSER = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            dtd_validation=False,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
    return _PARSER


def _text(el: Any) -> str | None:
    text = el.text
    if text is None:
        return None
    text = text.strip()
    return text or None


def _line(el: Any) -> int | None:
    line = el.sourceline
    return line if isinstance(line, int) else None


def _slow(data: bytes, source: str) -> Annotation:
    from lxml import etree

    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        at = data.find(marker)
        if at >= 0:
            raise XmlError(
                "DOCTYPE and ENTITY declarations are refused", data.count(b"\n", 0, at) + 1
            )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        message = (exc.msg or "not well-formed").splitlines()[0]
        message = re.sub(r",? line \d+, column \d+$", "", message)
        # libxml names the parser option that would lift its limit: that is not ours to lift
        message = re.sub(
            r",? use XML_PARSE_HUGE option$", " (the limit for untrusted files)", message
        )
        raise XmlError(f"malformed XML: {message}", exc.lineno or None) from None
    except ValueError as exc:  # e.g. an unsupported declared encoding
        raise XmlError(f"unreadable XML: {exc}") from None
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # Reached only by encodings the byte scan above cannot see (UTF-16, UTF-32).
        raise XmlError("DOCTYPE and ENTITY declarations are refused", 1)
    if root.tag != "annotation":
        raise XmlError(f"root element is <{root.tag}>, not <annotation>", _line(root))
    folder = filename = None
    width = height = depth = None
    boxes: list[Box] = []
    for child in root:
        tag = child.tag
        if tag == "object":
            fields: dict[str, str | None] = {}
            has_box = False
            for part in child:
                if part.tag == "bndbox":
                    has_box = True
                    for corner in part:
                        fields[corner.tag] = _text(corner)
                else:
                    fields.setdefault(part.tag, _text(part))
            k = len(boxes) + 1
            if not has_box:
                raise XmlError(f"object {k} has no <bndbox>", _line(child))
            try:
                boxes.append(
                    _box(
                        fields.get("name"),
                        fields.get("xmin"),
                        fields.get("ymin"),
                        fields.get("xmax"),
                        fields.get("ymax"),
                        fields.get("truncated"),
                        fields.get("difficult"),
                        fields.get("pose"),
                        k,
                    )
                )
            except XmlError as err:
                err.line = _line(child)
                raise
        elif tag == "filename" and filename is None:
            filename = _text(child)
        elif tag == "folder" and folder is None:
            folder = _text(child)
        elif tag == "size":
            for part in child:
                if part.tag == "width":
                    width = _size(_text(part))
                elif part.tag == "height":
                    height = _size(_text(part))
                elif part.tag == "depth":
                    depth = _size(_text(part))
    return Annotation(_image(filename, source), folder, width, height, depth, source, tuple(boxes))


# ---------------------------------------------------------------- entry points


def parse(data: bytes, source: str, *, fast: bool = True) -> Annotation:
    """Parse one annotation file's bytes. ``source`` names it (a path or
    ``archive!member``); its file name is the image id when ``<filename>`` is
    missing or a placeholder. Raises :class:`XmlError`.
    """
    if fast:
        ann = _fast(data, source)
        if ann is not None:
            return ann
    return _slow(data, source)


def fallback_name(source: str) -> str:
    """The image id a file's own name gives: ``a/n01_12.xml`` -> ``n01_12``."""
    base = source.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    return base[:-4] if base.lower().endswith(".xml") else base
