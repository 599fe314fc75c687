"""``imagenet cache``: where the cache is, what it holds, and cleaning it."""

from __future__ import annotations

from typing import Annotated

from .. import cache
from .common import DryRunOpt, FormatOpt, NoHeaderOpt
from .output import counted, emit_lines, emit_rows, messages
from .params import Arg


def path() -> None:
    """Print the cache folder ($IMAGENET_CACHE, else the platform's user cache folder).

    Example: du -sh "$(imagenet cache path)"
    """
    emit_lines([str(cache.cache_dir())])


def info(fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
    """List what the cache holds, with sizes.

    Example: imagenet cache info
    """
    rows = (
        {"name": e.name, "files": e.files, "bytes": e.bytes, "path": str(e.path)}
        for e in cache.cache_entries()
    )
    emit_rows(rows, ["name", "files", "bytes", "path"], fmt, no_header=no_header, id_key="name")


def clean(
    parts: Annotated[
        list[str] | None,
        Arg(
            metavar="PART",
            help="Top-level cache items to remove (default: all that imagenet wrote).",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Remove cached items; everything imagenet caches can be rebuilt or downloaded again.

    Only what imagenet writes there (bbox, index, lists, originals, subset, urllists) is
    removed; anything else in the folder is left, and named. A folder that held other
    files when imagenet first used it (it has no CACHEDIR.TAG) is left alone.

    Example: imagenet cache clean index
    """
    done = cache.clean_cache(parts or [], dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    total = sum(e.bytes for e in done.removed)
    messages.info(f"{verb} {counted(len(done.removed), 'item')}, {counted(total, 'byte')}")
    if done.foreign:
        names = ", ".join(e.name for e in done.foreign)
        messages.warn(
            f"left {counted(len(done.foreign), 'item')} imagenet did not write in "
            f"{cache.cache_dir()}: {names}"
        )
