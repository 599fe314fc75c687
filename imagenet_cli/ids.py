"""Identifier forms (wnid, offset, nltk name) and reading ids from arguments or stdin."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from .errors import NotFoundError, UsageError

WNID_RE = re.compile(r"^n(\d{8})$")
OFFSET_RE = re.compile(r"^(\d{8})$")
NAME_RE = re.compile(r"^(.+)\.([a-zA-Z])\.(\d{1,3})$")  # any case, as the lemma: DOG.N.01
SHOWN = 200  # the most of a value a message echoes
MAX_LINE = 65_536  # the most of a line of ids held at once; the rest is counted, not kept


def clip(text: str, total: int | None = None) -> str:
    """``text`` as a message echoes it: whole up to :data:`SHOWN` characters, else its
    start and its length (``nnnn… (209,715,370 characters)``); ``total`` is the length
    of the whole when ``text`` is already only its start."""
    total = len(text) if total is None else total
    if total <= SHOWN:
        return text
    return f"{text[:SHOWN]}… ({total:,} characters)"


def printable(name: str) -> str:
    """``name`` safe to print and store: bytes that were not UTF-8 as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# How one value is written in a cell of a csv, tsv or table row: the one rule of the
# command's rows (cli/output) and the bounding-box writers (bbox/writers). None is an
# empty cell, a bool true/false, a list its items joined by ``sep``, a float its repr (a
# whole one as 1.0), anything else its str; quoting is the csv module's business.


def cell(value: object, sep: str = ",") -> str:
    """``value`` as the text of one cell (unquoted)."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str or kind is int:  # the common case first: a box writer's every field
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return sep.join(cell(v) for v in value)
    if isinstance(value, float):
        if value != value or abs(value) >= 1e16:  # nan, inf and the huge: no int() of them
            return repr(value)
        return repr(value) if value != int(value) else f"{value:.1f}"
    return str(value)


def tsv_cell(value: object) -> str:
    """``value`` as a tsv cell: :func:`cell`, a tab or line break in it as a space."""
    text = cell(value)
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text


def is_utf8(text: str) -> bool:
    """Whether ``text`` came from valid UTF-8: an argument, a line or a file name that
    was not holds lone surrogates (Python's stand-ins for its bytes), which neither
    SQLite nor a UTF-8 manifest can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def offset_of(text: str) -> int | None:
    """The WordNet offset in a wnid (``n02084071``) or bare offset (``02084071``), else None."""
    text = text.strip()
    match = WNID_RE.match(text) or OFFSET_RE.match(text)
    return int(match.group(1)) if match else None


def wnid(offset: int) -> str:
    """The wnid of a noun synset offset."""
    return f"n{offset:08d}"


IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def image_key(image: str) -> str:
    """An image id without its folders and image extension: ``val/x.JPEG`` -> ``x``."""
    name = image.strip().replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    if dot and f".{suffix.lower()}" in IMAGE_SUFFIXES:
        return stem
    return name


def is_wnid(text: str) -> bool:
    """Whether ``text`` has the form of a wnid."""
    return WNID_RE.match(text) is not None


def expand_stdin(values: Iterable[str], stream: IO[str] | None = None) -> Iterator[str]:
    """The values, each ``-`` replaced by the lines of ``stream`` (stdin by default).

    Blank lines and ``#`` comments (whole-line or trailing) are skipped; only the first
    field of a line counts (up to a tab, comma or space), so ``imagenet synset search dog |
    imagenet synset show -`` works on tsv output (its header line, whose first field is
    ``wnid``, is skipped too), and so does Kaggle's ``LOC_synset_mapping.txt``
    (``n01440764 tench, Tinca tinca``). A UTF-8 byte order mark is ignored.
    """
    for value in values:
        if value != "-":
            yield value
            continue
        for _number, item in _numbered(stream or _stdin(), "<stdin>"):
            yield item


def stdin_once(given: Mapping[str, str | Sequence[str] | None]) -> None:
    """A :class:`UsageError` when ``-`` (stdin) is given more than once among the options
    ``given`` (name -> value or values): the second would read an empty stdin."""
    dashes = sum(
        [v] == ["-"] if isinstance(v, str) else list(v or ()).count("-") for v in given.values()
    )
    if dashes > 1:
        names = ", ".join(given)
        raise UsageError(f"stdin ('-') can be read once: give '-' to one of {names}, once")


def _stdin() -> IO[str]:
    """The process's stdin, or a :class:`UsageError` when it has none (closed: ``<&-``)."""
    if sys.stdin is None:
        raise UsageError("-: stdin is closed: there are no ids to read from it")
    return sys.stdin


def _line_id(line: str) -> str:
    """The id on a line of a list: its first field, "" for a blank, comment or header."""
    # No id form holds a space, comma or '#': whatever follows one is a name or a note.
    fields = line.lstrip("\ufeff").split("#", 1)[0].replace(",", " ").split(None, 1)
    item = fields[0] if fields else ""
    return "" if item == "wnid" else item


def read_id_lines(path: str) -> list[tuple[int, str]]:
    """``(line number, id)`` of each id in a file (``-``: stdin), read as
    :func:`expand_stdin` reads them, so errors can name the line."""
    if path == "-":
        return list(_numbered(_stdin(), "<stdin>"))
    try:
        with Path(path).open(encoding="utf-8") as fh:
            return list(_numbered(fh, path))
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotFoundError(f"{path}: cannot read: {exc}") from None


def listed_ids(values: Iterable[str], files: Iterable[str]) -> list[tuple[str, str]]:
    """``(where, id)`` for ids given as arguments and in files (``-``: stdin), ``where``
    naming a file's line (``"ids.txt: line 4: "``) for error messages."""
    pairs = [("", ident) for ident in values]
    for path in files:
        name = "<stdin>" if path == "-" else path
        pairs += [(f"{name}: line {number}: ", ident) for number, ident in read_id_lines(path)]
    return pairs


def _numbered(stream: IO[str], name: str) -> Iterator[tuple[int, str]]:
    """``(line number, id)`` of each line of ``stream`` that holds one. A line is read
    at most :data:`MAX_LINE` characters at a time, so a huge one (a file that is not a
    list of ids) is never held whole; one whose first field is that long is a
    :class:`NotFoundError` naming the line, its start and its length."""
    for number, (head, total) in enumerate(bounded_lines(stream), 1):
        item = _line_id(head)
        if item and total > len(head) and head.endswith(item):
            raise NotFoundError(
                f"{name}: line {number}: {clip(item, total)}: not a synset id (a line far "
                "longer than any id)"
            )
        if item:
            yield number, item


def bounded_lines(stream: IO[str]) -> Iterator[tuple[str, int]]:
    """Each line's first :data:`MAX_LINE` characters, and the line's length (without
    its line break): a list is read a bounded piece at a time, however long a line."""
    while head := stream.readline(MAX_LINE):
        total, last = len(head), head
        if len(head) == MAX_LINE and not head.endswith("\n"):
            while more := stream.readline(MAX_LINE):
                total, last = total + len(more), more
                if more.endswith("\n"):
                    break
        yield head, total - last.endswith("\n")
