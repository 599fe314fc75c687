"""Tar archives read in place: member offsets indexed once, bytes read by offset.

``ILSVRC2012_img_train.tar`` is a tar of 1,000 per-class tars (138 GB). It is never
unpacked: the first pass reads only the tar headers (outer and inner) and records
where every image's bytes start in a SQLite table in the cache, keyed by the tar's
path, size, mtime, inode and change time. Later runs look a class up and ``pread`` its images' bytes
straight from the outer file. A flat tar (``ILSVRC2012_img_val.tar``) is indexed
the same way with an empty class.

Seeking is the point, so the walk does not use :mod:`imagenet_cli.archive` (a
one-pass stream reader), but it applies the same name rules
(:func:`imagenet_cli.archive.unsafe_name`). A member is only ever read, never
unpacked under its own name; still, members that would escape a target folder
(absolute paths, ``..``), links of either kind and devices are refused (recorded as
problems and reported on every run) so nothing of a hostile archive reaches the
output.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..archive import unsafe_name
from ..cache import cache_path, connect, file_lock
from ..errors import NotFoundError, UsageError
from ..ids import is_utf8, printable

if TYPE_CHECKING:
    import tarfile

Progress = Callable[[int, int | None, str], None]

TAR_OF_TARS = "tar-of-tars"
FLAT = "flat"

_MIGRATIONS = [
    """
    CREATE TABLE archive (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        UNIQUE (path, size, mtime_ns)
    );
    CREATE TABLE member (
        archive INTEGER NOT NULL,
        grp TEXT NOT NULL,
        name TEXT NOT NULL,
        offset INTEGER NOT NULL,
        size INTEGER NOT NULL
    );
    CREATE INDEX member_grp ON member (archive, grp);
    CREATE TABLE problem (
        archive INTEGER NOT NULL,
        member TEXT NOT NULL,
        reason TEXT NOT NULL
    )
    """,
    # Size and mtime alone miss a tar rewritten with its old size and mtime restored
    # (`touch -d`, `cp -p`): the inode and the change time (which no tool sets) tell.
    """
    DELETE FROM member;
    DELETE FROM problem;
    DELETE FROM archive;
    ALTER TABLE archive ADD COLUMN ino INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE archive ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0
    """,
    # Warnings beside the problems (a class tar stored twice): named, but nothing fails.
    """
    DELETE FROM member;
    DELETE FROM problem;
    DELETE FROM archive;
    ALTER TABLE problem ADD COLUMN warning INTEGER NOT NULL DEFAULT 0
    """,
]

Key = tuple[str, int, int, int, int]  # path, size, mtime_ns, ino, ctime_ns


@dataclass(frozen=True, slots=True)
class Member:
    """A regular file inside an archive: where its bytes start and how many."""

    group: str  # the class tar's stem for a tar of tars, "" for a flat tar
    name: str  # safe relative path inside the class tar (or the flat tar)
    offset: int  # absolute offset of the first byte in the outer file
    size: int


def refusal(info: tarfile.TarInfo) -> str | None:
    """Why a member may not be used, or None when it is a safe regular file.

    Directories return ``""``: skipped quietly, they hold nothing to refuse.
    """
    if info.isdir():
        return ""
    if not is_utf8(info.name):
        return "a name that is not UTF-8 refused (the manifest could not name it)"
    if info.issym() or info.islnk():
        kind = "symbolic link" if info.issym() else "hard link"
        return f"{kind} to {info.linkname!r} refused (links could point outside the target folder)"
    if not info.isreg():
        return "not a regular file (device, fifo or other special member) refused"
    unsafe = unsafe_name(info.name)
    if unsafe is not None:
        return f"{unsafe} refused (the path could escape the target folder)"
    if PurePosixPath(info.name).parts in ((), (".",)):
        return "empty member name refused"
    return None


def safe_name(name: str) -> str:
    """A member name as a clean relative path (``./a/b`` -> ``a/b``)."""
    return "/".join(p for p in PurePosixPath(name).parts if p != ".")


class NotATar(UsageError):
    """The file's first header cannot be read: not an (uncompressed) tar archive."""


