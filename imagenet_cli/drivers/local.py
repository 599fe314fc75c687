"""The local driver: a process or thread pool on this machine, results in order."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any, Generic, Protocol, TypeVar

B = TypeVar("B")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class _Pending(Protocol[R_co]):
    def result(self) -> R_co: ...


class _Pool(Protocol):
    def submit(self, func: Callable[[Any], Any], batch: Any, /) -> _Pending[Any]: ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None: ...


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
        pending: deque[tuple[_Pending[R], B]] = deque()
        for batch in chain((first, second), it):
            pending.append((executor.submit(func, batch), batch))
            if len(pending) >= limit:
                yield _result(*pending.popleft(), on_failure)
        while pending:
            yield _result(*pending.popleft(), on_failure)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _executor(pool: str, workers: int) -> _Pool:
    if pool == "thread":
        return _Threads(workers)
    from concurrent.futures import ProcessPoolExecutor

    # The main process's pid from here: a worker that asked os.getppid() itself, once
    # started, would get the reaper's pid if the main process was killed meanwhile.
    return ProcessPoolExecutor(
        max_workers=workers, initializer=worker_setup, initargs=(os.getpid(),)
    )


class _Slot(Generic[R]):
    """One batch's result to come, as a Future gives it."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()  # released once the result is in
        self._value: R | None = None
        self._error: BaseException | None = None

    def set(self, value: R | None, error: BaseException | None) -> None:
        self._value, self._error = value, error
        self._done.release()

    def result(self) -> R:
        with self._done:
            pass
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class _Threads:
    """Threads taking batches off one queue: the part of ``ThreadPoolExecutor`` the
    driver uses, without ``concurrent.futures`` (whose import of ``logging`` costs
    about 10 ms, a twentieth of a quick copy of a few thousand files)."""

    def __init__(self, workers: int) -> None:
        self._tasks: queue.SimpleQueue[tuple[_Slot[Any], Callable[[Any], Any], Any] | None] = (
            queue.SimpleQueue()
        )
        self._cancelled = False
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, func: Callable[[Any], Any], batch: Any, /) -> _Slot[Any]:
        slot: _Slot[Any] = _Slot()
        self._tasks.put((slot, func, batch))
        return slot

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            slot, func, batch = task
            if self._cancelled:
                slot.set(None, RuntimeError("cancelled"))
                continue
            try:
                slot.set(func(batch), None)
            except BaseException as exc:  # handed to whoever waits for this batch
                slot.set(None, exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._cancelled = self._cancelled or cancel_futures
        for _ in self._threads:
            self._tasks.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


def _call(
    func: Callable[[B], R], batch: B, on_failure: Callable[[B, BaseException], R] | None
) -> R:
    if on_failure is None:
        return func(batch)
    try:
        return func(batch)
    except Exception as exc:
        return on_failure(batch, exc)


def _result(future: _Pending[R], batch: B, on_failure: Callable[[B, BaseException], R] | None) -> R:
    if on_failure is None:
        return future.result()
    try:
        return future.result()
    except Exception as exc:
        return on_failure(batch, exc)


def worker_setup(parent: int) -> None:
    """Workers never write to stdout: none holds the pipe open should the main
    process end early (``| head``), so the reader sees the end at once.

    Ctrl-C is the main process's to handle: it reaches the whole process group, and
    a worker it interrupted would print a traceback, or die holding the pool's task
    queue lock and leave its siblings (and the main process, which waits for them)
    blocked for good. The main process cancels what is queued; a batch under way
    finishes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    watch = threading.Thread(target=_exit_with, args=(parent,), daemon=True)
    watch.start()


def _exit_with(parent: int) -> None:
    """End this worker once its main process is gone. Killed outright (SIGKILL, the
    OOM killer), the main process cannot stop its workers, and each would wait on the
    task queue for good: its siblings hold the queue's other end open."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
