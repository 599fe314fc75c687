"""fall11-style URL lists (``image_id<TAB>url`` per line), indexed into SQLite.

Indexing streams the list once (a local path, a ``.gz``, or an http(s) URL) and
stores each run of consecutive lines of one wnid as a zlib-compressed blob keyed
by wnid, so looking a wnid up reads a few blobs instead of scanning 14 M lines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import os
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .. import cache
from ..credentials import redact
from ..errors import ImagenetError, NotFoundError
from . import ImageRef

CHUNK = 8 << 20
ProgressFn = Callable[[int, int | None, str], None]

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
    """One indexed list."""

    id: int
    source: str
    fetched_at: str
    etag: str
    last_modified: str
    lines: int
    skipped: int
    wnids: int


def db_path() -> Path:
    return cache.cache_dir() / "urllists" / "index.sqlite"


def has_index() -> bool:
    return db_path().exists()


def _connect() -> sqlite3.Connection:
    return cache.connect(db_path(), MIGRATIONS)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _key(source: str) -> str:
    """The name a list is indexed under (and shown as): a URL without its password."""
    return redact(source) if is_url(source) else str(Path(source).expanduser().resolve())


def lists() -> list[ListInfo]:
    """Every indexed list, oldest first."""
    if not has_index():
        return []
    with contextlib.closing(_connect()) as conn:
        rows = conn.execute(
            "SELECT id, source, fetched_at, etag, last_modified, lines, skipped, wnids "
            "FROM list ORDER BY id"
        ).fetchall()
    return [ListInfo(*row) for row in rows]


def count(wnid: str) -> int:
    """How many images the indexed lists hold for ``wnid``."""
    if not has_index():
        return 0
    with contextlib.closing(_connect()) as conn:
        row = conn.execute("SELECT COALESCE(SUM(n), 0) FROM run WHERE wnid = ?", (wnid,)).fetchone()
    return int(row[0])


def lookup(wnid: str, *, list_id: int | None = None) -> list[ImageRef]:
    """The indexed images of ``wnid`` (of one list, or of all lists), in list order."""
    return lookup_many([wnid], list_id=list_id)[wnid]


def lookup_many(wnids: list[str], *, list_id: int | None = None) -> dict[str, list[ImageRef]]:
    """:func:`lookup` of each of ``wnids``, over one connection."""
    if not has_index():
        return {w: [] for w in wnids}
    conn = _connect()
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
            image_id, _, url = line.partition("\t")
            url = url.strip()
            if url and image_id not in seen:
                seen.add(image_id)
                refs.append(ImageRef(wnid, image_id, url))
    return refs


def split_runs(chunk: bytes) -> Iterator[tuple[str | None, int, int]]:
    """``(wnid, start, end)`` for each run of consecutive lines of one wnid in ``chunk``.

    ``chunk`` ends at a line end. Lines that do not start with ``nDDDDDDDD_`` come
    as runs of wnid None (one per line).
    """
    pos, size = 0, len(chunk)
    find, startswith = chunk.find, chunk.startswith
    while pos < size:
        head = chunk[pos : pos + 10]
        if len(head) < 10 or head[0] != 110 or head[9] != 95 or not head[1:9].isdigit():
            end = find(b"\n", pos)
            end = size if end < 0 else end + 1
            if chunk[pos:end].strip():
                yield None, pos, end
            pos = end
            continue
        end = pos
        while True:
            nl = find(b"\n", end)
            if nl < 0 or nl + 1 >= size:
                end = size
                break
            end = nl + 1
            if not startswith(head, end):
                break
        yield head[:9].decode(), pos, end
        pos = end


def _chunks(stream: IO[bytes], on_bytes: Callable[[int], None]) -> Iterator[bytes]:
    tail = b""
    while True:
        block = stream.read(CHUNK)
        if not block:
            break
        on_bytes(len(block))
        block = tail + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            tail = block
            continue
        tail = block[cut:]
        yield block[:cut]
    if tail:
        yield tail + b"\n"


def _insert(
    conn: sqlite3.Connection, list_id: int, stream: IO[bytes], progress: ProgressFn | None
) -> tuple[int, int, int]:
    lines = skipped = 0
    wnids: set[str] = set()

    def on_bytes(n: int) -> None:
        if progress:
            progress(n, None, "")

    batch: list[tuple[int, str, int, bytes]] = []
    compress = zlib.compress
    for chunk in _chunks(stream, on_bytes):
        for wnid, start, end in split_runs(chunk):
            piece = chunk[start:end]
            n = piece.count(b"\n")
            if wnid is None:
                skipped += n
                continue
            lines += n
            wnids.add(wnid)
            batch.append((list_id, wnid, n, compress(piece, 1)))
        conn.executemany("INSERT INTO run (list_id, wnid, n, data) VALUES (?, ?, ?, ?)", batch)
        batch.clear()
    return lines, skipped, len(wnids)


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
    """Index ``source`` now (replacing an earlier index of it); returns what it holds."""
    key = _key(source)
    with cache.file_lock(db_path().parent / ".index.lock"):
        list_id = _index(key, source, progress=progress, timeout=timeout)
    return next(info for info in lists() if info.id == list_id)


def _find(key: str) -> tuple[int, int, float] | None:
    if not has_index():
        return None
    with contextlib.closing(_connect()) as conn:
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


def _index(key: str, source: str, *, progress: ProgressFn | None, timeout: float) -> int:
    """Index ``source`` under the name ``key`` (see :func:`_key`); the list's id."""
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
                opener = gzip.open if key.endswith(".gz") else open
                try:
                    with opener(key, "rb") as fh:
                        counts = _insert(conn, list_id, fh, progress)  # type: ignore[arg-type]
                except (OSError, EOFError) as exc:
                    raise ImagenetError(f"{key}: cannot read: {exc}") from None
            lines, skipped, wnids = counts
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
    """A file-like ``read(n)`` over an httpx byte iterator."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, b""

    def read(self, n: int) -> bytes:
        while len(self._buf) < n:
            nxt = next(self._chunks, None)
            if nxt is None:
                break
            self._buf += nxt
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


def _index_url(
    conn: sqlite3.Connection, list_id: int, url: str, progress: ProgressFn | None, timeout: float
) -> tuple[str, str, int, tuple[int, int, int]]:
    import httpx

    from ..download import USER_AGENT

    try:
        with (
            httpx.Client(
                follow_redirects=True, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code != 200:
                raise ImagenetError(f"{redact(url)}: HTTP {resp.status_code}")
            total = resp.headers.get("content-length")
            if progress:
                progress(0, int(total) if total and total.isdigit() else None, "")
            body: IO[bytes] = _Stream(resp.iter_bytes(CHUNK))  # type: ignore[assignment]
            if url.split("?")[0].endswith(".gz"):
                body = gzip.GzipFile(fileobj=body)  # type: ignore[assignment]
            counts = _insert(conn, list_id, body, progress)
            size = int(total) if total and total.isdigit() else 0
            return resp.headers.get("etag", ""), resp.headers.get("last-modified", ""), size, counts
    except httpx.HTTPError as exc:
        raise ImagenetError(f"{redact(url)}: {redact(str(exc)) or type(exc).__name__}") from None