class _Window:
    """A read-only file object over ``size`` bytes at ``start`` of an open file."""

    def __init__(self, fh: object, start: int, size: int) -> None:
        self._fh = fh
        self._start = start
        self._size = size
        self._pos = 0
        self.mode = "rb"

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._pos
        if n < 0 or n > left:
            n = left
        if n <= 0:
            return b""
        data = os.pread(self._fh.fileno(), n, self._start + self._pos)  # type: ignore[attr-defined]
        self._pos += len(data)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += self._size
        self._pos = max(0, pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class ArchiveIndex:
    """The indexed content of one tar file."""

    path: str
    kind: str  # TAR_OF_TARS or FLAT
    archive_id: int
    db: Path
    built: bool  # this run built the index (first pass)
    read_only: bool = False  # read from a cache this process cannot write

    def _rows(self, sql: str, *params: object) -> list[Any]:
        try:
            conn = _read_only(self.db) if self.read_only else connect(self.db, _MIGRATIONS)
            try:
                return conn.execute(sql, (self.archive_id, *params)).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise _cache_error(self.db, exc) from None

    def groups(self) -> dict[str, tuple[int, int]]:
        """Every group (class tar stem) with its member count and bytes."""
        rows = self._rows(
            "SELECT grp, count(*), sum(size) FROM member WHERE archive = ? GROUP BY grp"
        )
        return {str(g): (int(n), int(b)) for g, n, b in rows}

    def members(self, group: str) -> list[Member]:
        """The members of one group, sorted by name."""
        rows = self._rows(
            "SELECT name, offset, size FROM member WHERE archive = ? AND grp = ? ORDER BY name",
            group,
        )
        return [Member(group, str(n), int(o), int(s)) for n, o, s in rows]

    def problems(self) -> list[tuple[str, str]]:
        """Members refused while indexing: (member, reason)."""
        return self._reasons(warning=False)

    def notes(self) -> list[tuple[str, str]]:
        """What indexing found odd but could read (a class tar stored twice)."""
        return self._reasons(warning=True)

    def _reasons(self, warning: bool) -> list[tuple[str, str]]:
        rows = self._rows(
            "SELECT member, reason FROM problem WHERE archive = ? AND warning = ? ORDER BY rowid",
            int(warning),
        )
        return [(str(m), str(r)) for m, r in rows]


def index_db() -> Path:
    """The SQLite file holding every tar index."""
    path = cache_path("subset", "tars.sqlite", create_parent=False)
    try:
        path.parent.mkdir(exist_ok=True)
    except OSError as exc:
        raise _cache_error(path, exc) from None
    return path


def _cache_error(db: Path, exc: Exception) -> UsageError:
    """The failure of the index database ``db`` as one line naming it."""
    code: str = getattr(exc, "sqlite_errorname", "")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return UsageError(
            f"{db}: the tar index in the cache is damaged ({reason}); remove it with "
            "'imagenet cache clean subset' and run again (the index is rebuilt)"
        )
    if isinstance(exc, PermissionError) or code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
        return UsageError(
            f"{db}: cannot write the tar index in the cache ({reason}); "
            "make the cache folder writable, or set IMAGENET_CACHE to one that is"
        )
    return UsageError(f"{db}: cannot use the tar index in the cache ({reason})")


def _cannot_write(exc: sqlite3.Error) -> bool:
    code: str = getattr(exc, "sqlite_errorname", "")
    return code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN"))


def _read_only(db: Path) -> sqlite3.Connection:
    """A connection that never writes: a WAL database in a folder this process cannot
    write cannot even be opened read-only (SQLite would make its -shm file), so it is
    then opened as immutable."""
    uri = db.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        conn.execute("SELECT 1 FROM archive LIMIT 1").fetchall()
    except sqlite3.OperationalError as exc:
        conn.close()
        if not _cannot_write(exc):
            raise
        conn = sqlite3.connect(f"{uri}?immutable=1", uri=True)
    return conn


def open_index(path: str | os.PathLike[str], progress: Progress | None = None) -> ArchiveIndex:
    """The index of the tar at ``path``, built on first use (headers only) and cached.

    A cache this process cannot write still serves an index it holds; a damaged or
    unwritable index database is a :class:`UsageError` naming it.
    """
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    db = index_db()
    key: Key = (real, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    try:
        return _open_index(db, key, progress)
    except sqlite3.Error as exc:
        raise _cache_error(db, exc) from None


def _open_index(db: Path, key: Key, progress: Progress | None) -> ArchiveIndex:
    real = key[0]
    try:
        conn = connect(db, _MIGRATIONS)
    except sqlite3.Error as exc:
        if not _cannot_write(exc) or not db.exists():
            raise
        ro = _read_only(db)
        try:
            found = _lookup(ro, key)
        finally:
            ro.close()
        if found is None:
            raise exc from None
        return ArchiveIndex(real, found[1], found[0], db, built=False, read_only=True)
    try:
        found = _lookup(conn, key)
        if found is not None:
            return ArchiveIndex(real, found[1], found[0], db, built=False)
        lock = db.with_suffix(".lock")
        try:
            with file_lock(lock):
                found = _lookup(conn, key)  # another process may have built it meanwhile
                if found is not None:
                    return ArchiveIndex(real, found[1], found[0], db, built=False)
                archive_id, kind = _build(conn, key, progress)
        except OSError as exc:
            if exc.filename is None or os.fspath(exc.filename) != os.fspath(lock):
                raise  # the tar's own errors
            raise _cache_error(lock, exc) from None
        return ArchiveIndex(real, kind, archive_id, db, built=True)
    finally:
        conn.close()


def _lookup(conn: sqlite3.Connection, key: Key) -> tuple[int, str] | None:
    row = conn.execute(
        "SELECT id, kind FROM archive"
        " WHERE path = ? AND size = ? AND mtime_ns = ? AND ino = ? AND ctime_ns = ?",
        key,
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _build(conn: sqlite3.Connection, key: Key, progress: Progress | None) -> tuple[int, str]:
    path, size = key[0], key[1]
    members: list[tuple[str, str, int, int]] = []
    problems: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    groups: set[str] = set()
    kind = ""
    done = 0
    last = ""  # the member read last: where a cut-off archive ends
    import tarfile  # here: a folder source never needs it

    try:
        with open(path, "rb") as fh, tarfile.open(fileobj=fh, mode="r:") as outer:
            for info in outer:
                last = info.name
                reason = refusal(info)
                if reason == "":
                    continue
                if reason is not None:
                    problems.append((info.name, reason))
                    continue
                name = safe_name(info.name)
                if not kind:
                    kind = TAR_OF_TARS if name.endswith(".tar") else FLAT
                if kind == FLAT:
                    members.append(("", name, info.offset_data, info.size))
                elif name.endswith(".tar") and "/" not in name:
                    group = name[: -len(".tar")]
                    if group in groups:
                        # Appended again (tar -r): the last copy replaces the earlier
                        # one, as tar -x would leave it.
                        members = [m for m in members if m[0] != group]
                        problems = [
                            p for p in problems if p[0] != name and not p[0].startswith(name + "/")
                        ]
                        notes.append((name, "in the archive more than once; the last copy is used"))
                    groups.add(group)
                    _read_inner(fh, info, name, members, problems)
                else:
                    # A README beside the class tars: passed over, as a file beside the
                    # class folders is; named, since it may be a class stored otherwise.
                    notes.append((name, "not a class tar (<wnid>.tar) in a tar of tars; skipped"))
                if progress:
                    end = info.offset_data + info.size
                    progress(end - done, size, f"indexing {name}")
                    done = end
    except tarfile.TarError as exc:
        if not last:
            raise NotATar(f"{path}: not a readable tar file ({exc})") from None
        # Cut off (an interrupted download of a 138 GB tar): keep what is whole, so the
        # classes before the cut can be used while the rest shows as missing.
        members = [m for m in members if m[2] + m[3] <= size]
        problems.append(
            (
                last,
                f"the archive ends at byte {size:,}, inside this member or just after it "
                "(an interrupted download?): it and any later members are missing",
            )
        )
    if not kind:
        kind = FLAT
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "DELETE FROM member WHERE archive IN (SELECT id FROM archive WHERE path = ?)", (path,)
        )
        conn.execute(
            "DELETE FROM problem WHERE archive IN (SELECT id FROM archive WHERE path = ?)", (path,)
        )
        conn.execute("DELETE FROM archive WHERE path = ?", (path,))
        cur = conn.execute(
            "INSERT INTO archive (path, size, mtime_ns, ino, ctime_ns, kind)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (*key, kind),
        )
        archive_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO member (archive, grp, name, offset, size) VALUES (?, ?, ?, ?, ?)",
            ((archive_id, g, n, o, s) for g, n, o, s in members),
        )
        conn.executemany(
            "INSERT INTO problem (archive, member, reason, warning) VALUES (?, ?, ?, ?)",
            (
                (archive_id, printable(m), printable(r), int(warning))
                for warning, found in ((False, problems), (True, notes))
                for m, r in found
            ),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return archive_id, kind


def _read_inner(
    fh: object,
    info: tarfile.TarInfo,
    name: str,
    members: list[tuple[str, str, int, int]],
    problems: list[tuple[str, str]],
) -> None:
    import tarfile

    group = name[: -len(".tar")]
    window = _Window(fh, info.offset_data, info.size)
    read = False  # a member header was read: later damage, not another kind of file
    try:
        with tarfile.open(fileobj=window, mode="r:") as inner:  # type: ignore[call-overload]
            for sub in inner:
                read = True
                reason = refusal(sub)
                if reason == "":
                    continue
                if reason is not None:
                    problems.append((f"{name}/{sub.name}", reason))
                    continue
                members.append(
                    (group, safe_name(sub.name), info.offset_data + sub.offset_data, sub.size)
                )
    except tarfile.TarError as exc:
        if read:
            reason = f"damaged class tar ({exc}); members after the damage skipped"
        elif window.seek(0) == 0 and window.read(2) == b"\x1f\x8b":
            reason = (
                "a gzip-compressed class tar, not read (a class tar is read in place uncompressed)"
            )
        else:
            reason = f"not a tar file ({exc}); not read"
        problems.append((name, reason))
