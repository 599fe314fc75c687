"""The local driver: one process per core, each running threads that take the next item and
do it start to finish; each result goes, as it comes, to one writer, the manifest.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import cache
from ..errors import ImagenetError, StorageError, UsageError
from ..images import load_plugins
from . import terms
from .credentials import redact
from .download import Downloader, SharedHostLimiter
from .item import FetchOptions, FetchResult, ProgressFn, finish, heed_robots
from .manifest import Manifest
from .plan import clean_partials, plan
from .sources import ImageRef

# Items per process at least: below that one process with threads starts sooner.
ITEMS_PER_PROCESS = 16
# Item numbers a worker process claims at a time (see ItemCounter).
CLAIM = 8
# Seconds a worker process gathers results before it sends them to the parent.
SEND_EVERY = 0.02
# Seconds a stopped run waits for requests in flight before leaving them.
CANCEL_GRACE = 2.0

_Post = Callable[[int, FetchResult], None]
# The status of a result that is no row: its image could not be written (its error
# says where and why), and the run stops (see Recorder).
STORAGE_FAILED = "storage_failed"


class Recorder:
    """What every driver does with the results as they come, in whatever order: each
    a row of the manifest at once (a batch at a time: one write each), and counted for
    the progress line. A result that says the disk failed stops the run, after the
    rows before it are written."""

    def __init__(
        self,
        manifest: Manifest,
        progress: ProgressFn | None,
        arrived: Callable[[FetchResult], None] | None = None,
    ) -> None:
        self.manifest, self.progress, self.arrived = manifest, progress, arrived
        self.ok = self.failed = 0

    def add(self, results: Iterable[FetchResult]) -> None:
        manifest, stop = self.manifest, None
        for result in results:
            if result.status == STORAGE_FAILED:
                stop = stop or result.error
                continue
            manifest.append(result, flush=False)
            if result.ok:
                self.ok += 1
            else:
                self.failed += 1
            if self.progress:
                self.progress(1, None, f"ok {self.ok}  failed {self.failed}")
            if self.arrived:
                self.arrived(result)
        manifest.flush()
        if stop is not None:
            raise StorageError(stop)


def error_row(ref: ImageRef, exc: BaseException) -> FetchResult:
    """The row of an item whose handling raised: status ``error``, the exception named."""
    return FetchResult(
        ref.wnid,
        ref.image_id,
        redact(ref.url),
        "error",
        error=redact(f"{type(exc).__name__}: {exc}"),
    )


def start_threads(
    todo: list[ImageRef],
    options: FetchOptions,
    dl: Downloader,
    take: Callable[[], int],
    post: _Post,
    threads: int,
) -> list[threading.Thread]:
    """``threads`` threads that each take the next item and do it, until none is left."""
    stop = dl.stop_flag

    def work() -> None:
        while not stop.is_set():
            i = take()
            if i >= len(todo):
                return
            ref = todo[i]
            try:
                fetched = dl.get(ref.url)
                if fetched.kind == "cancelled":
                    return
                fetched = heed_robots(fetched, options)
                result = finish(ref, fetched, options.image, str(options.out))
            except StorageError as exc:  # the driver stops the run on it (see Recorder)
                post(i, replace(error_row(ref, exc), status=STORAGE_FAILED, error=str(exc)))
                return
            except Exception as exc:  # one item's bug is its row, never the run's end
                result = error_row(ref, exc)
            post(i, result)

    started = []
    for k in range(threads):
        t = threading.Thread(target=work, name=f"imagenet-fetch-{k}", daemon=True)
        t.start()
        started.append(t)
    return started


class _SharedStop:
    """A stop flag in shared memory for worker processes.

    Not ``multiprocessing.Event``: setting one waits for every process that sleeps
    in ``wait()`` to wake, and hangs for good when such a process has exited.
    """

    def __init__(self, ctx: Any) -> None:
        self._flag = ctx.RawValue("b", 0)

    def set(self) -> None:
        self._flag.value = 1

    def is_set(self) -> bool:
        return bool(self._flag.value)

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self._flag.value:
            left = 0.05 if end is None else min(0.05, end - time.monotonic())
            if left <= 0:
                return False
            time.sleep(left)
        return True


class ItemCounter:
    """The next item number, shared by the threads of every process.

    With a shared ``multiprocessing.Value('q')`` a process claims a block of
    :data:`CLAIM` numbers at a time: one process-shared lock per item, wanted by
    dozens of threads that give up the interpreter lock while holding it, convoys.
    """

    def __init__(self, value: Any) -> None:
        self.value = value  # a multiprocessing.Value('q'), or None for a local count
        self._lock = threading.Lock()
        self._next = self._end = 0

    def take(self) -> int:
        with self._lock:
            if self.value is not None and self._next >= self._end:
                with self.value.get_lock():
                    start = int(self.value.value)
                    self.value.value = start + CLAIM
                self._next, self._end = start, start + CLAIM
            i = self._next
            self._next += 1
        return i


def warm_up() -> None:
    """Import the HTTP client once, up front, before the threads (or the worker
    processes, which inherit it): first imports from dozens of threads at once
    serialise on the import locks."""
    import certifi  # noqa: F401
    import pycurl  # noqa: F401


_pillow_loader: threading.Thread | None = None


def load_plugins_soon() -> None:
    """Import Pillow in the background while the first requests are out (about 25 ms
    that would otherwise come before them). Threads that need it sooner wait on the
    import lock."""
    global _pillow_loader
    _pillow_loader = threading.Thread(target=load_plugins, name="imagenet-pillow", daemon=True)
    _pillow_loader.start()


def _imports_settled() -> None:
    """Before a fork: a child must not inherit an import lock held by the loader."""
    if _pillow_loader is not None:
        _pillow_loader.join()


def _process_main(
    todo: list[ImageRef],
    options: FetchOptions,
    threads: int,
    counter: Any,
    conn: Any,
    stop: _SharedStop,
    limiter: SharedHostLimiter,
    parent: int,
) -> None:
    """One worker process: its threads' results go to the parent in batches on ``conn``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    posted: queue.SimpleQueue[tuple[int, FetchResult] | None] = queue.SimpleQueue()

    def watch_parent() -> None:
        # A killed parent (kill -9) must not leave workers downloading into its folder
        # (and holding its inherited folder lock).
        while not stop.is_set():
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    finished = threading.Event()  # every download thread is done: send what is left now

    def send() -> None:
        # One pickle and one write per batch, not per result, from one thread only.
        done = False
        while not done:
            batch = [posted.get()]
            # Let results gather: woken for each one, this thread and the parent would
            # trade the interpreter lock with the downloading threads at every result.
            finished.wait(SEND_EVERY)
            with contextlib.suppress(queue.Empty):
                while len(batch) < 256:
                    batch.append(posted.get_nowait())
            if batch[-1] is None:
                batch.pop()
                done = True
            if batch:
                conn.send(batch)

    # What was inherited stays put: the collector need not walk it again and again.
    gc.freeze()
    load_plugins_soon()
    threading.Thread(target=watch_parent, daemon=True).start()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        with Downloader(options.download, limiter=limiter, stop=stop) as dl:
            take = ItemCounter(counter).take
            for t in start_threads(
                todo, options, dl, take, lambda i, r: posted.put((i, r)), threads
            ):
                t.join()
    except Exception as exc:  # told to the parent, which reports it as one line
        posted.put((-1, error_row(ImageRef("", "", ""), exc)))
    posted.put(None)
    finished.set()
    sender.join()
    conn.close()


