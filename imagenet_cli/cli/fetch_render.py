"""What ``imagenet fetch`` shows: the watch its core run reports to, and its summary."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import ExitCode, NotFoundError
from .output import Format, Outcome, counted, emit_rows, messages

if TYPE_CHECKING:
    from ..fetch.item import FetchResult
    from ..fetch.request import FetchSummary
    from .fetch_progress import FetchProgress


class FetchView:
    """The face of one run: messages, failures and bars on stderr, as they come."""

    def __init__(self, quiet: bool, verbose: bool) -> None:
        self.quiet, self.verbose = quiet, verbose
        self.outcome = Outcome()
        self._bar: FetchProgress | None = None

    def accepted(self, version: str) -> None:
        messages.info(f"terms of access version {version} accepted")

    def ready(self) -> None:
        messages.quiet = self.quiet  # -q for what the library says too

    def note(self, text: str) -> None:
        messages.info(text)

    def failed(self, text: str, not_found: bool) -> None:
        self.outcome.fail(NotFoundError(text) if not_found else text)

    @contextlib.contextmanager
    def downloading(self, per_wnid: dict[str, int]) -> Iterator[FetchView]:
        from .fetch_progress import FetchProgress

        with FetchProgress(per_wnid, self.quiet) as bar:
            self._bar = bar
            yield self

    def total(self, advance: int, total: int | None, text: str) -> None:
        assert self._bar is not None
        self._bar.total(advance, total, text)

    def arrived(self, result: FetchResult) -> None:
        assert self._bar is not None
        self._bar.arrived(result)

    def passed(self, result: FetchResult) -> None:
        assert self._bar is not None
        if self.verbose and not result.ok:
            messages.warn(
                f"{result.wnid}/{result.image_id}: {result.status}: {result.error} ({result.url})"
            )
        self._bar.passed(result)


def show(
    summary: FetchSummary,
    view: FetchView,
    fmt: Format | str | None,
    no_header: bool,
    strict: bool,
) -> int:
    """Render ``summary`` (the image list, or the closing lines); the exit code."""
    code = int(view.outcome.code)
    if summary.urls_only:
        if summary.refs or not code:  # a header alone is for an empty success
            rows = ({"wnid": r.wnid, "image_id": r.image_id, "url": r.url} for r in summary.refs)
            emit_rows(rows, ["wnid", "image_id", "url"], fmt, no_header=no_header)
        return code
    if summary.original:
        if not view.quiet:
            messages.info(
                f"{summary.counts['ok']} original images written to {summary.out} "
                f"({summary.failed} refused)"
            )
        return max(code, int(ExitCode.PARTIAL) if strict and summary.failed else 0)
    if not summary.downloaded:
        return code  # no list came: no empty bar, no empty summary
    if summary.interrupted:
        messages.warn(
            f"interrupted: {sum(summary.counts.values())} URLs recorded in the manifest; "
            "run the same command again to resume"
        )
        return max(int(ExitCode.INTERRUPTED), code)
    for note in summary.notes:
        messages.warn(note)
    if not view.quiet:
        _closing(summary)
        if summary.shards or summary.packed:
            messages.info(
                f"{counted(summary.packed, 'image')} in {counted(summary.shards, 'shard')} "
                f"({summary.shards_written} written by this run) in {summary.out}"
            )
    return max(int(ExitCode.PARTIAL) if strict and summary.failed else 0, code)


def _closing(summary: FetchSummary) -> None:
    counts, done_before = summary.counts, summary.done_before
    if sys.stderr.isatty():  # for people watching; logs get the line below only
        from rich.table import Table

        from .output import stderr_console

        table = Table(title="fetch summary", box=None, header_style="bold")
        table.add_column("status")
        table.add_column("urls", justify="right")
        for status, n in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", -kv[1], kv[0])):
            table.add_row(status, str(n))
        if done_before:
            table.add_row("done before", str(done_before))
        stderr_console().print(table)
    total = sum(counts.values())
    elapsed = summary.seconds
    rate = counts["ok"] / elapsed if elapsed > 0 else 0.0
    others = sorted((-n, s) for s, n in counts.items() if s != "ok")
    why = f" ({', '.join(f'{s} {-n}' for n, s in others)})" if others else ""
    before = f"; {done_before} URLs done before" if done_before else ""
    messages.info(
        f"{counts['ok']} of {total} URLs kept{why} in {elapsed:.1f} s ({rate:.1f} images/s) "
        f"over {counted(len(summary.by_wnid), 'synset')}{before}; manifest {summary.manifest}"
    )
