"""``imagenet urls index`` as one call: an :class:`IndexRequest` in,
:func:`run_index`, an :class:`IndexSummary` out; progress goes to an
:class:`IndexWatch`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .urllist import ListInfo

Progress = Callable[[int, int | None, str], None]


class IndexWatch(Protocol):
    """Where the indexing's progress goes."""

    def working(self) -> AbstractContextManager[Progress]:
        """The indexing begins: its progress callback ``(advance, total, text)``."""


@dataclass(frozen=True)
class IndexRequest:
    """A fall11-style list to index; a URL needs the terms of access accepted (or
    accepted now, with ``accept_terms`` and the three details)."""

    source: str  # a path (.gz too) or an http(s) URL
    timeout: float = 60.0  # seconds without data before giving up (a URL)
    accept_terms: bool = False
    name: str | None = None
    email: str | None = None
    organization: str | None = None


@dataclass(frozen=True)
class IndexSummary:
    """The list indexed, and a line for each line skipped (the first few, then a count)."""

    info: ListInfo
    notes: list[str] = field(default_factory=list)


def run_index(request: IndexRequest, watch: IndexWatch | None = None) -> IndexSummary:
    """Index ``request.source`` into the cache (replacing an earlier index of it)."""
    from .. import terms
    from ..credentials import redact
    from . import urllist

    if urllist.is_url(request.source):
        terms.gate(request.accept_terms, request.name, request.email, request.organization)
    working = watch.working() if watch else contextlib.nullcontext(None)
    with working as update:
        info = urllist.index(request.source, progress=update, timeout=request.timeout)
    shown = redact(request.source)
    notes = [f"{shown}: line {s.line}: skipped: {s.reason}" for s in info.skipped_lines]
    if info.skipped > len(info.skipped_lines):
        notes.append(f"{shown}: {info.skipped - len(info.skipped_lines):,} more lines skipped")
    return IndexSummary(info, notes)
