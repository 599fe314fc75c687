"""Where box files come from: files, folders, tar archives, stdin, the cache.

:func:`iter_items` turns the command's INPUT arguments into work items, in a fixed
order: the inputs as given; inside a folder, its files by path (as a sorted list of
full paths would order them); inside an archive, its members in archive order.
Archives (``.tar``, ``.tar.gz``, ``.tgz``, also inside folders and nested one in
another) are streamed, never unpacked; their members are named ``archive!member``.
Files are read later by the worker that parses them, archive members here.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from pathlib import Path
from typing import IO, Any, NamedTuple

from ..archive import ArchiveError, is_archive_name, iter_tar
from ..cache import cache_dir
from ..errors import NotFoundError

_tuple_new = tuple.__new__  # Item built in C, past its Python-level __new__ (once a file)
MAX_NESTED_ARCHIVE = 1 << 30  # a per-synset archive inside a bigger one: at most 1 GiB


class Item(NamedTuple):
    """One annotation file to parse: a path to read, bytes already read, or a problem
    found before parsing (unreadable archive, refused member)."""

    source: str
    path: str | None = None
    data: bytes | None = None
    problem: str | None = None


class Items(list[Item]):
    """A batch of items, pickled column by column: lists of strings and bytes pickle
    in C, while a named tuple costs a Python-level call on each side (and a batch
    crosses to a worker process for every few hundred files)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _items, (
            [i[0] for i in self],
            [i[1] for i in self],
            [i[2] for i in self],
            [i[3] for i in self],
        )


def _items(
    sources: list[str],
    paths: list[str | None],
    datas: list[bytes | None],
    problems: list[str | None],
) -> Items:
    rows = zip(sources, paths, datas, problems, strict=True)
    return Items(map(_tuple_new, repeat(Item), rows))  # no Python frame per item


def _is_xml(name: str) -> bool:
    return name[-4:].lower() == ".xml"


def _listing(folder: str) -> tuple[list[str], set[str]]:
    """A folder's entry names, sorted, and those that are neither a file nor a folder
    (a FIFO, socket or device: opening a FIFO waits for a writer, for ever). A
    subfolder's name ends in ``/`` so that the order is that of a sorted list of full
    paths."""
    names: list[str] = []
    special: set[str] = set()
    try:
        with os.scandir(folder) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    names.append(e.name + "/")
                    continue
                names.append(e.name)
                # the entry's type from the listing; a symbolic link's from its target
                if not e.is_file() and (not e.is_symlink() or os.path.exists(e.path)):
                    special.add(e.name)
    except OSError:
        return [], set()
    names.sort()
    return names, special


def _folder_items(folder: str, max_bytes: int) -> Iterator[Item]:
    """The XML files and archives below ``folder`` as work items, in sorted full-path
    order. Each folder is listed on its own (memory stays that of the largest one),
    its XML files built in one go (a folder of annotations holds thousands of them
    and nothing else). Symbolic links to folders are not followed (no loops). A FIFO,
    socket or device is an item with its problem, never opened."""
    names, special = _listing(folder)
    prefix = os.path.join(folder, "")
    if not special:
        files = [
            _tuple_new(Item, (path, path, None, None))
            for path in [prefix + name for name in names if name[-4:].lower() == ".xml"]
        ]
        if len(files) == len(names):
            yield from files
            return
    for name in names:
        path = prefix + name.rstrip("/")
        if name in special:
            if _is_xml(name) or is_archive_name(name):
                yield Item(path, problem=f"not a regular file ({_kind(path)}); left out")
        elif name.endswith("/"):
            yield from _folder_items(path, max_bytes)
        elif _is_xml(name):
            yield _tuple_new(Item, (path, path, None, None))
        elif is_archive_name(name):
            yield from _archive_file(path, max_bytes)


def _kind(path: str) -> str:
    """What a path that is neither a file nor a folder is, in a word or two."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "unreadable"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file"


def read_bounded(path: str, max_bytes: int, *, dir_fd: int | None = None) -> bytes:
    """A file's bytes, refusing files over ``max_bytes`` without reading them
    (``path`` relative to the folder ``dir_fd`` when given)."""
    fd = os.open(path, os.O_RDONLY, dir_fd=dir_fd)
    try:
        data = os.read(fd, 65536)
        if len(data) < 65536:
            if len(data) > max_bytes:
                raise ValueError(f"{len(data)} bytes, over the limit of {max_bytes}")
            return data
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise ValueError(f"{size} bytes, over the limit of {max_bytes}")
        parts = [data]
        total = len(data)
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:  # grew while we read it
                raise ValueError(f"over the limit of {max_bytes} bytes")
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


class FolderReader:
    """Reads the files of a batch, each opened relative to its folder, kept open
    while the next file is in the same one (a batch's files share a folder or two:
    the kernel then looks up one name per file instead of the whole path)."""

    def __init__(self, base: str | None = None) -> None:
        self.base = base  # where relative paths start (None: the working folder)
        self.folder: str | None = None
        self.fd = -1

    def read(self, path: str, max_bytes: int) -> bytes:
        folder, sep, name = path.rpartition("/")
        if not _DIR_FD or not sep or not name:
            return read_bounded(os.path.join(self.base, path) if self.base else path, max_bytes)
        if folder != self.folder:
            self.close()
            where = os.path.join(self.base, folder or "/") if self.base else folder or "/"
            try:
                self.fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:  # read it whole: its own error says what is wrong
                return read_bounded(os.path.join(where, name), max_bytes)
            self.folder = folder
        return read_bounded(name, max_bytes, dir_fd=self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.folder, self.fd = None, -1

    def __enter__(self) -> FolderReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def archive_items(
    fh: IO[bytes],
    label: str,
    max_bytes: int,
    want_xml: Callable[[str], bool] | None = None,
) -> Iterator[Item]:
    """The annotation files of one tar stream, nested archives included; with
    ``want_xml``, only the XML members it picks (the others are skipped unread)."""

    def limit(name: str) -> int:  # asked only of wanted names: XML files and archives
        return max_bytes if _is_xml(name) else MAX_NESTED_ARCHIVE

    def want(name: str) -> bool:
        if _is_xml(name):
            return want_xml is None or want_xml(name)
        return is_archive_name(name)

    prefix = label + "!"
    try:
        for name, _, _, data, problem in iter_tar(fh, max_member_bytes=limit, want=want):
            source = prefix + name
            if data is None:
                yield Item(source, problem=problem or "unreadable member")
            elif name[-4:].lower() == ".xml":
                yield _tuple_new(Item, (source, None, data, None))
            else:  # an archive (want() passes nothing else)
                yield from archive_items(io.BytesIO(data), source, max_bytes, want_xml)
    except ArchiveError as err:
        yield Item(label, problem=str(err))


def _path_items(path: str, max_bytes: int) -> Iterator[Item]:
    if os.path.isdir(path):
        yield from _folder_items(path, max_bytes)
    elif is_archive_name(path):
        yield from _archive_file(path, max_bytes)
    elif os.path.isfile(path):
        yield Item(path, path=path)
    elif os.path.exists(path):
        yield from _stream_items(path, max_bytes)
    else:
        yield Item(path, problem="no such file or folder")


_TAR_MAGIC = (257, b"ustar")  # where a tar header (POSIX or GNU) says what it is


def _stream_items(path: str, max_bytes: int) -> Iterator[Item]:
    """A FIFO or device given as INPUT (``<(zcat boxes.tar.gz)``, a named pipe): opened
    once and read as a stream, an archive or one XML file by its first bytes (it
    cannot be opened again: a second open waits for a writer that is gone)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, after a lazy generator
    except OSError as exc:
        yield Item(path, problem=f"cannot open: {exc.strerror}")
        return
    with fh:
        try:
            head = fh.read(512)
            at, magic = _TAR_MAGIC
            if head[:2] == b"\x1f\x8b" or head[at : at + len(magic)] == magic:
                yield from archive_items(io.BufferedReader(_Rejoined(head, fh)), path, max_bytes)
                return
            data = head + fh.read(max_bytes + 1 - len(head))
        except OSError as exc:
            yield Item(path, problem=f"cannot read: {exc.strerror}")
            return
    if len(data) > max_bytes:
        yield Item(path, problem=f"over the limit of {max_bytes} bytes")
    else:
        yield _tuple_new(Item, (path, None, data, None))


class _Rejoined(io.RawIOBase):
    """The bytes already read from a stream, then the rest of it: a file again."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.head:
            n = min(len(view), len(self.head))
            view[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _archive_file(path: str, max_bytes: int) -> Iterator[Item]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, after a lazy generator
    except OSError as exc:
        yield Item(path, problem=f"cannot open: {exc.strerror}")
        return
    with fh:
        try:
            yield from archive_items(fh, path, max_bytes)
        except OSError as exc:
            yield Item(path, problem=f"cannot read: {exc.strerror}")


def iter_items(
    inputs: Iterable[str], *, max_bytes: int, stdin: IO[str] | None = None
) -> Iterator[Item]:
    """Work items for the INPUT arguments; ``-`` reads more paths from stdin, one a line."""
    for value in inputs:
        if value == "-":
            for line in stdin or sys.stdin:
                path = line.rstrip("\r\n")
                if path:
                    yield from _path_items(path, max_bytes)
        else:
            yield from _path_items(value, max_bytes)


def cached_archive(wnid: str) -> Path:
    """The per-synset box archive ``imagenet bbox fetch`` keeps in the cache."""
    path = cache_dir() / "bbox" / f"{wnid}.tar.gz"
    if not path.is_file():
        raise NotFoundError(
            f"no bounding boxes for {wnid} in the cache ({path}): "
            f"run 'imagenet bbox fetch --wnid {wnid}' first, "
            "or give the XML files or archives as INPUT"
        )
    return path
