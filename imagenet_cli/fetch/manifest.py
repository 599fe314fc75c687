"""The run's manifest (jsonl or csv): its journal while the run goes on, put in plan order at
the end.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from .. import cache
from ..errors import storage_error
from .item import MANIFEST_FIELDS, FetchResult

T = TypeVar("T")


class Manifest:
    """The run's record, jsonl or csv, one row per URL: also its journal.

    While a run goes on, each row is appended as its URL finishes, whatever the
    order, in whole lines (a failed write is cut back to the last whole line), so a
    kill loses at most the URLs in flight. :meth:`close` then rewrites the file, when
    it is not so already, in the run's order (see :meth:`set_order`): rows of URLs
    outside the run's list first, as they were, then the list's, in list order, each
    URL's latest row only. A rerun of a killed run ends with the file an uninterrupted
    run writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.csv = path.suffix.lower() == ".csv"
        self._fd: int | None = None
        self._size = 0  # bytes of whole lines in the file
        self._pending: list[Any] = []  # jsonl lines, or csv rows
        self._loaded: list[tuple[str, str]] = []  # keys in file order, until set_order
        self._order: dict[tuple[str, str], int] = {}
        # Whether the list's rows stand in list order so far (the last one's number).
        self._sorted, self._last = True, -1
        # Set when the file holds, or this run appends, a second row for one URL.
        self.repeated = False

    def load(self) -> dict[tuple[str, str], dict[str, str]]:
        """Rows already written, last one per (wnid, image_id) winning.

        A line cut short by a killed run is dropped from the file first.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        cut = raw.rfind(b"\n") + 1
        if cut != len(raw):
            with self.path.open("r+b") as fh:
                fh.truncate(cut)
            raw = raw[:cut]
        text = raw.decode("utf-8", errors="replace")
        rows: dict[tuple[str, str], dict[str, str]] = {}
        keys = self._loaded
        if self.csv:
            for row in csv.DictReader(text.splitlines()):
                if row.get("wnid") and row.get("image_id"):
                    keys.append((row["wnid"], row["image_id"]))
                    rows[keys[-1]] = row
        else:
            for line in text.splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and row.get("wnid") and row.get("image_id"):
                    keys.append((str(row["wnid"]), str(row["image_id"])))
                    rows[keys[-1]] = row
        if len(keys) > len(rows):  # a run killed before it could tidy up
            self.repeated = True
        return rows

    def set_order(self, keys: Iterable[tuple[str, str]]) -> None:
        """The run's list, whose order :meth:`close` gives the file."""
        self._order = {key: i for i, key in enumerate(keys)}
        for key in self._loaded:
            self._note(key)
        self._loaded = []

    def append(self, result: FetchResult, *, flush: bool = True) -> None:
        """Add a row; with ``flush=False`` it may wait in memory for :meth:`flush`."""
        row = result.row()
        if self.csv:
            self._pending.append(["" if row[k] is None else row[k] for k in MANIFEST_FIELDS])
        else:
            self._pending.append(json.dumps(row, ensure_ascii=False) + "\n")
        if self._sorted:
            self._note((result.wnid, result.image_id))
        if flush:
            self.flush()

    def flush(self) -> None:
        """Write the rows waiting, whole lines or none: raises
        :class:`~.errors.StorageError` when the file cannot take them."""
        if not self._pending:
            return
        if self.csv:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(self._pending)
            data = buf.getvalue().encode("utf-8")
        else:
            data = "".join(self._pending).encode("utf-8")
        self._pending.clear()
        try:
            if self._fd is None:
                self._open()
            assert self._fd is not None
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            if self._fd is not None:
                with contextlib.suppress(OSError):  # no half line for a reader or a rerun
                    os.ftruncate(self._fd, self._size)
            raise storage_error(self.path, exc) from None
        self._size += len(data)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
        self._fd = fd
        self._size = os.fstat(fd).st_size
        if self.csv and self._size == 0:
            header = (",".join(MANIFEST_FIELDS) + "\n").encode()
            os.write(fd, header)
            self._size = len(header)

    def close(self) -> None:
        """Write what waits, then put the file in the run's order (atomically)."""
        try:
            self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        if self.repeated or not self._sorted:
            self.compact()
        self.repeated = False

    def _note(self, key: tuple[str, str]) -> None:
        i = self._order.get(key, -1)
        if i >= 0:  # a row of the list: after the last one's, or out of order
            if i <= self._last:
                self._sorted = False
            self._last = i

    def _text(self) -> str | None:
        try:
            return self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return None

    def compact(self) -> None:
        """Rewrite the file (atomically) with one row per (wnid, image_id), the latest,
        in the run's order. Lines that are not rows stay with the rows outside the list."""
        text = self._text()
        if text is None:
            return
        try:
            if self.csv:
                reader = csv.reader(io.StringIO(text, newline=""))
                header = next(reader, None)
                if header is None or "wnid" not in header or "image_id" not in header:
                    return
                wi, ii = header.index("wnid"), header.index("image_id")
                records = self._arrange(
                    ((r[wi], r[ii]) if len(r) > max(wi, ii) and r[wi] and r[ii] else None, r)
                    for r in reader
                )
                with cache.atomic_write(self.path, "w", fsync=False) as fh:
                    writer = csv.writer(fh, lineterminator="\n")
                    writer.writerow(header)
                    writer.writerows(records)
                return
            lines = self._arrange((_jsonl_key(line), line) for line in text.splitlines())
            cache.write_text_atomic(self.path, "".join(f"{line}\n" for line in lines), fsync=False)
        except OSError as exc:  # the file stays as it was: whole rows, out of order
            raise storage_error(self.path, exc) from None

    def update(self, changes: dict[tuple[str, str], dict[str, Any]]) -> None:
        """Rewrite the file (atomically) with the fields of ``changes`` set in the rows
        of their keys, a new field a new column of the csv (empty in other rows)."""
        fields = list(dict.fromkeys(k for change in changes.values() for k in change))
        text = self._text()
        if text is None:
            return
        try:
            if self.csv:
                reader = csv.DictReader(io.StringIO(text, newline=""))
                header = list(reader.fieldnames or MANIFEST_FIELDS)
                header += [f for f in fields if f not in header]
                with cache.atomic_write(self.path, "w", fsync=False) as fh:
                    writer = csv.DictWriter(fh, header, restval="", lineterminator="\n")
                    writer.writeheader()
                    for row in reader:
                        row.pop(None, None)  # cells past the header
                        change = changes.get((row.get("wnid") or "", row.get("image_id") or ""))
                        if change:
                            row.update({k: "" if v is None else v for k, v in change.items()})
                        writer.writerow(row)
                return
            lines = []
            for line in text.splitlines():
                key = _jsonl_key(line)
                if key is not None and key in changes:
                    row = json.loads(line)
                    row.update(changes[key])
                    line = json.dumps(row, ensure_ascii=False)
                lines.append(f"{line}\n")
            cache.write_text_atomic(self.path, "".join(lines), fsync=False)
        except OSError as exc:  # the file stays as it was
            raise storage_error(self.path, exc) from None

    def _arrange(self, rows: Iterable[tuple[tuple[str, str] | None, T]]) -> list[T]:
        """The latest row of each key; the places of the list's rows refilled with
        them in list order, every other line where it was."""
        kept = _latest_in_place(rows)
        order = self._order
        slots: list[int] = []
        listed: list[tuple[int, T]] = []
        for at, (key, row) in enumerate(kept):
            if key is not None and key in order:
                slots.append(at)
                listed.append((order[key], row))
        listed.sort(key=lambda pair: pair[0])
        out = [row for _, row in kept]
        for at, (_, row) in zip(slots, listed, strict=True):
            out[at] = row
        return out


def _latest_in_place(
    rows: Iterable[tuple[tuple[str, str] | None, T]],
) -> list[tuple[tuple[str, str] | None, T]]:
    """``rows`` (each with its (wnid, image_id), or None for a line that is no row)
    keeping one per key: the latest, where the first one was."""
    where: dict[tuple[str, str], int] = {}
    kept: list[tuple[tuple[str, str] | None, T]] = []
    for key, row in rows:
        if key is not None:
            if key in where:
                kept[where[key]] = (key, row)
                continue
            where[key] = len(kept)
        kept.append((key, row))
    return kept


def _jsonl_key(line: str) -> tuple[str, str] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if isinstance(row, dict) and row.get("wnid") and row.get("image_id"):
        return str(row["wnid"]), str(row["image_id"])
    return None
