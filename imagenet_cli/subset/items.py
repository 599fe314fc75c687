"""The item function: one image copied, linked or resized into the target folder.

:func:`process` does one :class:`Job` (atomic; skipped when already written) and
returns an :class:`ItemResult`; it never raises for a bad image, and a full or
read-only disk comes back as the result that stops the run. It needs no globals, so
a driver may run it in a thread, a process or on a Dask worker.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from typing import cast

from ..cache import temp_name, write_bytes_atomic
from ..errors import storage_error
from . import imaging
from .plan import Options, WorkItem
from .sources import SourceFile

MAX_BBOX_XML = 1024 * 1024


@dataclass(slots=True)  # not frozen: see plan.WorkItem
class Job:
    """One work item with everything :func:`process` needs (picklable, no globals)."""

    item: WorkItem
    dest: str  # absolute output path
    options: Options
    known: tuple[int, int, int] | None = None  # (bytes, width, height) of a previous run
    bbox: tuple[str, ...] = ()  # candidate annotation files, first found is copied
    bbox_dest: str = ""
    fresh: bool = False  # its class folder was made by this run: nothing there to skip


@dataclass(slots=True)  # not frozen: see plan.WorkItem
class ItemResult:
    """What became of one image; ``status`` is written, skipped or failed."""

    split: str
    wnid: str
    source: str
    path: str  # relative to the target folder
    bytes: int
    width: int
    height: int
    status: str
    error: str = ""
    bbox: bool = False
    bbox_error: str = ""  # the annotation could not be copied (the image may still be fine)
    shard: str = ""  # sharded output: the shard holding it, relative to the target folder


def process(job: Job) -> ItemResult:
    """Write one image (or find it already written); never raises for a bad image."""
    item, opts, dest = job.item, job.options, job.dest
    src = item.src
    st = None
    if not job.fresh:
        with contextlib.suppress(FileNotFoundError):
            # a link's own size is not the image's: follow it (a dangling one then
            # counts as missing, and making it again fails with a reason)
            st = os.stat(dest) if opts.mode == "symlink" else os.lstat(dest)
    try:
        if st is not None:
            if job.known is not None and job.known[0] == st.st_size:
                size, width, height = job.known
            else:
                width, height = imaging.file_size(dest)
                size = st.st_size
            status = "skipped"
        else:
            size, width, height = _write(src, dest, opts)
            status = "written"
    except Exception as exc:  # one bad image must never stop a run of a million
        if _disk_failed(exc):
            return _stopped(job, dest, exc)
        return ItemResult(
            item.split, item.wnid, src.label, item.rel, 0, 0, 0, "failed", _reason(exc)
        )
    has_bbox, bbox_error = False, ""
    if job.bbox:
        try:
            has_bbox = _copy_bbox(job.bbox, job.bbox_dest)
        except Exception as exc:
            if _disk_failed(exc):
                return _stopped(job, job.bbox_dest, exc)
            where = getattr(exc, "filename", None) or job.bbox_dest
            bbox_error = f"{where}: annotation not copied ({_reason(exc)})"
    return ItemResult(
        item.split,
        item.wnid,
        src.label,
        item.rel,
        size,
        width,
        height,
        status,
        "",
        has_bbox,
        bbox_error,
    )


# What a full or read-only disk answers a write: the run's trouble, not the image's.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _disk_failed(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS


def _stopped(job: Job, dest: str, exc: BaseException) -> ItemResult:
    """The result that stops the run (status ``stopped``, the one line its error)."""
    item = job.item
    line = str(storage_error(dest, cast(OSError, exc)))
    return ItemResult(item.split, item.wnid, item.src.label, item.rel, 0, 0, 0, "stopped", line)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _write(src: SourceFile, dest: str, opts: Options) -> tuple[int, int, int]:
    path, offset, length = src.path, src.offset, src.size
    if opts.resize is not None:
        data = read_source(src)
        out, width, height = imaging.resize(data, opts.resize, opts.resize_mode, opts.quality)
        write_atomic(dest, out)
        return len(out), width, height
    if src.row >= 0:  # a Parquet row: its bytes are not at an offset of the file
        data = read_source(src)
        width, height = imaging.image_size(data)
        write_atomic(dest, data)
        return len(data), width, height
    if opts.mode == "copy":
        width, height = copy_atomic(path, max(offset, 0), length, dest)
        return length, width, height
    width, height = imaging.file_size(path)
    if opts.mode == "hardlink":
        try:
            # link(2) on Linux links a symbolic link itself, whose relative target would
            # dangle from the target folder: link the file it names (realpath only then:
            # it costs six times the lstat, a fifth of a whole link run)
            os.link(os.path.realpath(path) if os.path.islink(path) else path, dest)
        except OSError as exc:
            if exc.errno == 18:  # EXDEV
                raise OSError(
                    exc.errno, "cannot hardlink across file systems (use --mode copy)"
                ) from None
            if exc.errno == 1:  # EPERM: Linux's protected_hardlinks, files of other users
                raise OSError(
                    exc.errno,
                    "cannot hardlink (not permitted: the file belongs to another user; "
                    "use --mode copy or symlink)",
                ) from None
            raise
    else:
        os.symlink(os.path.abspath(path), dest)
    return length, width, height


def read_source(src: SourceFile) -> bytes:
    """The image bytes of a source file: the whole file, ``size`` bytes at ``offset`` of
    a tar (``offset`` >= 0), or a row of a Parquet file (``row`` >= 0)."""
    if src.row >= 0:
        from .parquet_source import parquet_image  # here: pyarrow only for Parquet sources

        return parquet_image(src.path, src.offset, src.row)
    if src.offset >= 0:
        return read_bytes(src.path, src.offset, src.size)
    with open(src.path, "rb") as fh:
        return fh.read()


def read_bytes(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset`` of the file at ``path`` (short read: an error)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, size, offset)
        while len(data) < size:  # pread may return less on some file systems
            more = os.pread(fd, size - len(data), offset + len(data))
            if not more:
                raise OSError(f"archive ends {size - len(data)} bytes early")
            data += more
        return data
    finally:
        os.close(fd)


def write_atomic(dest: str, data: bytes) -> None:
    """Write ``data`` under a temporary name beside ``dest``, then rename it into place."""
    write_bytes_atomic(dest, data, fsync=False)


def copy_atomic(path: str, offset: int, length: int, dest: str) -> tuple[int, int]:
    """Copy ``length`` bytes at ``offset`` of ``path`` to ``dest`` atomically; the image's size.

    The bytes go file to file inside the kernel (``copy_file_range``), never through
    Python; only the header is read to learn the width and height.
    """
    src = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(src, min(length, 4096), offset)
        found = imaging.header_size(head)
        if found is None or found[0] <= 0:
            found = imaging.image_size(read_bytes(path, offset, length))
        tmp = temp_name(dest)
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _copy_range(src, out, offset, length)
        except BaseException:
            os.close(out)
            os.unlink(tmp)
            raise
        os.close(out)
        os.replace(tmp, dest)
        return found
    finally:
        os.close(src)


def _copy_range(src: int, out: int, offset: int, length: int) -> None:
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            while done < length:
                n = os.copy_file_range(src, out, length - done, offset + done)
                if n == 0:
                    raise OSError(f"source ends {length - done} bytes early")
                done += n
        except OSError as exc:
            if done or exc.errno not in (18, 22, 38, 95):  # EXDEV, EINVAL, ENOSYS, EOPNOTSUPP
                raise
    while done < length:  # no copy_file_range here: through a buffer
        chunk = os.pread(src, min(length - done, 1 << 20), offset + done)
        if not chunk:
            raise OSError(f"source ends {length - done} bytes early")
        view = memoryview(chunk)
        while view:
            view = view[os.write(out, view) :]
        done += len(chunk)


def _copy_bbox(candidates: tuple[str, ...], dest: str) -> bool:
    if os.path.exists(dest):
        return True
    for candidate in candidates:
        try:
            with open(candidate, "rb") as fh:
                data = fh.read(MAX_BBOX_XML + 1)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if len(data) > MAX_BBOX_XML:
            raise OSError(f"annotation {candidate} is larger than {MAX_BBOX_XML} bytes")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        write_atomic(dest, data)
        return True
    return False
