"""fall11-style URL lists (``image_id<TAB>url`` per line), indexed into SQLite.

Indexing streams the list once (a local path, a ``.gz``, or an http(s) URL) and
stores each run of consecutive lines of one wnid as a zlib-compressed blob keyed
by wnid, so looking a wnid up reads a few blobs instead of scanning 14 M lines.

One rule decides which lines count (:func:`parse_line`), at indexing and at lookup:
an image id, then a tab (or, as some mirrors write it, spaces), then the URL; the
first line of an id wins. Indexing stores only the lines that count, so the numbers
``urls index`` and ``urls info`` report are the images ``fetch`` gets, and it names
the lines it skips. (A list not grouped by wnid is the exception: an id it repeats is
stored and counted again, and dropped at lookup.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import os
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ... import cache
from ...errors import ImagenetError, NotFoundError
from ..credentials import redact
from . import ImageRef, SkippedLine, parse_line

if TYPE_CHECKING:
    from .listrows import Counts, ProgressFn

GZIP_MAGIC = b"\x1f\x8b"

MIGRATIONS = [
    """
    CREATE TABLE list (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL UNIQUE,
        fetched_at TEXT NOT NULL,
        etag TEXT NOT NULL DEFAULT '',
        last_modified TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        mtime REAL NOT NULL DEFAULT 0,
        lines INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        wnids INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE run (
        list_id INTEGER NOT NULL REFERENCES list(id) ON DELETE CASCADE,
        wnid TEXT NOT NULL,
        n INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX run_wnid ON run (wnid, list_id)
    """,
]


@dataclass(frozen=True)
class ListInfo:
    """One indexed list: ``lines`` that give an image, ``skipped`` lines that do not."""

    id: int
    source: str
    fetched_at: str
    etag: str
    last_modified: str
    lines: int
    skipped: int
    wnids: int
    # The first SKIPPED_SHOWN skipped lines, when the list was just indexed.
    skipped_lines: tuple[SkippedLine, ...] = ()


def db_path() -> Path:
    return cache.cache_dir() / "urllists" / "index.sqlite"


def has_index() -> bool:
    return db_path().exists()


def _connect(read: bool = False) -> sqlite3.Connection:
    """The index database; to ``read``, one in a cache that cannot be written too."""
    try:
        return cache.connect(db_path(), MIGRATIONS)
    except sqlite3.OperationalError:
        if not read:
            raise
    # Read-only (a read-only mount, another user's cache): opened as immutable, as WAL's
    # shared-memory file cannot be made beside it.
    uri = f"{db_path().resolve().as_uri()}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _key(source: str) -> str:
    """The name a list is indexed under (and shown as): a URL without its password."""
    return redact(source) if is_url(source) else str(Path(source).expanduser().resolve())


def lists() -> list[ListInfo]:
    """Every indexed list, oldest first."""
    if not has_index():
        return []
    with contextlib.closing(_connect(read=True)) as conn:
        rows = conn.execute(
            "SELECT id, source, fetched_at, etag, last_modified, lines, skipped, wnids "
            "FROM list ORDER BY id"
        ).fetchall()
    return [ListInfo(*row) for row in rows]


def count(wnid: str) -> int:
    """How many images the indexed lists hold for ``wnid``: as many as :func:`lookup`
    gives (an id listed by two lists counts once, as fetch takes it once)."""
    return len(lookup(wnid))


def lookup(wnid: str, *, list_id: int | None = None) -> list[ImageRef]:
    """The indexed images of ``wnid`` (of one list, or of all lists), in list order."""
    return lookup_many([wnid], list_id=list_id)[wnid]


def lookup_many(wnids: list[str], *, list_id: int | None = None) -> dict[str, list[ImageRef]]:
    """:func:`lookup` of each of ``wnids``, over one connection."""
    if not has_index():
        return {w: [] for w in wnids}
    conn = _connect(read=True)
    try:
        return {w: _refs(conn, w, list_id) for w in wnids}
    finally:
        conn.close()


def _refs(conn: sqlite3.Connection, wnid: str, list_id: int | None) -> list[ImageRef]:
    if list_id is None:
        rows = conn.execute("SELECT data FROM run WHERE wnid = ? ORDER BY list_id, rowid", (wnid,))
    else:
        rows = conn.execute(
            "SELECT data FROM run WHERE wnid = ? AND list_id = ? ORDER BY rowid", (wnid, list_id)
        )
    refs = []
    seen: set[str] = set()
    for (blob,) in rows:
        for line in zlib.decompress(blob).decode("utf-8", errors="replace").splitlines():
            parsed = parse_line(line)
            if parsed is not None and parsed[0] not in seen:
                seen.add(parsed[0])
                refs.append(ImageRef(wnid, *parsed))
    return refs


def ensure_indexed(
    source: str,
    *,
    refresh: bool = False,
    offline: bool = False,
    timeout: float = 30.0,
    progress: ProgressFn | None = None,
) -> int:
    """The list id of ``source``, indexing it first when it is new or changed."""
    key = _key(source)
    with cache.file_lock(db_path().parent / ".index.lock"):
        current = _find(key)
        if current is not None and offline:
            return current[0]
        if offline:
            raise NotFoundError(
                f"{redact(source)}: not indexed (run 'imagenet urls index' without --offline)"
            )
        if current is not None and not refresh and not is_url(source):
            st = _stat(key)
            if (st.st_size, st.st_mtime) == (current[1], current[2]):
                return current[0]
        if current is not None and not refresh and is_url(source):
            return current[0]
        return _index(key, source, progress=progress, timeout=timeout)


def index(source: str, *, progress: ProgressFn | None = None, timeout: float = 30.0) -> ListInfo:
    """Index ``source`` now (replacing an earlier index of it); returns what it holds,
    with the first skipped lines named. Downloading one (``source`` a URL) needs
    ImageNet's terms of access accepted (else :class:`TermsError`)."""
    if is_url(source):
        from .. import terms

        terms.require_accepted()
    key = _key(source)
    shown: list[SkippedLine] = []
    with cache.file_lock(db_path().parent / ".index.lock"):
        list_id = _index(key, source, progress=progress, timeout=timeout, shown=shown)
    info = next(info for info in lists() if info.id == list_id)
    return replace(info, skipped_lines=tuple(shown))


def _find(key: str) -> tuple[int, int, float] | None:
    if not has_index():
        return None
    with contextlib.closing(_connect(read=True)) as conn:
        row = conn.execute("SELECT id, size, mtime FROM list WHERE source = ?", (key,)).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), float(row[2]))


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImagenetError(f"{path}: cannot read: {exc.strerror}") from None


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _index(
    key: str,
    source: str,
    *,
    progress: ProgressFn | None,
    timeout: float,
    shown: list[SkippedLine] | None = None,
) -> int:
    """Index ``source`` under the name ``key`` (see :func:`_key`); the list's id. The
    first skipped lines go to ``shown``."""
    from . import listrows  # here: a lookup never needs the parser

    conn = _connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "DELETE FROM run WHERE list_id IN (SELECT id FROM list WHERE source = ?)", (key,)
            )
            conn.execute("DELETE FROM list WHERE source = ?", (key,))
            cur = conn.execute("INSERT INTO list (source, fetched_at) VALUES (?, ?)", (key, _now()))
            list_id = int(cur.lastrowid or 0)
            if is_url(key):
                etag, modified, size, counts = _index_url(conn, list_id, source, progress, timeout)
                mtime = 0.0
            else:
                st = _stat(key)
                size, mtime, etag, modified = st.st_size, st.st_mtime, "", ""
                if progress:
                    progress(0, size, "")
                try:
                    with open(key, "rb") as head:  # gzip'd whatever its name says
                        gz = key.endswith(".gz") or head.read(2) == GZIP_MAGIC
                    with (gzip.open if gz else open)(key, "rb") as fh:
                        counts = listrows.insert_rows(conn, list_id, fh, progress)  # type: ignore[arg-type]
                except (OSError, EOFError) as exc:
                    raise ImagenetError(f"{key}: cannot read: {exc}") from None
            lines, skipped, wnids = counts.lines, counts.skipped, len(counts.wnids)
            if shown is not None:
                shown.extend(counts.shown)
            conn.execute(
                "UPDATE list SET etag = ?, last_modified = ?, size = ?, mtime = ?, lines = ?, "
                "skipped = ?, wnids = ? WHERE id = ?",
                (etag, modified, size, mtime, lines, skipped, wnids, list_id),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return list_id
    finally:
        conn.close()


class _Stream:
    """A file-like ``read(n)`` over a byte iterator."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, b""

    def peek(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer at the end), left to be read."""
        if len(self._buf) < n:
            # joined once: the network's pieces are small, and adding each to the
            # buffer would copy it over and over
            parts, have = [self._buf], len(self._buf)
            while have < n:
                nxt = next(self._chunks, None)
                if nxt is None:
                    break
                parts.append(nxt)
                have += len(nxt)
            self._buf = b"".join(parts)
        return self._buf[:n]

    def read(self, n: int) -> bytes:
        out = self.peek(n)
        self._buf = self._buf[len(out) :]
        return out


def _index_url(
    conn: sqlite3.Connection, list_id: int, url: str, progress: ProgressFn | None, timeout: float
) -> tuple[str, str, int, Counts]:
    from ..download import USER_AGENT, at_least
    from ..transport import TransportError, stream
    from . import listrows

    try:
        with stream(url, timeout=timeout, user_agent=USER_AGENT) as resp:
            if resp.status != 200:
                raise ImagenetError(f"{redact(url)}: HTTP {resp.status}")
            total = resp.headers.get("content-length")
            if progress:
                progress(0, int(total) if total and total.isdigit() else None, "")
            chunks = _Stream(at_least(resp.chunks, timeout))
            body: IO[bytes] = chunks  # type: ignore[assignment]
            if url.split("?")[0].endswith(".gz") or chunks.peek(2) == GZIP_MAGIC:
                body = gzip.GzipFile(fileobj=body)  # type: ignore[assignment]
            counts = listrows.insert_rows(conn, list_id, body, progress)
            size = int(total) if total and total.isdigit() else 0
            return resp.headers.get("etag", ""), resp.headers.get("last-modified", ""), size, counts
    # OSError: a download that slowed to a trickle, or a body that is no gzip
    except (TransportError, ValueError, OSError) as exc:
        raise ImagenetError(f"{redact(url)}: {redact(str(exc)) or type(exc).__name__}") from None
