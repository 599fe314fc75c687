"""A list's bytes into index rows: runs of consecutive lines of one wnid, each line
checked by :func:`parse_line`'s rule, stored as zlib blobs (see :mod:`.urllist`).
"""

from __future__ import annotations

import collections
import itertools
import operator
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from typing import IO

from ..credentials import redact
from . import SkippedLine, parse_line

CHUNK = 8 << 20
UTF8_BOM = b"\xef\xbb\xbf"
ProgressFn = Callable[[int, int | None, str], None]
# Skipped lines named by ``urls index``; past these only their number is told.
SKIPPED_SHOWN = 20


def split_runs(chunk: bytes) -> Iterator[tuple[str | None, int, int]]:
    """``(wnid, start, end)`` for each run of consecutive lines of one wnid in ``chunk``.

    ``chunk`` ends at a line end. Lines that do not start with ``nDDDDDDDD_`` come
    as runs of wnid None (one per line).
    """
    pos, size = 0, len(chunk)
    find = chunk.find
    while pos < size:
        head = chunk[pos : pos + 10]
        if len(head) < 10 or head[0] != 110 or head[9] != 95 or not head[1:9].isdigit():
            end = find(b"\n", pos)
            end = size if end < 0 else end + 1
            if chunk[pos:end].strip():
                yield None, pos, end
            pos = end
            continue
        end = _run_end(chunk, pos, head)
        yield head[:9].decode(), pos, end
        pos = end


def _run_end(chunk: bytes, pos: int, head: bytes) -> int:
    """Where the run of lines starting with ``head`` that begins at ``pos`` ends.

    Looking at each line costs a Python step per line, most of indexing a 14 M-line
    list; instead the end is found by galloping and then halving over line starts,
    and one count checks that every line in between starts with ``head`` (a list
    whose wnids come back later is walked line by line).
    """
    size = len(chunk)
    find, startswith = chunk.find, chunk.startswith

    def line_start(at: int) -> int:  # the first line start at or after ``at`` (or size)
        if at <= pos:
            return pos
        nl = find(b"\n", at - 1)
        return size if nl < 0 else nl + 1

    lo, step = pos, 2048  # the line at lo starts with head
    while True:
        probe = line_start(lo + step)
        if probe >= size or not startswith(head, probe):
            hi = probe  # the first line start known not to (or the end)
            break
        lo, step = probe, step * 2
    while True:  # halve (lo, hi) until hi is the line after lo
        mid = line_start((lo + hi) // 2 + 1)
        if mid >= hi:
            mid = line_start(lo + 1)
            if mid >= hi:
                break
        if startswith(head, mid):
            lo = mid
        else:
            hi = mid
    end = hi
    lines = chunk.count(b"\n", pos, end) + (end == size and not chunk.endswith(b"\n"))
    if lines == 1 + chunk.count(b"\n" + head, pos, end - 1):
        return end
    end = pos  # the wnid comes back after other lines in between: line by line
    while True:
        nl = find(b"\n", end)
        if nl < 0 or nl + 1 >= size:
            return size
        end = nl + 1
        if not startswith(head, end):
            return end


def _chunks(stream: IO[bytes], on_bytes: Callable[[int], None]) -> Iterator[bytes]:
    tail = b""
    first = True
    while True:
        block = stream.read(CHUNK)
        if not block:
            break
        on_bytes(len(block))
        if first:  # a list saved by a Windows editor starts with a UTF-8 BOM
            block, first = block.removeprefix(UTF8_BOM), False
        block = tail + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            tail = block
            continue
        tail = block[cut:]
        yield block[:cut]
    if tail:
        yield tail + b"\n"


class Counts:
    """What indexing found: lines kept, lines skipped (the first few named), wnids."""

    def __init__(self) -> None:
        self.lines = self.skipped = 0
        self.wnids: set[str] = set()
        self.shown: list[SkippedLine] = []
        # The ids of the wnid being read: fall11 lists a wnid's lines together, so a
        # repeated id is caught while memory holds one wnid's ids. They are kept as the
        # runs gave them, (first line, ids), and made a dict of id -> line only when a
        # second run of the wnid (or an unusual line) needs to look them up.
        self.wnid = ""
        self.runs: list[tuple[int, list[bytes]]] = []
        self.ids: dict[bytes, int] = {}

    def seen(self, wnid: str) -> dict[bytes, int]:
        """The ids of ``wnid`` read so far in its current stretch of lines, by line."""
        if wnid != self.wnid:
            self.wnid, self.runs, self.ids = wnid, [], {}
        for first, ids in self.runs:
            for k, image_id in enumerate(ids):
                self.ids.setdefault(image_id, first + k)
        self.runs.clear()
        return self.ids

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.shown) < SKIPPED_SHOWN:
            self.shown.append(SkippedLine(line, reason))


