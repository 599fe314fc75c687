"""What every benchmark does before it times anything."""

from __future__ import annotations

import compileall
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
