"""imagenet-cli: ImageNet synsets, images, boxes and subsets from the command line and Python.

The core modules (``hierarchy``, ``releases``, ``cache``, ``config`` ...) never print,
never exit and never import typer or rich; the ``cli`` package is a thin face over them.
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.machinery import ModuleSpec
from types import ModuleType

__version__ = "0.1.0"

# Import paths the documentation once gave, now modules of the fetch package: an import
# of the old name gets the one module (never a second copy of it).
_MOVED = {
    "imagenet_cli.terms": "imagenet_cli.fetch.terms",
    "imagenet_cli.sources": "imagenet_cli.fetch.sources",
}


def _new_name(fullname: str) -> str | None:
    for old, new in _MOVED.items():
        if fullname == old or fullname.startswith(f"{old}."):
            return new + fullname[len(old) :]
    return None


class _MovedFinder:
    """Finds an old import path as the module it names now."""

    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if not fullname.startswith("imagenet_cli.") or _new_name(fullname) is None:
            return None
        # A loader by duck type: importlib.abc.Loader would cost 19 ms of start-up.
        return ModuleSpec(fullname, _MovedFinder())  # type: ignore[arg-type]

    @staticmethod
    def create_module(spec: ModuleSpec) -> ModuleType:
        return import_module(_new_name(spec.name) or spec.name)

    @staticmethod
    def exec_module(module: ModuleType) -> None:
        pass


if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedFinder())


def __getattr__(name: str) -> ModuleType:
    new = _MOVED.get(f"{__name__}.{name}")
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return import_module(new)