def _shown_text(raw: bytes) -> str:
    text = redact(raw.decode("utf-8", errors="replace").strip())
    return text if len(text) <= 60 else text[:57] + "..."


def _plain_ids(piece: bytes, n: int, head: bytes) -> list[bytes] | None:
    """The ids of a run of ``n`` lines when every one is ``id<TAB>url`` with a URL, else
    None (then the lines are read one by one). Bytes operations only: a list of 14 M
    lines is mostly such runs, and a Python step per line would slow indexing markedly."""
    parts = piece.replace(b"\n", b"\t").split(b"\t")
    if len(parts) != 2 * n + 1 or b"\t\r" in piece or b"\t " in piece:
        return None
    ids = parts[0 : 2 * n : 2]
    # Each id starts with the run's wnid: a line short of a tab beside one with two
    # would pair ids with URLs out of step.
    if (b"\t" + b"\t".join(ids)).count(b"\t" + head) != n or b"" in parts[1::2]:
        return None
    return ids


def _run_lines(piece: bytes, first: int, wnid: str, counts: Counts) -> bytes:
    """The lines of one wnid's run that give an image (as ``id<TAB>url``); the others
    are counted and named as skipped. ``first`` is the run's first line number."""
    n = piece.count(b"\n")
    ids = _plain_ids(piece, n, wnid.encode() + b"_")
    if ids is not None and len(set(ids)) == n:
        if wnid != counts.wnid:  # a new wnid: nothing to repeat
            counts.wnid, counts.runs, counts.ids = wnid, [(first, ids)], {}
            counts.lines += n
            return piece
        if counts.seen(wnid).keys().isdisjoint(ids):
            counts.runs.append((first, ids))
            counts.lines += n
            return piece
    seen = counts.seen(wnid)
    kept = []
    for k, raw in enumerate(piece.split(b"\n")[:n]):
        number = first + k
        parsed = parse_line(raw.decode("utf-8", errors="replace"))
        if parsed is None:
            counts.skip(number, f"no URL after the image id ({_shown_text(raw)})")
            continue
        key = parsed[0].encode("utf-8", errors="replace")
        if key in seen:
            counts.skip(number, f"image id {parsed[0]} already on line {seen[key]}")
            continue
        seen[key] = number
        kept.append(f"{parsed[0]}\t{parsed[1]}\n")
    counts.lines += len(kept)
    return "".join(kept).encode("utf-8", errors="replace")


# Lines of interleaved wnids held before they are stored, grouped by wnid: one row per
# wnid per this much, written in wnid order, instead of a row per line at a random
# place of the wnid index (20x slower for a list interleaved across 20,000 wnids).
# Each row costs a zlib set-up, about what compressing 2 kB costs: 64 MB held, a row
# holds some 3 kB of a wnid's lines, and compressing costs a third less than at 32 MB.
GROUPED_BYTES = 64 << 20
_HEAD = operator.itemgetter(slice(0, 10))  # a line's "nDDDDDDDD_"
_NOT_TAB_OR_NL = bytes(b for b in range(256) if b not in b"\t\n")
_NO_URL = re.compile(rb"\t[\x00- ]")
Row = tuple[int, str, int, bytes]