def _shares(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


class _Workers:
    """Threads here, or processes with threads each, doing the items."""

    def __init__(self, todo: list[ImageRef], options: FetchOptions) -> None:
        conc = max(1, options.download.concurrency)
        procs = options.workers or os.cpu_count() or 1
        procs = max(1, min(procs, conc, len(todo) // ITEMS_PER_PROCESS))
        self.processes: list[Any] = []
        self.conns: list[Any] = []
        self.threads: list[threading.Thread] = []
        self._dl: Downloader | None = None
        self._local: queue.SimpleQueue[tuple[int, FetchResult]] = queue.SimpleQueue()
        self.stop: threading.Event | _SharedStop
        warm_up()
        if procs == 1:
            load_plugins_soon()
            self.stop = threading.Event()
            self._dl = Downloader(replace(options.download, concurrency=conc), stop=self.stop)
            take = ItemCounter(None).take
            self.threads = start_threads(
                todo, options, self._dl, take, lambda i, r: self._local.put((i, r)), conc
            )
            return
        # Fork where there is fork: workers start at once and need no importable
        # __main__ (notebooks, `python -`); the work list is inherited, not sent.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        _imports_settled()
        ctx: Any = multiprocessing.get_context(method)
        self.stop = _SharedStop(ctx)
        counter = ctx.Value("q", 0)
        limiter = SharedHostLimiter(options.download.per_host, ctx)
        for share in _shares(conc, procs):
            opts = replace(options, download=replace(options.download, concurrency=share))
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_process_main,
                args=(todo, opts, share, counter, writer, self.stop, limiter, os.getpid()),
                name="imagenet-fetch",
                daemon=True,
            )
            proc.start()
            writer.close()  # the worker's end; EOF here once the worker is gone
            self.processes.append(proc)
            self.conns.append(reader)

    def get(self, timeout: float) -> list[tuple[int, FetchResult]]:
        """Results that came in within ``timeout`` seconds (maybe none)."""
        if not self.processes:
            try:
                return [self._local.get(timeout=timeout)]
            except queue.Empty:
                return []
        from multiprocessing.connection import wait

        got: list[tuple[int, FetchResult]] = []
        conn: Any
        for conn in wait(self.conns, timeout):
            try:
                batch: list[tuple[int, FetchResult]] = conn.recv()
                got.extend(batch)
            except (EOFError, OSError):
                self.conns.remove(conn)
        return got

    def alive(self) -> bool:
        return bool(self.conns) or any(t.is_alive() for t in self.threads)

    def close(self) -> None:
        """Stop taking items; give requests in flight a moment, then leave or end them."""
        self.stop.set()
        deadline = time.monotonic() + CANCEL_GRACE
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        while self.conns and time.monotonic() < deadline:
            self.get(0.05)  # drain, so no worker blocks on a full pipe while exiting
        for p in self.processes:
            if p.is_alive() and time.monotonic() >= deadline:
                p.terminate()  # its temp files are swept by the next run
            p.join(1)
        for conn in self.conns:
            conn.close()
        if self._dl is not None:
            self._dl.close()


def claim_output(out: Path) -> contextlib.AbstractContextManager[None]:
    """Create the output folder and take its lock for this run (entered; the caller
    exits it): two runs writing one folder would interleave their manifests."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImagenetError(f"{out}: cannot create folder: {exc.strerror}") from None
    lock = cache.file_lock(out / ".fetch.lock", timeout=2)
    try:
        lock.__enter__()
    except ImagenetError:
        raise UsageError(f"{out}: another 'imagenet fetch' is writing into this folder") from None
    return lock


def fetch(
    refs: Iterable[ImageRef],
    options: FetchOptions,
    progress: ProgressFn | None = None,
    *,
    arrived: Callable[[FetchResult], None] | None = None,
) -> Iterator[FetchResult]:
    """Fetch every image of ``refs`` not done yet; yield each result in plan order.

    ``arrived`` is told of each result as it comes in, in any order (what is in flight
    shows there: the yield waits for the results before it).

    Usable from a notebook: the work runs in worker threads and processes. Stopping early
    (closing the generator, Ctrl-C) cancels what is in flight; the files and the
    manifest written so far stay valid, and the same call later finishes the rest.
    Raises :class:`~.errors.TermsError` unless ImageNet's terms of access are accepted.
    """
    terms.require_accepted()
    refs = list(refs)
    out = options.out
    lock = claim_output(out)
    manifest = Manifest(options.manifest_path)
    try:
        with closing_manifest(manifest):
            work = plan(refs, options, manifest)
            clean_partials(out, (r.wnid for r in refs))
            if progress:
                progress(0, len(work.todo), f"{work.done} done before")
            yield from _drive(work.todo, options, manifest, progress, arrived)
    finally:
        lock.__exit__(None, None, None)


@contextlib.contextmanager
def closing_manifest(manifest: Manifest) -> Iterator[None]:
    """Close ``manifest`` (its rows in order) at the end of the block; when the block
    raised, a failure to tidy the file (it stays whole) does not hide why."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(StorageError):
            manifest.close()
        raise
    manifest.close()


def _drive(
    todo: list[ImageRef],
    options: FetchOptions,
    manifest: Manifest,
    progress: ProgressFn | None,
    arrived: Callable[[FetchResult], None] | None = None,
) -> Iterator[FetchResult]:
    if not todo:
        return
    workers = _Workers(todo, options)
    record = Recorder(manifest, progress, arrived)
    buffer: dict[int, FetchResult] = {}
    nxt = 0
    try:
        while nxt < len(todo):
            got = workers.get(0.25)
            if not got and not workers.alive():
                raise ImagenetError("the download workers stopped early")
            for i, item in got:
                if i < 0:
                    raise ImagenetError(f"a download worker failed: {item.error}")
            # Recorded as they come: a URL slow to finish holds back no other's row,
            # and a kill -9 loses at most the rows of this batch, not yet written.
            record.add(item for _, item in got)
            buffer.update(got)
            while nxt in buffer:  # yielded in plan order
                yield buffer.pop(nxt)
                nxt += 1
    finally:
        workers.close()
