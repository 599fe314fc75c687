"""The plan: the items still to do (what an earlier run finished is left out)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .item import FINAL_STATUSES, FetchOptions
from .manifest import Manifest
from .sources import ImageRef


@dataclass
class FetchPlan:
    """The work: items still to do, and how many were found done already."""

    todo: list[ImageRef]
    done: int
    total: int


def plan(
    refs: Iterable[ImageRef], options: FetchOptions, manifest: Manifest | None = None
) -> FetchPlan:
    """Leave out what an earlier run finished (its row, and its file for an ``ok`` row,
    or its shard for one packed into a shard).

    ``manifest``, the run's, learns whether URLs with a row are to be done again (their
    new rows then replace the old when it is closed).
    """
    book = manifest if manifest is not None else Manifest(options.manifest_path)
    rows = book.load()
    todo, done, total = [], 0, 0
    seen: dict[tuple[str, str], None] = {}  # in list order
    for ref in refs:
        key = (ref.wnid, ref.image_id)
        if key in seen:
            continue
        seen[key] = None
        total += 1
        row = rows.get(key)
        if row is not None and _is_done(row, options):
            done += 1
        else:
            if row is not None:
                book.repeated = True
            todo.append(ref)
    book.set_order(seen)
    return FetchPlan(todo, done, total)


def _is_done(row: dict[str, Any], options: FetchOptions) -> bool:
    status = str(row.get("status", ""))
    if status == "ok":
        if row.get("shard"):  # packed: done while its shard is (its file is gone)
            return str(row["shard"]) in options.shards_done
        # The file, whole: without fsync a crash of the machine (not of the process)
        # can leave a renamed file short, and that one is fetched again.
        try:
            size = (options.out / str(row["path"])).stat().st_size if row.get("path") else -1
        except OSError:
            return False
        want = str(row.get("bytes") or "")
        return size >= 0 and (not want.isdigit() or size == int(want))
    if status == "robots_disallowed":  # final, unless the run now keeps such images
        return not options.ignore_robots_tag
    if status == "error":
        # Not what the URL gave: a bug, a batch that could not run, or (before runs
        # stopped on them) a local write that failed: always done again.
        return False
    return not options.retry_failed or status in FINAL_STATUSES


def clean_partials(out: Path, wnids: Iterable[str]) -> int:
    """Remove temp files a killed run left in the class folders; returns how many."""
    removed = 0
    for wnid in set(wnids):
        folder = out / wnid
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if entry.name.startswith(".") and entry.name.endswith(".part"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed
