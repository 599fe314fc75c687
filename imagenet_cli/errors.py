"""Error hierarchy and the exit codes it maps to (stable, documented in README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``imagenet`` command."""

    OK = 0
    PARTIAL = 1  # finished, but some items failed (each reported on stderr)
    USAGE = 2
    NOT_FOUND = 3
    TERMS = 4  # terms of access not accepted, or access denied
    INTERRUPTED = 130


class ImagenetError(Exception):
    """Base of every expected failure; ``str(err)`` is one line meant for people."""

    exit_code: ExitCode = ExitCode.PARTIAL


class UsageError(ImagenetError):
    """Options or arguments that cannot work together, or a malformed value."""

    exit_code = ExitCode.USAGE


class NotFoundError(ImagenetError):
    """An id, release, preset, file or cached item that does not exist."""

    exit_code = ExitCode.NOT_FOUND


class TermsError(ImagenetError):
    """ImageNet's terms of access are not accepted, or the server denied access."""

    exit_code = ExitCode.TERMS


class ListSourceError(ImagenetError):
    """A base URL that serves no image lists at all: it cannot be reached, or it answers
    404 or a page that is not a list (ImageNet's own API was retired). The run stops.

    ``reason`` says it shortly, for a line of its own per synset where the run goes on.
    """

    exit_code = ExitCode.PARTIAL

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class ItemError(ImagenetError):
    """One work item (a file, a URL, an archive member) failed; the run goes on."""

    exit_code = ExitCode.PARTIAL


class StorageError(ImagenetError):
    """A local write failed (a full disk, an unwritable folder): not an outcome of the
    item being written, so the run stops; what it recorded stays, and the next run
    redoes the rest."""

    exit_code = ExitCode.PARTIAL


def storage_error(path: object, exc: OSError) -> StorageError:
    """The one line for a failed local write: the path, then the system's reason."""
    where = exc.filename if path is None and exc.filename else path
    return StorageError(f"{where}: cannot write: {exc.strerror or exc}")
