"""One line for a write that the cache or config folder refuses (read-only, not ours).

Commands that only read serve from a read-only cache; one that needs to write there
fails, wherever the write happens, with the path and the reason, as a usage error
(exit 2): the fix is the folder's, not the command's.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from .cache import CACHE_ENV, cache_dir
from .config import CONFIG_ENV, config_dir
from .errors import UsageError

# A folder that cannot be written, or a path where a folder should be (a file in its way).
_REFUSED = frozenset(
    {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
)


def refused_write(exc: BaseException) -> UsageError | None:
    """The :class:`UsageError` for ``exc`` when it is the cache or config folder refusing
    a write (the path, the folder's variable and the reason), else None."""
    if not isinstance(exc, OSError) or exc.errno not in _REFUSED or not exc.filename:
        return None
    path = Path(os.path.abspath(os.fsdecode(exc.filename)))
    if path.name.startswith(".") and path.name.endswith(".part"):
        path = path.parent  # a temp file's name says nothing to people: its folder does
    folders = [(cache_dir(create=False), CACHE_ENV, "cache")]
    with contextlib.suppress(UsageError):  # a config "folder" that is a file is no folder
        folders.append((config_dir(), CONFIG_ENV, "config"))
    for folder, env, what in folders:
        if path == folder or folder in path.parents:
            return folder_error(path, exc, what, env)
    return None


def folder_error(path: Path, exc: OSError, what: str, env: str) -> UsageError:
    """One line for the ``what`` folder (``cache``, ``config``) refusing ``path``."""
    reason = exc.strerror or str(exc)
    return UsageError(
        f"{path}: cannot write there: {reason} (the {what} folder must be writable for "
        f"this; set {env} to another folder)"
    )
