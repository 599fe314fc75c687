"""Where the bbox commands write, checked before any work is done.

An output path that cannot be written (a file option naming a folder, a folder that
cannot be made, a place the system refuses) is a usage error: one line naming the
option and the path (exit 2), never a traceback, and nothing left half-written.
"""

from __future__ import annotations

import os

from ..errors import UsageError


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return "a folder on its path is a file"
    # strerror, not str(exc): the latter names the temporary file beside the target.
    return exc.strerror or str(exc)


def cannot_write(option: str, path: str | os.PathLike[str], exc: OSError) -> UsageError:
    """The one-line error for ``exc``, met writing ``path`` (given as ``option``)."""
    return UsageError(f"{option} {os.fspath(path)}: cannot write: {_reason(exc)}")


def check_file(option: str, path: str | os.PathLike[str]) -> None:
    """Refuse an output file path that names a folder: the work would be done, then
    the rename onto it fail at the very end."""
    if not os.fspath(path):
        raise UsageError(f"{option} '': give a file name")
    if os.path.isdir(path):
        raise UsageError(f"{option} {os.fspath(path)}: is a folder; give a file name")


def make_folder(option: str, path: str | os.PathLike[str]) -> None:
    """Create the output folder ``path`` (and its parents) if needed."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{option} {os.fspath(path)}: is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{option} {os.fspath(path)}: cannot create the folder: {_reason(exc)}"
        ) from None
