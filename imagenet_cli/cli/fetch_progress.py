"""fetch's progress on a terminal: one bar for the run, and one for each synset in flight.

A bar per synset of the run pushed the ones at work off the screen with fifty synsets;
:class:`InFlight` (no rich, testable) says which synsets to show: those begun and not
done, at most :data:`SHOWN` of them, in the order they began.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..fetch.item import FetchResult

SHOWN = 8  # synset bars at most: with dozens of downloads in flight, more help nobody


class InFlight:
    """The synsets a run is at work on: results have come for them, not all yet.

    A synset is done when all its results came, or (some done by an earlier run) when
    the run's results, yielded in plan order, have moved past it.
    """

    def __init__(self, per_wnid: dict[str, int], shown: int = SHOWN) -> None:
        self.per_wnid = per_wnid
        self.cap = max(0, shown)
        self.done: Counter[str] = Counter()
        self.shown: list[str] = []  # in the order they began
        self.waiting: list[str] = []  # begun, with no room to show them yet
        self._order = {w: i for i, w in enumerate(per_wnid)}
        self._passed = 0  # synsets before this one in plan order are done
        self._finished: set[str] = set()

    def add(self, wnid: str) -> None:
        """One more result of ``wnid`` came in."""
        if wnid in self._finished or wnid not in self._order:
            return
        self.done[wnid] += 1
        if self.done[wnid] >= self.per_wnid[wnid]:
            self._finish(wnid)
        elif wnid not in self.shown and wnid not in self.waiting:
            (self.shown if len(self.shown) < self.cap else self.waiting).append(wnid)

    def passed(self, wnid: str) -> None:
        """The run yielded a result of ``wnid``: every synset before it is done."""
        end = self._order.get(wnid, 0)
        order = list(self._order)
        while self._passed < end:
            self._finish(order[self._passed])
            self._passed += 1

    def _finish(self, wnid: str) -> None:
        self._finished.add(wnid)
        for group in (self.shown, self.waiting):
            if wnid in group:
                group.remove(wnid)
        while self.waiting and len(self.shown) < self.cap:
            self.shown.append(self.waiting.pop(0))

    @property
    def hidden(self) -> int:
        """Synsets in flight without a bar of their own."""
        return len(self.waiting)


class FetchProgress:
    """Rich bars on stderr when it is a terminal (else nothing): the run's total, then
    the synsets in flight (when the run has more than one), each gone once done."""

    def __init__(self, per_wnid: dict[str, int], quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.flight = InFlight(per_wnid if len(per_wnid) > 1 else {}, SHOWN)
        self._bar: Any = None
        self._total: Any = None
        self._tasks: dict[str, Any] = {}
        self._text = ""

    def __enter__(self) -> FetchProgress:
        if self.enabled:
            from .output import progress_bars

            self._bar = progress_bars()
            self._bar.__enter__()
            self._total = self._bar.add_task("total", total=None, status="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def total(self, advance: int, total: int | None, text: str) -> None:
        """The core's progress callback: ``(advance, total, text)``."""
        if self._bar is None:
            return
        if total is not None:
            self._bar.update(self._total, total=total)
        task = self._bar.tasks[self._total]
        rate = (task.completed + advance) / max(task.elapsed or 1e-9, 1e-9) if task.elapsed else 0.0
        self._text = f"{text}  {rate:.0f}/s" if text else ""
        self._bar.update(self._total, advance=advance, status=self._status())

    def arrived(self, result: FetchResult) -> None:
        """A result came in (in any order): its synset's bar, begun, moved or ended."""
        if self._bar is None or not self.flight.per_wnid:
            return
        self.flight.add(result.wnid)
        self._sync()
        task = self._tasks.get(result.wnid)
        if task is not None:
            self._bar.update(task, completed=self.flight.done[result.wnid])

    def passed(self, result: FetchResult) -> None:
        """The run yielded ``result`` (in plan order): the synsets before it are done."""
        if self._bar is None or not self.flight.per_wnid:
            return
        before = len(self.flight.shown), self.flight.hidden
        self.flight.passed(result.wnid)
        if (len(self.flight.shown), self.flight.hidden) != before:
            self._sync()

    def _sync(self) -> None:
        """Bars for the synsets shown, and none for others."""
        shown = self.flight.shown
        if len(shown) == len(self._tasks) and all(w in self._tasks for w in shown):
            return
        for wnid in [w for w in self._tasks if w not in shown]:
            self._bar.remove_task(self._tasks.pop(wnid))
        for wnid in shown:
            if wnid not in self._tasks:
                self._tasks[wnid] = self._bar.add_task(
                    wnid,
                    total=self.flight.per_wnid[wnid],
                    completed=self.flight.done[wnid],
                    status="",
                )
        self._bar.update(self._total, status=self._status())

    def _status(self) -> str:
        more = self.flight.hidden
        return f"{self._text}  +{more} synsets in flight" if more else self._text
