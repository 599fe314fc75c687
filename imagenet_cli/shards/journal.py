"""The shard journal and the target folder's housekeeping, for every command that
writes shards (``subset extract``, ``fetch``).

``.imagenet-shards.jsonl`` holds the plan's digest, then one line per finished shard:
its name, its size and its rows (what the command keeps of each sample, as JSON
lists). A rerun keeps a shard whose file has its recorded size and writes the others
again; a target holding the shards of another plan is refused. A line cut by a kill
is passed over: its shard is written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..cache import remove_stale_temp, write_bytes_atomic
from ..errors import UsageError, storage_error
from ..ids import printable
from .writers import shard_list

JOURNAL = ".imagenet-shards.jsonl"
Rows = list[list[Any]]


class Journal:
    """The journal of the shards under ``dst`` for the plan whose digest is ``plan``
    (``option``: the command's option naming ``dst``, for the refusal)."""

    def __init__(self, dst: Path, plan: str, option: str = "--to", request: str = "") -> None:
        self.path = dst / JOURNAL
        head, self.entries = read(dst)
        if head is not None and head.get("plan") != plan:
            held = [n for n in self.entries if (dst / n).is_file()]
            if held:
                raise refusal(dst, option, held[0])
            self.entries = {}
        if head is None or head.get("plan") != plan or head.get("request", "") != request:
            line = json.dumps({"plan": plan, "request": request} if request else {"plan": plan})
            write_bytes_atomic(str(self.path), (line + "\n").encode(), fsync=False)

    def finished(self, name: str, path: str, count: int) -> tuple[int, Rows] | None:
        """The size and rows of shard ``name`` of ``count`` samples as an earlier run
        wrote it, if its file at ``path`` has the recorded size."""
        entry = self.entries.get(name)
        if entry is None:
            return None
        try:
            size = os.stat(path).st_size
            rows = entry["rows"]
            if size != entry["bytes"] or not isinstance(rows, list) or len(rows) != count:
                return None
        except (OSError, KeyError):
            return None
        return size, rows

    def record(self, name: str, size: int, rows: Iterable[list[Any]]) -> None:
        line = json.dumps({"shard": name, "bytes": size, "rows": list(rows)})
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise storage_error(self.path, exc) from None


def refusal(dst: Path, option: str, example: str) -> UsageError:
    return UsageError(
        f"{option} {dst} holds shards of another plan (other classes, images, seed or "
        f"order; e.g. {example}); use a new folder or remove {dst}"
    )


def read(dst: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The journal's head (None: no journal; empty: unreadable) and its entries by shard."""
    try:
        lines = (dst / JOURNAL).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None, {}
    except (OSError, UnicodeDecodeError):
        return {}, {}
    entries: dict[str, dict[str, Any]] = {}
    for line in lines[1:]:
        entry = _json(line)
        if entry is not None and isinstance(entry.get("shard"), str):
            entries[str(entry["shard"])] = entry
    return (_json(lines[0]) or {}) if lines else {}, entries


def finished_shards(dst: Path) -> set[str]:
    """The journaled shards under ``dst`` whose files have their recorded size (read
    only: what a run may count as done before it knows its plan)."""
    done = set()
    for name, entry in read(dst)[1].items():
        with contextlib.suppress(OSError):
            if os.stat(dst / name).st_size == entry.get("bytes"):
                done.add(name)
    return done


def check_request(dst: Path, request: str, option: str) -> None:
    """Refuse, before any work, a run asked otherwise (``request``: a digest of what
    decides the plan before it is known) than the one whose shards ``dst`` holds."""
    head, _ = read(dst)
    if head is None or head.get("request", request) == request:
        return
    held = sorted(finished_shards(dst))
    if held:
        raise refusal(dst, option, held[0])


def digest(settings: dict[str, object], shards: Iterable[tuple[str, Iterable[str]]]) -> str:
    """What the shards hold, in one hash (``shards``: each shard's name and a line per
    sample): a rerun with another plan is told apart."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name, lines in shards:
        h.update(f"\n{name}\n".encode())
        for line in lines:
            h.update(f"{line}\n".encode())
    return h.hexdigest()


def _json(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def sweep(dst: Path, paths: Iterable[str]) -> None:
    """Remove the temporary shards (and manifest) a killed run of this machine left
    beside the shards at ``paths`` and in ``dst``."""
    for folder in {os.path.dirname(p) for p in paths} | {str(dst)}:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    remove_stale_temp(entry.path)


def stray_shards(paths: Iterable[str]) -> list[str]:
    """A warning for shard files in the shard folders that the plan (the shards at
    ``paths``) does not name."""
    planned = set(paths)
    notes = []
    for folder in sorted({os.path.dirname(p) for p in planned}):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        extra = [
            n for n in names if n.endswith((".tar", ".parquet")) and f"{folder}/{n}" not in planned
        ]
        if extra:
            notes.append(
                f"{printable(folder)} also holds {len(extra)} shard(s) this run does not write "
                f"(e.g. {printable(extra[0])}); they are left as they are, and loaders "
                "reading the whole folder would take them too"
            )
    return notes


def write_lists(dst: Path, shards: Iterable[tuple[str, str, int]], prefix: str) -> None:
    """``DST/<split>.json``, the ``wids`` shard list of each split, from each shard's
    split, name and sample count."""
    by_split: dict[str, list[tuple[str, int]]] = {}
    for split, name, count in shards:
        by_split.setdefault(split, []).append((name, count))
    for split, listed in by_split.items():
        path = dst / f"{split}.json"
        try:
            write_bytes_atomic(str(path), shard_list(f"{prefix}-{split}", listed), fsync=False)
        except OSError as exc:
            raise storage_error(path, exc) from None
