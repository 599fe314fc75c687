"""What every benchmark does before it times anything."""

from __future__ import annotations

import compileall
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compile_package() -> None:
    """Bring the package's bytecode up to date. An installed package has it compiled
    by pip; a checkout may not (PYTHONDONTWRITEBYTECODE, or modules edited since),
    and every timed process would then include the compiler's time."""
    sys.path.insert(0, str(ROOT))
    import imagenet_cli

    compileall.compile_dir(str(Path(imagenet_cli.__file__).parent), quiet=1)


def imagenet_command() -> list[str]:
    """How a user runs the tool: the ``imagenet`` script beside this interpreter (no
    ``runpy`` start-up), else ``python -m imagenet_cli``."""
    exe = shutil.which("imagenet", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "imagenet_cli"]
