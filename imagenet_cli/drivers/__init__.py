"""Drivers: one ordered map of a batch function over a plan, here or on a Dask cluster.

Owns: running batches. Every heavy engine (bbox convert, subset extract, fetch) cuts its
plan into batches of picklable work items and has a pure, top-level batch function.
:func:`map_batches` runs that function over the batches and yields each batch's result
in plan order, with a bounded number of batches in flight (memory stays flat: nothing is
planned far ahead of the one writer):

* without a scheduler, in a local process or thread pool (:mod:`.local`);
* with one (``--scheduler tcp://host:8786``, ``local`` or ``local:N``), on a Dask
  cluster (:mod:`.cluster`), imported only then: without the ``dask`` extra the
  command fails with one line saying how to install it.

The same function runs either way, so a cluster run writes what a local run writes.

May import: the ground floor (``errors``, ``config``); never a domain package
(``fetch``, ``bbox``, ``subset``) nor ``cli``: they call it, not the other way round.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Literal, TypeVar

from ..errors import UsageError
from ..extras import require

if TYPE_CHECKING:
    from .cluster import Cluster

B = TypeVar("B")
R = TypeVar("R")

Pool = Literal["process", "thread"]
OnFailure = Callable[[B, BaseException], R]

RETRIES = 2  # a batch whose function raises is run at most 1 + RETRIES times


def worker_count(workers: int | None) -> int:
    """``workers`` processes; 0 or None: one per core available to this process."""
    if workers:
        return workers
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def resolve_scheduler(option: str | None) -> str | None:
    """The scheduler to use: the option, else ``IMAGENET_SCHEDULER``, else the config
    key ``scheduler``; None (or empty) means run locally. A malformed address or a
    missing Dask install raises :class:`UsageError` (exit 2) before any work starts."""
    from .. import config

    value = str(config.get("scheduler", option or None) or "").strip()
    if not value:
        return None
    parse_address(value)
    require_dask()
    return value


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", N or None)`` for ``local``/``local:N``, ``("remote", None)`` for an
    address such as ``tcp://host:8786``; UsageError for anything else."""
    if address == "local":
        return "local", None
    if address.startswith("local:"):
        count = address[6:]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"--scheduler {address}: give local:N with N a positive count")
        return "local", int(count)
    scheme, sep, rest = address.partition("://")
    if sep and scheme in ("tcp", "tls", "ucx", "ws", "wss", "inproc") and rest:
        return "remote", None
    raise UsageError(
        f"--scheduler {address}: give tcp://HOST:PORT for a running cluster, "
        "or local / local:N for one started on this machine"
    )


def require_dask() -> None:
    """Raise UsageError (one line, exit 2) when ``distributed`` cannot be imported."""
    require("distributed", "--scheduler", "dask[distributed]", "dask", "Dask")


@contextlib.contextmanager
def session(scheduler: str | Cluster | None) -> Iterator[Cluster | None]:
    """The cluster for one command, opened before any output is written (a scheduler
    that cannot be reached fails the command before it has begun) and closed at its
    end; None when the work runs locally."""
    if scheduler is None or not isinstance(scheduler, str):
        yield scheduler
        return
    from .cluster import Cluster

    with Cluster(scheduler) as cluster:
        yield cluster


def map_batches(
    func: Callable[[B], R],
    batches: Iterable[B],
    *,
    workers: int = 1,
    scheduler: str | Cluster | None = None,
    pool: Pool = "process",
    window: int | None = None,
    retries: int = RETRIES,
    on_failure: OnFailure[B, R] | None = None,
) -> Generator[R, None, None]:
    """``func`` over ``batches``, results in batch order whatever runs them.

    ``scheduler`` None: a local ``pool`` of ``workers`` (one worker or one batch:
    this process). Otherwise a Dask scheduler address or an open :class:`Cluster`.
    At most ``window`` batches are in flight (default: a few per worker).

    A batch that fails (its function raises, or on a cluster: retried ``retries``
    times, or its workers kept dying) goes to ``on_failure(batch, error)``, whose
    result is yielded in its place so the writer can report each of its items;
    without ``on_failure`` the error is raised. Closing the iterator early (an
    error in the writer, Ctrl-C) cancels whatever is still in flight.
    """
    if scheduler is None:
        from .local import local_map

        yield from local_map(
            func, batches, workers=workers, pool=pool, window=window, on_failure=on_failure
        )
        return
    with session(scheduler) as cluster:
        assert cluster is not None
        yield from cluster.map(func, batches, window=window, retries=retries, on_failure=on_failure)


def failure_reason(exc: BaseException) -> str:
    """One line on why a batch failed (for the error line of each of its items)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return "batch failed: its worker died on every attempt"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"batch failed: {name}: {text}" if text else f"batch failed: {name}"


def batched(items: Iterable[B], size: int) -> Iterator[list[B]]:
    """Consecutive items in lists of ``size`` (the last may be shorter)."""
    if size < 1:
        raise UsageError("--batch-size takes a positive count")
    batch: list[B] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