def insert_rows(
    conn: sqlite3.Connection, list_id: int, stream: IO[bytes], progress: ProgressFn | None
) -> Counts:
    counts = Counts()

    def on_bytes(n: int) -> None:
        if progress:
            progress(n, None, "")

    insert = "INSERT INTO run (list_id, wnid, n, data) VALUES (?, ?, ?, ?)"
    batch: list[Row] = []
    held = _Held()
    line = 1  # the number of the line at ``pos`` of the chunk
    for chunk in _chunks(stream, on_bytes):
        n = held.add(chunk) if _interleaved(chunk) else 0
        if n:
            counts.wnid, counts.runs, counts.ids = "", [], {}  # no stretch goes on past it
            counts.lines += n
            line += n
            if held.size >= GROUPED_BYTES:
                conn.executemany(insert, held.rows(list_id))
            continue
        if held.size:  # stored first: a wnid's rows stay in list order
            conn.executemany(insert, held.rows(list_id))
        pos = 0
        for wnid, start, end in split_runs(chunk):
            line += chunk.count(b"\n", pos, start)  # blank lines between runs
            pos = start
            piece = chunk[start:end]
            if wnid is None:
                counts.skip(line, f"no image id at the start ({_shown_text(piece)})")
            else:
                kept = _run_lines(piece, line, wnid, counts)
                if kept:
                    counts.wnids.add(wnid)
                    batch.append((list_id, wnid, kept.count(b"\n"), _compress(kept)))
            line += piece.count(b"\n")
            pos = end
        line += chunk.count(b"\n", pos)
        conn.executemany(insert, batch)
        batch.clear()
    conn.executemany(insert, held.rows(list_id))
    counts.wnids.update(head[:9].decode() for head in held.known)
    return counts


def _compress(data: bytes) -> bytes:
    """``data`` for a row: zlib's level 1, the fastest; a list's URLs, alike from line
    to line, still shrink to about a tenth. (A smaller window and state set up no
    faster, and compress a grouped list's long runs more slowly.)"""
    return zlib.compress(data, 1)


def _interleaved(chunk: bytes) -> bool:
    """Whether the wnid changes often in the first lines of ``chunk`` (a list grouped
    by wnid, as fall11's is, changes once every few hundred lines)."""
    heads = [part[:10] for part in chunk.split(b"\n", 64)[:64]]
    return sum(a != b for a, b in itertools.pairwise(heads)) > 8


class _Held:
    """Lines of interleaved wnids, grouped by wnid until they are stored: one row per
    wnid for many chunks."""

    def __init__(self) -> None:
        # "nDDDDDDDD_" -> runs of lines
        self.pieces: collections.defaultdict[bytes, list[bytes]] = collections.defaultdict(list)
        self.known: set[bytes] = set()  # each "nDDDDDDDD_" held so far, checked
        self.size = 0

    def add(self, chunk: bytes) -> int:
        """Take the lines of ``chunk`` by wnid, each wnid's in list order, and return
        how many, when every line is a plain ``id<TAB>url`` of its wnid; else take
        nothing and return 0 (the chunk is then read in list order, each odd line
        named by its number). A repeated id is taken too (lookup keeps its first
        line): a set of a chunk's ids cost a fifth of indexing. Bytes operations and
        C loops alone: a Python step per line, or even per wnid, would cost more than
        the rest of indexing."""
        n = chunk.count(b"\n")  # a chunk ends with a line break
        # One tab on each line: tabs and line breaks take turns. And a URL after it:
        # no tab is followed by a space, a control character or the line's end.
        if chunk.translate(None, _NOT_TAB_OR_NL) != b"\t\n" * n or _NO_URL.search(chunk):
            return 0
        lines = chunk.split(b"\n")
        lines.pop()
        bucket: collections.defaultdict[bytes, list[bytes]] = collections.defaultdict(list)
        # any() runs the map to its end (list.append gives None): each line to its wnid
        any(map(list.append, map(bucket.__getitem__, map(_HEAD, lines)), lines))
        del lines
        new = bucket.keys() - self.known
        for head in new:
            # "nDDDDDDDD_" starts each line, and so its id (a tab ends it)
            if len(head) != 10 or head[0] != 110 or head[9] != 95 or not head[1:9].isdigit():
                return 0
        self.known |= new
        pieces = self.pieces  # each wnid's lines joined, appended to what it holds
        any(map(list.append, map(pieces.__getitem__, bucket), map(b"\n".join, bucket.values())))
        self.size += len(chunk)
        return n

    def rows(self, list_id: int) -> list[Row]:
        """One row per wnid, its lines in list order, in wnid order (the index takes
        them in its own order); emptied."""
        rows = []
        for head in sorted(self.pieces):
            pieces = self.pieces[head]
            pieces.append(b"")  # a line break after the last line too
            data = b"\n".join(pieces)
            rows.append((list_id, head[:9].decode(), data.count(b"\n"), _compress(data)))
        self.pieces, self.size = collections.defaultdict(list), 0
        return rows
