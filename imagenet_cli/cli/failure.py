"""The one place that turns an expected failure into its line on stderr and exit code,
for the Typer app and the fast path alike."""

from __future__ import annotations

from ..errors import ExitCode, ImagenetError
from .output import messages


def exit_code(exc: BaseException) -> int | None:
    """Say what went wrong in one line and return the exit code of ``exc``, or None when
    it is no expected failure (the caller raises it on)."""
    if isinstance(exc, ImagenetError):
        messages.error(str(exc))
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        messages.error("interrupted")
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, OSError):
        from ..places import refused_write

        refused = refused_write(exc)
        if refused is not None:
            messages.error(str(refused))
            return int(refused.exit_code)
    return None
