"""The one cache folder: where it is, atomic writes, cross-process locks, SQLite.

Everything ``imagenet`` downloads or indexes lives below :func:`cache_dir`. Writers
go through :func:`atomic_write` (temp file + rename, so a reader never sees half a
file) and take :func:`file_lock` when two processes could build the same thing.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sqlite3
import stat
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple, overload

from .errors import ImagenetError, NotFoundError, UsageError

CACHE_ENV = "IMAGENET_CACHE"
APP_NAME = "imagenet-cli"
# The cache directory tag (https://bford.info/cachedir/): backup tools skip a folder
# holding it, and `cache clean` removes nothing from a folder without it.
TAG_NAME = "CACHEDIR.TAG"
TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by imagenet-cli.\n"
    b"# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def user_dir(kind: Literal["cache", "config"]) -> Path:
    """This tool's folder in the platform's user cache or config folder.

    Where the XDG rule applies (Linux, the BSDs) it is two lines, and following it
    here saves every command the 20 ms that importing platformdirs takes; on macOS
    and Windows platformdirs answers.
    """
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        var = "XDG_CACHE_HOME" if kind == "cache" else "XDG_CONFIG_HOME"
        base = os.environ.get(var, "").strip() or os.path.expanduser(f"~/.{kind}")
        return Path(base) / APP_NAME
    import platformdirs

    if kind == "cache":
        return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir(create: bool = True) -> Path:
    """The cache folder: ``$IMAGENET_CACHE``, else the platform's user cache folder."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env).expanduser() if env else user_dir("cache")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create cache folder {path}: {exc.strerror}") from exc
        with contextlib.suppress(OSError):  # a read-only cache still serves lookups
            _claim(path)
    return path


def _claim(path: Path) -> None:
    """Tag ``path`` as imagenet's cache if it is empty (new, or made empty for it)."""
    if os.path.exists(os.path.join(path, TAG_NAME)):
        return
    with os.scandir(path) as entries:
        if next(entries, None) is not None:
            return  # a folder of someone else's: used, never claimed
    write_bytes_atomic(os.path.join(path, TAG_NAME), TAG, fsync=False)


def is_tagged(path: Path) -> bool:
    """True if ``path`` holds imagenet's cache directory tag."""
    try:
        with open(os.path.join(path, TAG_NAME), "rb") as fh:
            return fh.read(len(TAG)) == TAG
    except OSError:
        return False


def cache_path(*parts: str, create_parent: bool = True) -> Path:
    """A path inside the cache folder, its parent folder created."""
    path = cache_dir().joinpath(*parts)
    if create_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["wb"] = ..., *, fsync: bool = ...
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["w"], *, fsync: bool = ...
) -> contextlib.AbstractContextManager[IO[str]]: ...
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", *, fsync: bool = True
) -> contextlib.AbstractContextManager[IO[bytes]] | contextlib.AbstractContextManager[IO[str]]:
    """Open a temp file beside ``path``; on a clean exit it replaces ``path`` at once.

    On an exception the temp file is removed and ``path`` is left as it was, so a
    file under its final name is always complete. As a shell's ``>`` would, it writes
    through a symbolic link (the link stays) and keeps an existing file's permissions;
    a device or FIFO at ``path`` is written in place.
    """
    if mode not in ("w", "wb"):
        raise ValueError("atomic_write supports modes 'w' and 'wb'")
    return _atomic_write(Path(path), mode, fsync)


@contextlib.contextmanager
def _atomic_write(path: Path, mode: str, fsync: bool) -> Iterator[Any]:
    import tempfile

    if path.is_symlink():
        path = Path(os.path.realpath(path))
    kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
    try:
        st = os.stat(path)
    except OSError:
        keep = 0o666 & ~_umask()
    else:
        keep = st.st_mode & 0o7777
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            # A device or FIFO (/dev/stdout, a named pipe) is written in place: a
            # rename would put a regular file where it was.
            with open(path, mode, **kwargs) as fh:  # type: ignore[call-overload]
                yield fh
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:  # type: ignore[call-overload]
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, keep)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_TEMP_COUNTER = itertools.count()


