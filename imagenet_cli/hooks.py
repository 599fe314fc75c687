"""Hooks through which the core lets a face show slow one-time work: the core never
prints, and this module imports nothing, so setting a hook costs a start-up nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from pathlib import Path

# Entered while the synset index is built (or another process's build is awaited) at
# ``path``; None: nobody is told.
index_build: Callable[[Path], AbstractContextManager[object]] | None = None
