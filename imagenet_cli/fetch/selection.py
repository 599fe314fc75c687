"""Selection: resolve ids (and descendants) and gather their image lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .sources import ImageRef


@dataclass
class Selection:
    """The wnids asked for, their image lists, and the lists that could not be had."""

    wnids: list[str]
    refs: list[ImageRef]
    errors: list[tuple[str, str, bool]]  # (wnid, message, not_found)
    per_wnid: dict[str, int]


def select(
    idents: Iterable[str],
    list_options: Any,
    *,
    recursive: bool = False,
    release: str | None = None,
    limit: int | None = None,
) -> Selection:
    """Resolve ids (with their descendants when ``recursive``) and gather their image lists."""
    from .sources import image_lists

    wnids = synsets(idents, recursive=recursive, release=release)
    if not wnids:
        raise UsageError("no synsets to fetch (give --wnid or --wnids)")
    refs: list[ImageRef] = []
    errors: list[tuple[str, str, bool]] = []
    per_wnid: dict[str, int] = {}
    for item in image_lists(wnids, list_options):
        if item.error:
            errors.append((item.wnid, item.error, item.not_found))
            continue
        chosen = item.refs[:limit] if limit else item.refs
        per_wnid[item.wnid] = len(chosen)
        refs.extend(chosen)
    return Selection(wnids, refs, errors, per_wnid)


def synsets(idents: Iterable[str], *, recursive: bool, release: str | None) -> list[str]:
    """The wnids of ``idents`` (each with every synset below it when ``recursive``, of
    ``release`` if given), each once, in order."""
    from ..hierarchy import Hierarchy

    h = Hierarchy.default()
    wnids: dict[str, None] = {}
    for ident in idents:
        root = h.resolve(ident)
        group = h.descendants(root, release=release, include_self=True) if recursive else [root]
        wnids.update(dict.fromkeys(group))
    return list(wnids)