@functools.cache
def _host() -> str:
    if hasattr(os, "uname"):  # what gethostname() answers, without importing socket
        name = os.uname().nodename
    else:
        import socket

        name = socket.gethostname()
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40]


@functools.cache
def _owner(pid: int) -> str:
    """Process ``pid`` in temp names: its pid, and its start time where the system tells
    it (a pid is reused; a pid and a start time are not). Keyed by pid, as a forked
    child is another process."""
    info = _proc_stat(pid)
    return f"{pid}_{info[1]}" if info else str(pid)


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """``(state, start time)`` of process ``pid`` from ``/proc/PID/stat`` (fields 3 and
    22), or None where there is no such file (no such process, or no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    if len(fields) < 20:
        return None
    return fields[0].decode("ascii", "replace"), fields[19].decode("ascii", "replace")


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` of this machine still runs: a zombie (exited, not yet
    reaped) does not, nor does a new process that took the pid of one started at
    ``started`` (a start time as :func:`temp_name` records it)."""
    if pid <= 0:
        return False
    if os.path.isdir("/proc/self"):
        info = _proc_stat(pid)
        if info is None:
            return False
        state, start = info
        return state not in ("Z", "X") and (started is None or started == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, under another user
        return True
    return True


def temp_name(path: str) -> str:
    """A temporary name beside ``path``: ``.NAME.HOST.PID_START-N.part``.

    Unique across threads, processes and machines writing to one shared folder, and
    recognisable (hidden, ``.part``) so a sweep can remove what a killed run left.
    """
    head, name = os.path.split(path)
    owner = _owner(os.getpid())
    return os.path.join(head, f".{name}.{_host()}.{owner}-{next(_TEMP_COUNTER)}.part")


def remove_stale_temp(path: str) -> bool:
    """Remove ``path`` if it is a :func:`temp_name` file that a process of this machine
    left when it was killed (that process is gone, a zombie, or its pid now names
    another process); True if removed."""
    name = os.path.basename(path)
    if not (name.startswith(".") and name.endswith(".part")):
        return False
    head, _, tail = name[: -len(".part")].rpartition(".")
    owner, dash, count = tail.partition("-")
    pid, _, started = owner.partition("_")
    if not (dash and pid.isdigit() and count.isdigit() and head.endswith("." + _host())):
        return False
    if started and not started.isdigit():
        return False
    if process_alive(int(pid), started or None):
        return False
    with contextlib.suppress(OSError):
        os.unlink(path)
        return True
    return False


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: a temp file beside it, then a rename.

    A file under its final name is always whole. Lean on purpose (open, write, close,
    rename): hot loops write thousands of images with it from many threads. Without
    ``fsync`` the rename is still atomic, but a machine crash may lose the data of a
    file already renamed; callers that skip fsync check sizes when they resume.
    """
    target = os.fspath(path)
    tmp = temp_name(target)
    flags = (
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_BINARY", 0)
    )
    try:
        fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        fd = os.open(tmp, flags, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str, *, fsync: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w", fsync=fsync) as fh:
        fh.write(text)


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK = current
    return _UMASK


class LockBusy(ImagenetError):
    """Another process holds the lock (past the timeout)."""


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if needed) across processes.

    Blocks until the lock is free, or raises :class:`LockBusy` after ``timeout``
    seconds (0: one try). The lock goes with the process, so a killed holder never
    leaves it stuck.
    """
    lock_path = Path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, lock_path, timeout)
        try:
            yield
        finally:
            _release(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _acquire(fd: int, path: Path, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if deadline is not None and time.monotonic() > deadline:
                    raise LockBusy(f"timed out waiting for lock {path}") from None
                time.sleep(0.05)

    def _release(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(fd: int, path: Path, timeout: float | None) -> None:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockBusy(f"timed out waiting for lock {path}") from None
                time.sleep(0.02)

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


Migration = Callable[[sqlite3.Connection], None] | str


def connect(
    path: str | os.PathLike[str],
    migrations: Sequence[Migration] = (),
    *,
    readonly: bool = False,
    timeout: float = 30.0,
) -> sqlite3.Connection:
    """Open a SQLite database in WAL mode, safe for several processes at once.

    ``migrations`` are applied in order, each once, tracked by ``PRAGMA user_version``
    (item ``i`` moves the schema from version ``i`` to ``i + 1``); they run under an
    exclusive transaction so two processes opening a new database do not race.
    """
    db_path = Path(path)
    if readonly:
        uri = f"{db_path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        return conn
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=timeout, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if migrations:
        _migrate(conn, migrations)
    return conn


def _migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= len(migrations):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(version, len(migrations)):
            migration = migrations[step]
            if isinstance(migration, str):
                for statement in migration.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            else:
                migration(conn)
            conn.execute(f"PRAGMA user_version = {step + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# The top-level items imagenet writes in the cache folder; `cache clean` removes these
# and nothing else, so a cache variable that names a folder of one's own (a typo,
# IMAGENET_CACHE=~/data) never costs the files in it. A test checks that every path
# the code builds in the cache starts with one of them.
OWNED = frozenset({"bbox", "index", "lists", "originals", "shard-samples", "subset", "urllists"})


class CacheEntry(NamedTuple):
    """One top-level item of the cache folder and what it holds."""

    name: str
    path: Path
    files: int
    bytes: int


def cache_entries() -> list[CacheEntry]:
    """The top-level items of the cache folder with their sizes, by name."""
    root = cache_dir()
    entries = []
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if (child.name.startswith(".") and child.name.endswith(".lock")) or (
            child.name == TAG_NAME
        ):
            continue
        files, size = _du(child)
        entries.append(CacheEntry(child.name, child, files, size))
    return entries


def _du(path: Path) -> tuple[int, int]:
    if path.is_symlink() or path.is_file():
        return 1, path.lstat().st_size
    files = size = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
    return files, size


class Cleaned(NamedTuple):
    """What :func:`clean_cache` removed (or would), and what it left as not its own."""

    removed: list[CacheEntry]
    foreign: list[CacheEntry]


def clean_cache(parts: Sequence[str] = (), *, dry_run: bool = False) -> Cleaned:
    """Remove the named top-level cache items (all of imagenet's when none are named).

    Only the items imagenet writes (:data:`OWNED`) are ever removed; anything else in
    the folder is left and returned as ``foreign``. A name that is not in the cache is
    :class:`NotFoundError`, so a typo never silently removes nothing; naming an item
    that is not imagenet's is a :class:`UsageError`. A folder without imagenet's
    :data:`TAG_NAME` (one that held files of its own when imagenet first used it) is
    a :class:`UsageError`: nothing is removed from it.
    """
    root = cache_dir()
    if not is_tagged(root):
        raise UsageError(
            f"{root} was not made for imagenet's cache (it held other files when imagenet "
            f"first used it, and has no {TAG_NAME}): nothing removed; remove imagenet's "
            "items by hand, or set IMAGENET_CACHE to a folder of its own"
        )
    entries = {e.name: e for e in cache_entries()}
    foreign = [e for e in entries.values() if e.name not in OWNED]
    if parts:
        unknown = [p for p in parts if p not in entries]
        if unknown:
            known = ", ".join(e for e in entries if e in OWNED) or "nothing"
            raise NotFoundError(f"not in the cache: {', '.join(unknown)} (cache holds: {known})")
        theirs = [p for p in parts if p not in OWNED]
        if theirs:
            raise UsageError(
                f"{', '.join(theirs)}: not written by imagenet, left alone (in {cache_dir()})"
            )
        chosen = [entries[p] for p in dict.fromkeys(parts)]
        foreign = []
    else:
        chosen = [e for e in entries.values() if e.name in OWNED]
    if not dry_run:
        import shutil

        for entry in chosen:
            try:
                if entry.path.is_dir() and not entry.path.is_symlink():
                    shutil.rmtree(entry.path)
                else:
                    entry.path.unlink(missing_ok=True)
            except OSError as exc:
                raise UsageError(
                    f"{entry.path}: cannot remove: {exc.strerror or exc} (the cache folder "
                    f"must be writable for this; set {CACHE_ENV} to another folder)"
                ) from None
    return Cleaned(chosen, foreign)
