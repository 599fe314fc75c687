"""Entry point of the ``imagenet`` command and of ``python -m imagenet_cli``."""

from __future__ import annotations

import gc
import os
import signal
import sys


def main(argv: list[str] | None = None) -> None:
    """Run the command line: the fast path when it can serve, else the Typer app."""
    args = sys.argv[1:] if argv is None else argv
    if hasattr(signal, "SIGPIPE"):
        # `imagenet ... | head` ends quietly, as other Unix tools do.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    from . import hooks
    from .cli.output import index_notice

    hooks.index_build = index_notice  # a terminal sees why the first run takes seconds
    try:
        if not any(k.endswith("_COMPLETE") for k in os.environ):
            from .cli.fastpath import try_run

            code = try_run(args)
            if code is not None:
                sys.exit(code)
        from typer.main import get_command

        from .cli.app import for_command

        only = args[0] if args and not any(k.endswith("_COMPLETE") for k in os.environ) else None
        get_command(for_command(only)).main(args=args, prog_name="imagenet")
    except SystemExit as end:
        sys.exit(_flush_stdout(end.code))
    finally:
        # The command is over: spare the interpreter's exit its full garbage collection
        # over every module's objects (most of 10 ms, as long as a synset lookup takes).
        gc.freeze()


def _flush_stdout(code: str | int | None) -> str | int | None:
    """``code``, or 1 when what stdout still buffers cannot be written: flushed here,
    it is one error line; left to the interpreter's exit, it would be a traceback."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        from .cli.output import discard_stdout, messages

        discard_stdout()
        if isinstance(exc, BrokenPipeError):
            return code
        messages.error(f"cannot write to stdout: {exc.strerror or exc}")
        return code or 1
    return code


if __name__ == "__main__":
    main()
