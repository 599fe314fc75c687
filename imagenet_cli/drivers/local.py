"""The local driver: a process or thread pool on this machine, results in order."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

B = TypeVar("B")
R = TypeVar("R")


def local_map(
    func: Callable[[B], R],
    batches: Iterable[B],
    *,
    workers: int,
    pool: str = "process",
    window: int | None = None,
    on_failure: Callable[[B, BaseException], R] | None = None,
) -> Iterator[R]:
    """``func`` over ``batches`` in a pool of ``workers``, results in batch order.

    At most ``window`` batches are in flight (default: 3 per worker), so a slow
    consumer holds the producer back. One worker, or a single batch, runs in this
    process: no pool to start for a small input.
    """
    it = iter(batches)
    if workers <= 1:
        for batch in it:
            yield _call(func, batch, on_failure)
        return
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is None:
        yield _call(func, first, on_failure)
        return
    limit = window or 3 * workers
    executor = _executor(pool, workers)
    try:
        pending: deque[tuple[Future[R], B]] = deque()
        for batch in chain((first, second), it):
            pending.append((executor.submit(func, batch), batch))
            if len(pending) >= limit:
                yield _result(*pending.popleft(), on_failure)
        while pending:
            yield _result(*pending.popleft(), on_failure)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _executor(pool: str, workers: int) -> Executor:
    if pool == "thread":
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=workers)
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, initializer=worker_setup)


def _call(
    func: Callable[[B], R], batch: B, on_failure: Callable[[B, BaseException], R] | None
) -> R:
    if on_failure is None:
        return func(batch)
    try:
        return func(batch)
    except Exception as exc:
        return on_failure(batch, exc)


def _result(future: Future[R], batch: B, on_failure: Callable[[B, BaseException], R] | None) -> R:
    if on_failure is None:
        return future.result()
    try:
        return future.result()
    except Exception as exc:
        return on_failure(batch, exc)


def worker_setup() -> None:
    """Workers never write to stdout: none holds the pipe open should the main
    process end early (``| head``), so the reader sees the end at once."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
