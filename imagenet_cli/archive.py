"""Safe, streaming tar reading: members in archive order, never unpacked to disk.

:func:`iter_tar` reads a ``.tar``, ``.tar.gz`` or ``.tgz`` (compression told by its
magic bytes, not its name) front to back, one pass, with no seeking, so it reads
pipes and huge archives alike. It parses the tar headers itself (ustar, GNU long
names, pax ``path``/``size``/``linkpath``): :mod:`tarfile` spends about 50 µs per
member in Python, which is the whole budget for a small XML file.

Safety: a member whose name would escape a target folder (absolute, ``..``,
backslash or NUL tricks), links of either kind, devices, FIFOs and sparse files are
never returned with data: they come out as entries with a ``problem`` so the caller
can report them. Member sizes are bounded by ``max_member_bytes`` (larger ones are
skipped unread, with a problem); header extensions are bounded too.
"""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import IO, NamedTuple

from .errors import ItemError

BLOCK = 512
_CHUNK = 1 << 20  # uncompressed reads
_GZ_CHUNK = 1 << 16  # compressed reads: about 1 MB once inflated
_MAX_EXTENSION = 1 << 20  # pax headers and GNU long names: a name is never this long
_GZIP_MAGIC = b"\x1f\x8b"
_REGULAR = frozenset(b"07\x00")
# Type flags as ints (a header byte indexes as an int): looked up once, not per member.
_EXTENSIONS = frozenset(b"LKxg")  # GNU long name/link, pax, global pax
_LONG_NAME, _PAX, _DIRECTORY = ord("L"), ord("x"), ord("5")
_NO_DATA = frozenset(b"125")  # hard link, symbolic link, directory: nothing stored
_ZERO_BLOCK = bytes(512)
_tuple_new = tuple.__new__  # a named tuple built in C, past its Python-level __new__
_LINKS = {ord("1"): "hard link", ord("2"): "symbolic link"}
_SPECIAL = {ord("3"): "character device", ord("4"): "block device", ord("6"): "FIFO"}


class ArchiveError(ItemError):
    """An archive that cannot be read on (corrupt, truncated, not a tar)."""


class TarEntry(NamedTuple):
    """One member of a tar (a named tuple: built once per member, cheaply).

    ``data`` holds the bytes of a wanted regular file within the size bound, else
    None. ``problem`` says why a member was refused (None when it was fine).
    ``offset`` is where the data starts in the uncompressed tar stream.
    """

    name: str
    size: int
    offset: int
    data: bytes | None
    problem: str | None = None


def unsafe_name(name: str) -> str | None:
    """Why a member name could escape a target folder, or None when it is safe."""
    if not name or "\x00" in name:
        return "empty name or NUL in name"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in name"
    if ".." in name and "/../" in f"/{name}/":
        return "'..' in path"
    return None


class _Gunzip(threading.Thread):
    """Inflates a gzip stream in a thread of its own, a bounded queue ahead of the
    reader: zlib lets go of the GIL while it inflates, so the tar parsing (and the
    work downstream of it) goes on meanwhile."""

    QUEUED = 8  # inflated chunks waiting: at most about 8 MB

    def __init__(self, fh: IO[bytes], head: bytes) -> None:
        super().__init__(name="gunzip", daemon=True)
        self.fh = fh
        self.head = head
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(self.QUEUED)
        self.stopping = threading.Event()

    def _inflate(self, raw: bytes) -> bytes:
        # Output is bounded per call (a gzip bomb inflates 1000:1); the rest of the
        # input waits in unconsumed_tail for the next call.
        before = self.inflate.copy()  # a few kB: to go over ``raw`` again if it is damaged
        try:
            out = self.inflate.decompress(raw, _CHUNK)
            if self.inflate.eof and self.inflate.unused_data:
                # Concatenated gzip members (pigz, appended archives) go on.
                rest = self.inflate.unused_data
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out += self.inflate.decompress(rest, _CHUNK)
        except zlib.error as exc:
            self._put(_salvage(before, raw))
            raise ArchiveError(f"corrupt gzip data: {exc}") from None
        return out

    def run(self) -> None:
        raw = self.head
        try:
            while raw:
                data = self._inflate(raw)
                if data and not self._put(data):
                    return
                raw = self.inflate.unconsumed_tail or self.fh.read(_GZ_CHUNK)
        except (ArchiveError, OSError, ValueError) as exc:  # handed to the reader
            self._put(exc)
            return
        self._put(None)

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self.stopping.is_set():
            try:
                self.chunks.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def stop(self) -> None:
        """Stop inflating and wait for the thread (before the file is closed)."""
        self.stopping.set()
        self.join()


