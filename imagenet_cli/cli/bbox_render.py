"""What ``imagenet bbox convert`` and ``crop`` show: the watch their core run reports
to, and their closing line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .output import GuardedStream, Outcome, counted, messages
from .render import Progress, Working

if TYPE_CHECKING:
    from ..bbox.request import ConvertSummary, CropSummary
    from ..errors import NotFoundError


class BboxView(Working):
    """Failures on stderr as they come (each counted for the exit code), quirks as
    warnings unless quiet, and a bar while the work runs. With ``stdout``, the stream
    held back until the first batch is done is let go then, and at the end."""

    def __init__(self, label: str, quiet: bool, stdout: GuardedStream | None = None) -> None:
        super().__init__(label, quiet)
        self.stdout = stdout
        self.outcome = Outcome()

    def bad(self, text: str) -> None:
        self.outcome.fail(text)

    def quirk(self, text: str) -> None:
        if not self.quiet:
            messages.warn(text)

    def missing(self, error: NotFoundError) -> None:
        self.outcome.fail(error)

    @contextlib.contextmanager
    def working(self) -> Iterator[Progress]:
        with super().working() as advance:
            stdout = self.stdout
            if stdout is None:
                yield advance
                return

            def started(done: int, total: int | None = None, text: str = "") -> None:
                stdout.release()
                advance(done, total, text)

            yield started
            stdout.release()
            stdout.flush()


def converted(summary: ConvertSummary, view: BboxView) -> int:
    """The closing line of a conversion to a file; the exit code."""
    tally = summary.tally
    if not view.quiet and summary.to_file:
        messages.info(
            f"{counted(tally.files, 'file')}, {counted(tally.images, 'image')}, "
            f"{counted(tally.boxes, 'box', 'boxes')}, {tally.bad:,} bad"
        )
    return int(view.outcome.code)


def cropped(summary: CropSummary, view: BboxView) -> int:
    """The closing line of a crop run; the exit code."""
    if not view.quiet:
        messages.info(
            f"{counted(summary.written, 'crop')} written to {summary.out}, "
            f"{counted(summary.skipped, 'box', 'boxes')} under --min-size skipped"
        )
    return int(view.outcome.code)
