"""Bodies of the ``imagenet bbox`` commands, free of Typer so the fast path can run them.

Each takes the parsed options and returns the exit code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from .output import (
    Format,
    GuardedStream,
    Outcome,
    counted,
    emit_json,
    emit_rows,
    messages,
    progress,
)


@contextlib.contextmanager
def _pipe_safe() -> Iterator[None]:
    """A closed stdout (``| head``) ends the command as SIGPIPE would, but only after
    the worker pool is shut down (a process killed outright would orphan it)."""
    if not hasattr(signal, "SIGPIPE"):  # pragma: no cover - Windows
        yield
        return
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        yield
    except BrokenPipeError:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())  # nothing more to flush at exit
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    finally:
        signal.signal(signal.SIGPIPE, previous)


def convert(
    *,
    inputs: list[str] | None = None,
    fmt: str = "tsv",
    output: str | None = None,
    out: str | None = None,
    keep_empty: bool = False,
    normalize: bool = False,
    clip: bool = False,
    images: str | None = None,
    with_names: bool = False,
    wnid: list[str] | None = None,
    under: str | None = None,
    release: str | None = None,
    strict: bool = False,
    workers: int = 0,
    max_bytes: int = 1_000_000,
    no_header: bool = False,
    quiet: bool = False,
    scheduler: str | None = None,
    batch_size: int | None = None,
) -> int:
    """``imagenet bbox convert``."""
    from ..bbox.request import BboxConvertRequest, run_convert
    from ..request import from_options
    from .bbox_render import BboxView, converted

    request = from_options(BboxConvertRequest, locals())
    # The writers start with their header: it is held back until the first batch is
    # done, so a bad --under, --release or --wnid leaves stdout empty.
    stdout = GuardedStream(sys.stdout, held=True)
    view = BboxView("converting", quiet, stdout)
    with _pipe_safe():
        summary = run_convert(request, stdout, view)  # type: ignore[arg-type]
    return converted(summary, view)


def _silent(text: str) -> None:
    """Quirks go unsaid: stats counts them."""


def stats(
    *,
    inputs: list[str] | None = None,
    wnid: list[str] | None = None,
    under: str | None = None,
    release: str | None = None,
    images: str | None = None,
    strict: bool = False,
    workers: int = 0,
    max_bytes: int = 1_000_000,
    fmt: Format | str | None = None,
    no_header: bool = False,
    quiet: bool = False,
) -> int:
    """``imagenet bbox stats``."""
    from ..bbox.convert import iter_annotations
    from ..bbox.engine import Names
    from ..bbox.request import SourceRequest
    from ..bbox.stats import BboxStats
    from ..request import from_options

    src = from_options(SourceRequest, locals()).source()
    outcome = Outcome()
    found = BboxStats()
    with progress("reading", quiet=quiet) as advance:
        anns = iter_annotations(
            src, on_bad=outcome.fail, on_quirk=_silent, progress=advance, on_missing=outcome.fail
        )
        with contextlib.closing(anns):
            for ann in anns:
                found.add(ann)
    found.files, found.bad_files = src.tally.files, src.tally.bad
    rows = found.rows(Names())
    if fmt == Format.json:
        emit_json(rows)
    else:
        emit_rows(rows, ["section", "key", "value", "name"], fmt, no_header=no_header, id_key="key")
    return int(outcome.code)


def draw(
    *,
    image: str,
    xml: str | None = None,
    output: str = "boxes.png",
    annotations: str | None = None,
    quiet: bool = False,
) -> int:
    """``imagenet bbox draw``."""
    from ..bbox.draw import draw as draw_boxes
    from ..bbox.engine import Names

    done = draw_boxes(
        Path(image),
        Path(output),
        Path(xml) if xml else None,
        annotations=Path(annotations) if annotations else None,
        names=Names(),
    )
    if not quiet:
        for quirk in done.quirks:
            messages.warn(f"{done.xml}: {quirk}")
        messages.info(f"{done.output}: {counted(done.boxes, 'box', 'boxes')} from {done.xml}")
    return 0


def crop(
    *,
    inputs: list[str] | None = None,
    images: str = ".",
    out: str = "crops",
    margin: int = 0,
    min_size: int = 0,
    clip: bool = False,
    wnid: list[str] | None = None,
    under: str | None = None,
    release: str | None = None,
    strict: bool = False,
    workers: int = 0,
    max_bytes: int = 1_000_000,
    quiet: bool = False,
) -> int:
    """``imagenet bbox crop``."""
    from ..bbox.request import BboxCropRequest, run_crop
    from ..request import from_options
    from .bbox_render import BboxView, cropped

    view = BboxView("cropping", quiet)
    return cropped(run_crop(from_options(BboxCropRequest, locals()), view), view)
