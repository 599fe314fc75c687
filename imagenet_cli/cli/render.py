"""Small pieces the faces of the long commands share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .output import progress

Progress = Callable[[int, int | None, str], None]


class Working:
    """A bar labelled ``label`` on stderr while the core works (none when quiet)."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet = label, quiet

    @contextmanager
    def working(self) -> Iterator[Progress]:
        with progress(self.label, quiet=self.quiet) as advance:
            yield advance
