"""Bodies of the ``imagenet bbox`` commands, free of Typer so the fast path can run them.

Each takes the parsed options and returns the exit code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from ..bbox.convert import Source


def _workers(value: int) -> int:
    from .. import config
    from ..bbox.engine import worker_count

    return worker_count(int(config.get("workers", value or None)))


def _source(
    inputs: list[str] | None,
    wnid: list[str] | None,
    under: str | None,
    release: str | None,
    images: str | None,
    clip: bool,
    strict: bool,
    max_bytes: int,
    workers: int,
    normalize: bool = False,
) -> Source:
    from ..bbox.convert import Source
    from ..ids import expand_stdin, stdin_once

    stdin_once({"INPUT": inputs, "--wnid": wnid})
    wnids = list(expand_stdin(wnid)) if wnid else []
    return Source(
        inputs=inputs or [],
        wnids=wnids,
        under=under,
        release=release,
        clip=clip,
        normalize=normalize,
        images=images or None,
        max_bytes=max_bytes,
        workers=_workers(workers),
        strict=strict,
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


def _warn(quiet: bool) -> Callable[[str], None]:
    return (lambda text: None) if quiet else messages.warn


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
    from ..bbox.convert import ConvertRequest
    from ..bbox.convert import convert as run_convert
    from ..drivers import resolve_scheduler

    src = _source(inputs, wnid, under, release, images, clip, strict, max_bytes, workers, normalize)
    src.scheduler = resolve_scheduler(scheduler)
    src.batch_size = batch_size
    req = ConvertRequest(
        source=src,
        fmt=str(fmt).lower(),
        output=output,
        out_dir=out or None,
        with_names=with_names,
        keep_empty=keep_empty,
        header=not no_header,
    )
    outcome = Outcome()
    # The writers start with their header: it is held back until the first batch is
    # done, so a bad --under, --release or --wnid leaves stdout empty.
    stdout = GuardedStream(sys.stdout, held=True)
    with _pipe_safe(), progress("converting", quiet=quiet) as advance:

        def started(done: int, total: int | None = None, text: str = "") -> None:
            stdout.release()
            advance(done, total, text)

        tally = run_convert(
            req,
            stdout,  # type: ignore[arg-type]
            on_bad=outcome.fail,
            on_quirk=_warn(quiet),
            progress=started,
            on_missing=outcome.fail,
        )
        stdout.release()
        stdout.flush()
    if not quiet and (output not in (None, "-") or out):
        messages.info(
            f"{counted(tally.files, 'file')}, {counted(tally.images, 'image')}, "
            f"{counted(tally.boxes, 'box', 'boxes')}, {tally.bad:,} bad"
        )
    return int(outcome.code)


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
    from ..bbox.stats import BboxStats

    src = _source(inputs, wnid, under, release, images, False, strict, max_bytes, workers)
    outcome = Outcome()
    found = BboxStats()
    with (
        progress("reading", quiet=quiet) as advance,
        contextlib.closing(
            iter_annotations(
                src,
                on_bad=outcome.fail,
                on_quirk=lambda text: None,
                progress=advance,
                on_missing=outcome.fail,
            )
        ) as anns,
    ):
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
    from ..bbox.convert import iter_annotations
    from ..bbox.crop import CropOptions
    from ..bbox.crop import crop as crop_boxes

    src = _source(inputs, wnid, under, release, images, clip, strict, max_bytes, workers)
    # Parsing is light beside decoding and encoding JPEGs: it stays in this process
    # and the workers crop (one pool, never a pool forked beside another).
    crop_workers, src.workers = src.workers, 1
    opts = CropOptions(images=images, out=out, margin=margin, min_size=min_size)
    outcome = Outcome()
    written = skipped = 0
    anns = iter_annotations(
        src, on_bad=outcome.fail, on_quirk=_warn(quiet), on_missing=outcome.fail
    )
    with (
        progress("cropping", quiet=quiet) as advance,
        contextlib.closing(
            crop_boxes(anns, opts, workers=crop_workers, progress=advance)
        ) as results,
    ):
        for result in results:
            written += result.written
            skipped += result.skipped
            for line in result.refused:
                outcome.fail(f"{result.source}: {line}")
            if result.error:
                outcome.fail(f"{result.source}: {result.error}")
    if not quiet:
        messages.info(
            f"{counted(written, 'crop')} written to {out}, "
            f"{counted(skipped, 'box', 'boxes')} under --min-size skipped"
        )
    return int(outcome.code)
