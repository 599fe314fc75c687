"""imagenet-cli: ImageNet synsets, images, boxes and subsets from the command line and Python.

Owns: the floors below, top to bottom; docs/architecture.md draws them.

* ``cli`` (and ``__main__``): the face. Parses options, calls one core function, renders
  its result; the only package that prints, exits or imports typer/rich.
* ``fetch``, ``bbox``, ``subset``: one package per domain (images from the web, bounding
  boxes, class subsets).
* ``drivers``: runs a domain's batches in local processes or on a Dask cluster.
* ``hierarchy``, ``synset_index``: the synset graph and its on-disk index.
* ``errors``, ``ids``, ``cells``, ``cache``, ``config``, ``places``, ``hooks``,
  ``releases``, ``archive``, ``images``, ``request``: the ground floor every package
  stands on.

May import: a module imports the standard library, its own floor and the floors below,
never above (``tests/test_layers.py`` checks it and that no import runs in a cycle);
heavy libraries (httpx, PIL, lxml, nltk, pycurl, dask) only inside the function that
needs them, so that a command starts fast.
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