def _salvage(inflate: zlib._Decompress, raw: bytes, limit: int = _CHUNK, step: int = 512) -> bytes:
    """What ``raw`` inflates to before the damage zlib stopped at (at most ``limit``
    bytes, all the failed call could have given). That call gives nothing (a bad
    checksum at the very end loses all its output), so the input goes again in
    small steps, and the step that fails byte by byte."""
    out: list[bytes] = []
    for at in range(0, len(raw), step):
        piece = raw[at : at + step]
        saved = inflate.copy()
        try:
            while piece and limit > 0:
                data = inflate.decompress(piece, limit)
                out.append(data)
                limit -= len(data)
                piece = inflate.unconsumed_tail
        except zlib.error:
            if step > 1:
                out.append(_salvage(saved, raw[at : at + step], limit, 1))
            break
        if inflate.eof or limit <= 0:
            break
    return b"".join(out)


class _Stream:
    """Bytes of the uncompressed tar: a buffer refilled from the (decompressed) file."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        head = fh.read(2)
        self.gunzip: _Gunzip | None = None
        self.ended = False
        self.buf = b""
        if head == _GZIP_MAGIC:
            self.gunzip = _Gunzip(fh, head)
            self.gunzip.start()
        else:
            self.buf = head
        self.pos = 0
        self.consumed = 0  # bytes of the stream before buf[0]

    def close(self) -> None:
        if self.gunzip is not None:
            self.gunzip.stop()

    def _more(self) -> bool:
        if self.gunzip is not None:
            if self.ended:
                return False
            data = self.gunzip.chunks.get()
            if data is None or isinstance(data, BaseException):
                self.ended = True
                if data is not None:
                    raise data
                return False
        else:
            data = self.fh.read(_CHUNK)
            if not data:
                return False
        self.consumed += self.pos
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def check_end(self) -> None:
        """At the end-of-archive marker: raise the error the inflater met just past
        it (a damaged gzip checksum), if any; what follows is not read further."""
        if self.gunzip is not None and not self.ended:
            data = self.gunzip.chunks.get()
            if isinstance(data, BaseException):
                self.ended = True
                raise data

    @property
    def tell(self) -> int:
        return self.consumed + self.pos

    def take(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or fewer only at the end of the stream."""
        end = self.pos + n
        while end > len(self.buf):
            if not self._more():
                break
            end = self.pos + n
        out = self.buf[self.pos : end]
        self.pos = min(end, len(self.buf))
        return out

    def skip(self, n: int) -> int:
        """Skip ``n`` bytes without keeping them; returns how many were skipped."""
        done = 0
        while done < n:
            avail = len(self.buf) - self.pos
            if avail == 0 and not self._more():
                break
            step = min(n - done, len(self.buf) - self.pos)
            self.pos += step
            done += step
        return done


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256 for sizes over 8 GiB
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.split(b"\x00", 1)[0].strip()
    return int(text, 8) if text else 0


def _checksum_ok(block: bytes) -> bool:
    """The header checksum, either convention (the rare path: :func:`iter_tar`
    checks the usual unsigned sum itself)."""
    try:
        stored = _number(block[148:156])
    except ValueError:
        return False
    unsigned = sum(block[:148]) + sum(block[156:]) + 8 * 32
    if stored == unsigned:
        return True
    high = block[:148] + block[156:]
    # Old tars summed signed chars: each byte over 127 counted 256 less.
    signed = unsigned - 256 * sum(1 for b in high if b > 127)
    return stored == signed


