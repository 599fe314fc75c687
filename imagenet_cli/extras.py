"""Optional dependencies: a command that needs one says so in one line, naming what to
install, instead of failing with an import error."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import UsageError


def require(
    module: str, purpose: str, package: str, extra: str, name: str | None = None
) -> ModuleType:
    """``module`` imported, or a :class:`UsageError` (exit 2) naming the pip package and
    the project's extra that bring it (imagenet-cli is not on PyPI: a clone's extra)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(
            f"{purpose} needs {name or package}: pip install '{package}' into this "
            f"environment (in a clone: pip install '.[{extra}]')"
        ) from None
