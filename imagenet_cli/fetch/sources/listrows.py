"""A list's bytes into index rows: runs of consecutive lines of one wnid, each line
checked by :func:`parse_line`'s rule, stored as zlib blobs (see :mod:`.urllist`).
"""

from __future__ import annotations

import itertools
import operator
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from itertools import repeat
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
GROUPED_BYTES = 32 << 20
_HEAD = operator.itemgetter(slice(0, 10))  # a line's "nDDDDDDDD_"


def insert_rows(
    conn: sqlite3.Connection, list_id: int, stream: IO[bytes], progress: ProgressFn | None
) -> Counts:
    counts = Counts()

    def on_bytes(n: int) -> None:
        if progress:
            progress(n, None, "")

    insert = "INSERT INTO run (list_id, wnid, n, data) VALUES (?, ?, ?, ?)"
    batch: list[tuple[int, str, int, bytes]] = []
    held = _Held()
    line = 1  # the number of the line at ``pos`` of the chunk
    for chunk in _chunks(stream, on_bytes):
        n = held.add(chunk) if _interleaved(chunk) else 0
        if n:
            counts.wnid, counts.runs, counts.ids = "", [], {}  # no stretch goes on past it
            counts.lines += n
            line += n
            if held.size >= GROUPED_BYTES:
                conn.executemany(insert, held.rows(list_id, counts.wnids))
            continue
        if held.size:  # stored first: a wnid's rows stay in list order
            conn.executemany(insert, held.rows(list_id, counts.wnids))
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
    conn.executemany(insert, held.rows(list_id, counts.wnids))
    return counts


def _compress(data: bytes) -> bytes:
    """``data`` in zlib's format, as :func:`zlib.decompress` reads it. A 4 KiB window
    and a small state: zlib's defaults (32 KiB, level 8 memory) cost 60 µs a call to
    set up, more than compressing a run of a few kB, and a list holds 20,000 wnids;
    URLs repeat themselves within a few lines, so the output is even a little smaller."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 12, 4)
    return packer.compress(data) + packer.flush()


def _interleaved(chunk: bytes) -> bool:
    """Whether the wnid changes often in the first lines of ``chunk`` (a list grouped
    by wnid, as fall11's is, changes once every few hundred lines)."""
    heads = [part[:10] for part in chunk.split(b"\n", 64)[:64]]
    return sum(a != b for a, b in itertools.pairwise(heads)) > 8


class _Held:
    """Lines of interleaved wnids, grouped by wnid until they are stored: one row per
    wnid for many chunks."""

    def __init__(self) -> None:
        self.pieces: dict[bytes, list[bytes]] = {}  # "nDDDDDDDD_" -> runs of lines
        self.size = 0

    def add(self, chunk: bytes) -> int:
        """Take the lines of ``chunk`` by wnid, each wnid's in list order, and return
        how many, when every line is a plain ``id<TAB>url`` of its wnid and no id is
        repeated; else take nothing and return 0 (the chunk is then read in list
        order, each odd line named by its number). Checked on the whole chunk at once,
        as :func:`_plain_ids` checks a run: a Python step per line would cost more
        than the rest of indexing."""
        lines = chunk.split(b"\n")
        lines.pop()  # a chunk ends with a line break
        n = len(lines)
        if list(map(bytes.count, lines, repeat(b"\t"))).count(1) != n:
            return 0  # a line without a tab, or with two
        fields = chunk.replace(b"\n", b"\t").split(b"\t")  # id, URL, id, URL, ...
        # The least URL starts with the least byte: none is empty or starts with a
        # space or a control character (as "\r" of a line end).
        if n and min(fields[1::2])[:1] <= b" ":
            return 0
        if len(set(fields[0 : 2 * n : 2])) != n:  # an id twice (an id holds its wnid)
            return 0
        del fields
        for head in set(map(_HEAD, lines)):
            # "nDDDDDDDD_" starts each line, and so its id (a tab ends it)
            if len(head) != 10 or head[0] != 110 or head[9] != 95 or not head[1:9].isdigit():
                return 0
        lines.sort(key=_HEAD)  # stable: each wnid's lines keep their order
        pieces = self.pieces
        for head, group in itertools.groupby(lines, _HEAD):
            held = pieces.get(head)
            if held is None:
                pieces[head] = [b"\n".join(group)]
            else:
                held.append(b"\n".join(group))
        self.size += len(chunk)
        return n

    def rows(self, list_id: int, wnids: set[str]) -> list[tuple[int, str, int, bytes]]:
        """One row per wnid, its lines in list order, in wnid order (the index takes
        them in its own order), each wnid added to ``wnids``; emptied."""
        rows = []
        for head in sorted(self.pieces):
            data = b"\n".join(self.pieces[head]) + b"\n"
            wnid = head[:9].decode()
            wnids.add(wnid)
            rows.append((list_id, wnid, data.count(b"\n"), _compress(data)))
        self.pieces, self.size = {}, 0
        return rows