def _pax(data: bytes) -> dict[str, str]:
    """Pax extended header records ``"<len> key=value\\n"``."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise ArchiveError("malformed pax header") from None
        if length <= 0:
            raise ArchiveError("malformed pax header")
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


def iter_tar(
    fh: IO[bytes],
    *,
    max_member_bytes: int | Callable[[str], int],
    want: Callable[[str], bool] | None = None,
) -> Iterator[TarEntry]:
    """The file members of the tar stream ``fh``, in archive order.

    Directories are passed over silently. ``want(name)`` picks the members whose
    bytes are read (the others are skipped unread and not yielded).
    ``max_member_bytes`` bounds a member's size, or gives the bound for a name. Raises
    :class:`ArchiveError` when the stream is not a tar, is corrupt or ends early.
    """
    stream = _Stream(fh)
    try:
        long_name: str | None = None
        pax: dict[str, str] = {}
        seen_header = False
        adler = zlib.adler32
        while True:
            # The common case inline (a header and a small member in the buffer): this
            # loop runs once per member, 544,546 times for ImageNet's train boxes.
            buf, pos = stream.buf, stream.pos
            if len(buf) - pos >= BLOCK:
                block = buf[pos : pos + BLOCK]
                stream.pos = pos + BLOCK
            else:
                block = stream.take(BLOCK)
            if len(block) < BLOCK:
                if not block and seen_header:
                    return  # no end-of-archive blocks: tolerated, as GNU tar does
                if not block:
                    raise ArchiveError("empty archive")
                raise ArchiveError(
                    "archive ends in the middle of a header"
                    if seen_header
                    else f"not a tar archive ({len(block)} bytes, less than one tar header)"
                )
            if block == _ZERO_BLOCK:
                stream.check_end()
                return  # end-of-archive marker
            try:
                stored_sum = int(block[148:156].split(b"\x00", 1)[0], 8)
            except ValueError:
                stored_sum = -1
            # The byte sum but the checksum field's (8 spaces): Adler-32's low half
            # is 1 + the byte sum modulo 65521, exact for up to 256 bytes, so three
            # C calls instead of a Python-level sum over 504 ints.
            unsigned = (
                (adler(block[:148]) & 0xFFFF)
                + (adler(block[156:412]) & 0xFFFF)
                + (adler(block[412:]) & 0xFFFF)
                + 253  # 8 spaces, less the three Adler-32 start values
            )
            if stored_sum != unsigned and not _checksum_ok(block):
                raise ArchiveError(
                    "not a tar archive"
                    if not seen_header
                    else f"bad header checksum at byte {stream.tell - BLOCK}"
                )
            seen_header = True
            kind = block[156]
            try:
                size = _number(block[124:136])
            except ValueError:
                raise ArchiveError(f"bad member size at byte {stream.tell - BLOCK}") from None
            if size < 0:
                raise ArchiveError("negative member size")
            if kind in _EXTENSIONS:
                if size > _MAX_EXTENSION:
                    raise ArchiveError(f"header extension of {size} bytes is too large")
                data = stream.take(_padded(size))[:size]
                if len(data) < size:
                    raise ArchiveError("archive ends inside a header extension")
                if kind == _LONG_NAME:
                    long_name = data.rstrip(b"\x00").decode("utf-8", "surrogateescape")
                elif kind == _PAX:
                    pax.update(_pax(data))
                continue  # 'K' (long link name) and 'g' (global pax) change nothing we use
            name_field = block[0:100].split(b"\x00", 1)[0]
            if block[257:265] == b"ustar\x0000" and block[345] != 0:
                name_field = block[345:500].split(b"\x00", 1)[0] + b"/" + name_field
            name = name_field.decode("utf-8", "surrogateescape")
            if long_name is not None:
                name, long_name = long_name, None
            if pax:
                name = pax.get("path", name)
                if "size" in pax:
                    try:
                        size = int(pax["size"])
                    except ValueError:
                        raise ArchiveError("malformed pax size") from None
                pax = {}
            offset = stream.consumed + stream.pos
            problem: str | None = None
            if kind in _REGULAR:
                stored = (size + BLOCK - 1) & -BLOCK
                problem = unsafe_name(name)
                if problem is None and name.endswith("/"):
                    continue  # a directory written as a regular entry
            else:
                if kind == _DIRECTORY:
                    continue
                stored = _padded(size) if kind not in _NO_DATA else 0
                if kind in _LINKS:
                    problem = f"{_LINKS[kind]} refused"
                elif kind in _SPECIAL:
                    problem = f"{_SPECIAL[kind]} refused"
                else:
                    problem = f"member type {chr(kind)!r} refused"
            if problem is None and want is not None and not want(name):
                if stream.skip(stored) < stored:
                    raise ArchiveError(f"archive ends inside member {name}")
                continue
            if problem is None:
                bound = (
                    max_member_bytes
                    if isinstance(max_member_bytes, int)
                    else max_member_bytes(name)
                )
                if size > bound:
                    problem = f"{size} bytes, over the limit of {bound}"
            if problem is not None:
                if stream.skip(stored) < stored:
                    raise ArchiveError(f"archive ends inside member {name}")
                yield TarEntry(name, size, offset, None, problem)
                continue
            buf, pos = stream.buf, stream.pos
            if len(buf) - pos >= stored:
                data = buf[pos : pos + size]
                stream.pos = pos + stored
            else:
                data = stream.take(stored)
                if len(data) < size:
                    raise ArchiveError(f"archive ends inside member {name}")
                data = data[:size] if stored != size else data
            yield _tuple_new(TarEntry, (name, size, offset, data, None))
    finally:
        stream.close()


def is_archive_name(name: str) -> bool:
    """Whether a file name looks like a tar archive this module reads."""
    lower = name.lower()
    return lower.endswith((".tar", ".tar.gz", ".tgz"))
