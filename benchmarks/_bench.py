"""What every benchmark does before it times anything."""

from __future__ import annotations

import compileall
import os
import shutil
import stat
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


def settle(previous: Path | None) -> None:
    """Before a timed run: nothing dirty left to write back, and the previous run's
    output (if any) out of the page cache."""
    os.sync()
    if previous is not None:
        drop_pages(previous)


def drop_pages(folder: Path) -> None:
    """Evict a finished run's files from the page cache (sync first). Hard links are
    left alone: they share their pages with the source. Without it each run grows the
    page cache by what it wrote, and on the 2-core VMs measured, later runs paid up to
    half a second more system time for it, whichever tool they ran."""
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
                    continue
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
