"""Download synsets' images into an ImageFolder tree, with a manifest and resume.

The seam: :func:`plan` turns image lists into work items (what is already done is
left out), :func:`fetch_item` is the item function (download with a
:class:`~imagenet_cli.download.Downloader`, then :func:`finish`: check, write
atomically, result record out), and :func:`fetch` is the local driver: one process
per core, each running threads that take the next item and do it start to finish
(only the small result records cross processes), and each result, as it comes,
goes to one writer, the manifest. :func:`fetch_one` does one item synchronously.

Layout: ``OUT/<wnid>/<image_id>.<ext>``; manifest ``OUT/manifest.jsonl`` (or a
``.csv``/``.jsonl`` path given), one row per URL, appended as each URL finishes and
put in plan order at the end, so a kill loses at most the URLs in flight and the
same command finishes the rest. A failed local write (a full disk) stops the run
(:class:`~.errors.StorageError`): it is no outcome of the URL.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from . import cache, terms
from .credentials import redact
from .download import Downloader, DownloadOptions, Fetched, SharedHostLimiter
from .errors import ImagenetError, StorageError, UsageError, storage_error
from .images import ImageOptions, check_image, load_plugins
from .images import sha256 as sha256_hex
from .sources import ImageRef

T = TypeVar("T")

MANIFEST_FIELDS = (
    "wnid",
    "image_id",
    "url",
    "status",
    "path",
    "bytes",
    "sha256",
    "width",
    "height",
    "attempts",
    "error",
)
ProgressFn = Callable[[int, int | None, str], None]


@dataclass
class FetchResult:
    """One manifest row: what became of one URL."""

    wnid: str
    image_id: str
    url: str
    status: str
    path: str = ""
    bytes: int | None = None
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    attempts: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def row(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every field, and the manifest writes
        # a row per URL.
        return {name: getattr(self, name) for name in MANIFEST_FIELDS}


@dataclass(frozen=True)
class FetchOptions:
    """Everything a run needs besides the work list."""

    out: Path
    download: DownloadOptions = field(default_factory=DownloadOptions)
    image: ImageOptions = field(default_factory=ImageOptions)
    manifest: Path | None = None
    workers: int = 0  # processes (each with its share of the threads); 0: one per core
    retry_failed: bool = False  # redo rows whose status is not final (timeouts, 5xx, ...)
    ignore_robots_tag: bool = False  # keep images whose X-Robots-Tag refuses it (see robots)

    @property
    def manifest_path(self) -> Path:
        return self.manifest or self.out / "manifest.jsonl"


# Statuses a later run would get again: not worth retrying with --retry-failed.
FINAL_STATUSES = frozenset(
    {
        "ok",
        "http_404",
        "http_410",
        "not_image",
        "placeholder",
        "too_small",
        "too_large",
        "corrupt",
        "invalid_url",
        "robots_disallowed",  # done again only with ignore_robots_tag (see _is_done)
    }
)


# ------------------------------------------------------------------ item function


def _safe_name(image_id: str) -> str:
    name = image_id.replace("/", "_").replace("\\", "_").replace("\x00", "")
    if name in ("", ".", "..") or name.startswith("."):
        name = "_" + name.lstrip(".")
    return name[:200]


def finish(ref: ImageRef, fetched: Fetched, options: ImageOptions, out: str) -> FetchResult:
    """Check a downloaded body and, when it is kept, write it atomically; the row for it.

    Raises :class:`~.errors.StorageError` when the image cannot be written."""
    url = redact(ref.url)
    if fetched.body is None:
        return FetchResult(
            ref.wnid,
            ref.image_id,
            url,
            fetched.kind or "error",
            attempts=fetched.attempts,
            error=redact(fetched.error),
        )
    body = fetched.body
    checked = check_image(body, options)
    if checked.status != "ok" or checked.data is None:
        return FetchResult(
            ref.wnid,
            ref.image_id,
            url,
            checked.status,
            "",
            len(body),
            checked.sha256 or sha256_hex(body),
            checked.width,
            checked.height,
            fetched.attempts,
            checked.error,
        )
    rel = f"{ref.wnid}/{_safe_name(ref.image_id)}.{checked.ext}"
    # No fsync: rename is atomic without it, and a machine crash that loses a renamed
    # file's data is caught at resume by the manifest's byte count (see plan()).
    path = os.path.join(out, rel)
    try:
        cache.write_bytes_atomic(path, checked.data, fsync=False)
    except OSError as exc:  # the disk's trouble, not the URL's: the run stops
        raise storage_error(path, exc) from None
    return FetchResult(
        ref.wnid,
        ref.image_id,
        url,
        "ok",
        rel,
        len(checked.data),
        checked.sha256,
        checked.width,
        checked.height,
        fetched.attempts,
        "",
    )


def heed_robots(fetched: Fetched, options: FetchOptions) -> Fetched:
    """``fetched``, or its refusal (``robots_disallowed``, no body) when its
    ``X-Robots-Tag`` asks that the image not be kept and the run heeds it."""
    tag = (fetched.headers or {}).get("x-robots-tag")
    if not tag or fetched.body is None or options.ignore_robots_tag:
        return fetched
    from .robots import refusal

    directive = refusal(tag)
    if not directive:
        return fetched
    return replace(fetched, body=None, kind="robots_disallowed", error=f"X-Robots-Tag: {directive}")


def fetch_item(ref: ImageRef, options: FetchOptions, downloader: Downloader) -> FetchResult:
    """Download, check and write one image: the item function every driver maps.

    ``downloader`` carries the connections and the bounds; drivers keep one per
    process (or worker) and call this from as many threads as they like.
    """
    fetched = heed_robots(downloader.get(ref.url), options)
    return finish(ref, fetched, options.image, str(options.out))


def fetch_one(ref: ImageRef, options: FetchOptions) -> FetchResult:
    """Download, check and write one image synchronously (for other drivers)."""
    with Downloader(options.download) as dl:
        return fetch_item(ref, options, dl)


# ------------------------------------------------------------------ manifest


class Manifest:
    """The run's record, jsonl or csv, one row per URL: also its journal.

    While a run goes on, each row is appended as its URL finishes, whatever the
    order, in whole lines (a failed write is cut back to the last whole line), so a
    kill loses at most the URLs in flight. :meth:`close` then rewrites the file, when
    it is not so already, in the run's order (see :meth:`set_order`): rows of URLs
    outside the run's list first, as they were, then the list's, in list order, each
    URL's latest row only. A rerun of a killed run ends with the file an uninterrupted
    run writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.csv = path.suffix.lower() == ".csv"
        self._fd: int | None = None
        self._size = 0  # bytes of whole lines in the file
        self._pending: list[Any] = []  # jsonl lines, or csv rows
        self._loaded: list[tuple[str, str]] = []  # keys in file order, until set_order
        self._order: dict[tuple[str, str], int] = {}
        # Whether the list's rows stand in list order so far (the last one's number).
        self._sorted, self._last = True, -1
        # Set when the file holds, or this run appends, a second row for one URL.
        self.repeated = False

    def load(self) -> dict[tuple[str, str], dict[str, str]]:
        """Rows already written, last one per (wnid, image_id) winning.

        A line cut short by a killed run is dropped from the file first.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        cut = raw.rfind(b"\n") + 1
        if cut != len(raw):
            with self.path.open("r+b") as fh:
                fh.truncate(cut)
            raw = raw[:cut]
        text = raw.decode("utf-8", errors="replace")
        rows: dict[tuple[str, str], dict[str, str]] = {}
        keys = self._loaded
        if self.csv:
            for row in csv.DictReader(text.splitlines()):
                if row.get("wnid") and row.get("image_id"):
                    keys.append((row["wnid"], row["image_id"]))
                    rows[keys[-1]] = row
        else:
            for line in text.splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and row.get("wnid") and row.get("image_id"):
                    keys.append((str(row["wnid"]), str(row["image_id"])))
                    rows[keys[-1]] = row
        if len(keys) > len(rows):  # a run killed before it could tidy up
            self.repeated = True
        return rows

    def set_order(self, keys: Iterable[tuple[str, str]]) -> None:
        """The run's list, whose order :meth:`close` gives the file."""
        self._order = {key: i for i, key in enumerate(keys)}
        for key in self._loaded:
            self._note(key)
        self._loaded = []

    def append(self, result: FetchResult, *, flush: bool = True) -> None:
        """Add a row; with ``flush=False`` it may wait in memory for :meth:`flush`."""
        row = result.row()
        if self.csv:
            self._pending.append(["" if row[k] is None else row[k] for k in MANIFEST_FIELDS])
        else:
            self._pending.append(json.dumps(row, ensure_ascii=False) + "\n")
        if self._sorted:
            self._note((result.wnid, result.image_id))
        if flush:
            self.flush()

    def flush(self) -> None:
        """Write the rows waiting, whole lines or none: raises
        :class:`~.errors.StorageError` when the file cannot take them."""
        if not self._pending:
            return
        if self.csv:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(self._pending)
            data = buf.getvalue().encode("utf-8")
        else:
            data = "".join(self._pending).encode("utf-8")
        self._pending.clear()
        try:
            if self._fd is None:
                self._open()
            assert self._fd is not None
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            if self._fd is not None:
                with contextlib.suppress(OSError):  # no half line for a reader or a rerun
                    os.ftruncate(self._fd, self._size)
            raise storage_error(self.path, exc) from None
        self._size += len(data)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
        self._fd = fd
        self._size = os.fstat(fd).st_size
        if self.csv and self._size == 0:
            header = (",".join(MANIFEST_FIELDS) + "\n").encode()
            os.write(fd, header)
            self._size = len(header)

    def close(self) -> None:
        """Write what waits, then put the file in the run's order (atomically)."""
        try:
            self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        if self.repeated or not self._sorted:
            self.compact()
        self.repeated = False

    def _note(self, key: tuple[str, str]) -> None:
        i = self._order.get(key, -1)
        if i >= 0:  # a row of the list: after the last one's, or out of order
            if i <= self._last:
                self._sorted = False
            self._last = i

    def compact(self) -> None:
        """Rewrite the file (atomically) with one row per (wnid, image_id), the latest,
        in the run's order. Lines that are not rows stay with the rows outside the list."""
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return
        try:
            if self.csv:
                reader = csv.reader(io.StringIO(text, newline=""))
                header = next(reader, None)
                if header is None or "wnid" not in header or "image_id" not in header:
                    return
                wi, ii = header.index("wnid"), header.index("image_id")
                records = self._arrange(
                    ((r[wi], r[ii]) if len(r) > max(wi, ii) and r[wi] and r[ii] else None, r)
                    for r in reader
                )
                with cache.atomic_write(self.path, "w", fsync=False) as fh:
                    writer = csv.writer(fh, lineterminator="\n")
                    writer.writerow(header)
                    writer.writerows(records)
                return
            lines = self._arrange((_jsonl_key(line), line) for line in text.splitlines())
            cache.write_text_atomic(self.path, "".join(f"{line}\n" for line in lines), fsync=False)
        except OSError as exc:  # the file stays as it was: whole rows, out of order
            raise storage_error(self.path, exc) from None

    def _arrange(self, rows: Iterable[tuple[tuple[str, str] | None, T]]) -> list[T]:
        """The latest row of each key; the places of the list's rows refilled with
        them in list order, every other line where it was."""
        kept = _latest_in_place(rows)
        order = self._order
        slots: list[int] = []
        listed: list[tuple[int, T]] = []
        for at, (key, row) in enumerate(kept):
            if key is not None and key in order:
                slots.append(at)
                listed.append((order[key], row))
        listed.sort(key=lambda pair: pair[0])
        out = [row for _, row in kept]
        for at, (_, row) in zip(slots, listed, strict=True):
            out[at] = row
        return out


def _latest_in_place(
    rows: Iterable[tuple[tuple[str, str] | None, T]],
) -> list[tuple[tuple[str, str] | None, T]]:
    """``rows`` (each with its (wnid, image_id), or None for a line that is no row)
    keeping one per key: the latest, where the first one was."""
    where: dict[tuple[str, str], int] = {}
    kept: list[tuple[tuple[str, str] | None, T]] = []
    for key, row in rows:
        if key is not None:
            if key in where:
                kept[where[key]] = (key, row)
                continue
            where[key] = len(kept)
        kept.append((key, row))
    return kept


def _jsonl_key(line: str) -> tuple[str, str] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if isinstance(row, dict) and row.get("wnid") and row.get("image_id"):
        return str(row["wnid"]), str(row["image_id"])
    return None


# ------------------------------------------------------------------ plan


@dataclass
class FetchPlan:
    """The work: items still to do, and how many were found done already."""

    todo: list[ImageRef]
    done: int
    total: int


def plan(
    refs: Iterable[ImageRef], options: FetchOptions, manifest: Manifest | None = None
) -> FetchPlan:
    """Leave out what an earlier run finished (its row, and its file for an ``ok`` row).

    ``manifest``, the run's, learns whether URLs with a row are to be done again (their
    new rows then replace the old when it is closed).
    """
    book = manifest if manifest is not None else Manifest(options.manifest_path)
    rows = book.load()
    todo, done, total = [], 0, 0
    seen: dict[tuple[str, str], None] = {}  # in list order
    for ref in refs:
        key = (ref.wnid, ref.image_id)
        if key in seen:
            continue
        seen[key] = None
        total += 1
        row = rows.get(key)
        if row is not None and _is_done(row, options):
            done += 1
        else:
            if row is not None:
                book.repeated = True
            todo.append(ref)
    book.set_order(seen)
    return FetchPlan(todo, done, total)


def _is_done(row: dict[str, Any], options: FetchOptions) -> bool:
    status = str(row.get("status", ""))
    if status == "ok":
        # The file, whole: without fsync a crash of the machine (not of the process)
        # can leave a renamed file short, and that one is fetched again.
        try:
            size = (options.out / str(row["path"])).stat().st_size if row.get("path") else -1
        except OSError:
            return False
        want = str(row.get("bytes") or "")
        return size >= 0 and (not want.isdigit() or size == int(want))
    if status == "robots_disallowed":  # final, unless the run now keeps such images
        return not options.ignore_robots_tag
    if status == "error":
        # Not what the URL gave: a bug, a batch that could not run, or (before runs
        # stopped on them) a local write that failed: always done again.
        return False
    return not options.retry_failed or status in FINAL_STATUSES


def clean_partials(out: Path, wnids: Iterable[str]) -> int:
    """Remove temp files a killed run left in the class folders; returns how many."""
    removed = 0
    for wnid in set(wnids):
        folder = out / wnid
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if entry.name.startswith(".") and entry.name.endswith(".part"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


# ------------------------------------------------------------------ driver

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


# ------------------------------------------------------------------ selection


@dataclass
class Selection:
    """The wnids asked for, their image lists, and the lists that could not be had."""

    wnids: list[str]
    refs: list[ImageRef]
    errors: list[tuple[str, str, bool]]  # (wnid, message, not_found)
    per_wnid: dict[str, int]


def select(
    idents: Iterable[str],
    list_options: Any,
    *,
    recursive: bool = False,
    release: str | None = None,
    limit: int | None = None,
) -> Selection:
    """Resolve ids (with their descendants when ``recursive``) and gather their image lists."""
    from .hierarchy import Hierarchy
    from .sources import image_lists

    h = Hierarchy.default()
    wnids: list[str] = []
    seen: set[str] = set()
    for ident in idents:
        root = h.resolve(ident)
        group = h.descendants(root, release=release, include_self=True) if recursive else [root]
        for w in group:
            if w not in seen:
                seen.add(w)
                wnids.append(w)
    if not wnids:
        raise UsageError("no synsets to fetch (give --wnid or --wnids)")
    refs: list[ImageRef] = []
    errors: list[tuple[str, str, bool]] = []
    per_wnid: dict[str, int] = {}
    for item in image_lists(wnids, list_options):
        if item.error:
            errors.append((item.wnid, item.error, item.not_found))
            continue
        chosen = item.refs[:limit] if limit else item.refs
        per_wnid[item.wnid] = len(chosen)
        refs.extend(chosen)
    return Selection(wnids, refs, errors, per_wnid)


# ------------------------------------------------------------------ original images

ORIGINALS_PATH = (
    "/download/synset?wnid={wnid}&username={user}&accesskey={key}&release=latest&src=stanford"
)
MAX_ORIGINALS_BYTES = 64 << 30


def fetch_originals(
    wnids: list[str],
    creds: Any,
    base_url: str,
    out: Path,
    *,
    manifest: Path | None = None,
    timeout: float = 60.0,
    image: ImageOptions | None = None,
    max_bytes: int = DownloadOptions.max_bytes,
) -> Iterator[FetchResult]:
    """Each synset's original images from the download endpoint (a tar), checked and written
    like downloaded ones; the access key never leaves the request itself. A member over
    ``max_bytes`` is refused (``too_large``) unread.

    A synset whose archive cannot be had (an HTTP error, no connection, not a tar)
    gives one row of its own, whose image_id is the wnid (see :func:`is_archive_row`).
    """
    terms.require_accepted()
    options = FetchOptions(
        out=out, manifest=manifest, image=image or ImageOptions(image_format="keep")
    )
    lock = claim_output(out)
    book = Manifest(options.manifest_path)
    try:
        with closing_manifest(book):
            yield from _originals(wnids, creds, base_url, out, book, options, timeout, max_bytes)
    finally:
        lock.__exit__(None, None, None)


def _originals(
    wnids: list[str],
    creds: Any,
    base_url: str,
    out: Path,
    book: Manifest,
    options: FetchOptions,
    timeout: float,
    max_bytes: int,
) -> Iterator[FetchResult]:
    import tarfile
    from urllib.parse import quote

    from .errors import TermsError

    rows = book.load()
    clean_partials(out, wnids)
    archives = ArchiveRecord(book.path)
    unpacked = archives.load()
    images: dict[str, list[dict[str, Any]]] = {}
    for (wnid, image_id), row in rows.items():
        if image_id != wnid:
            images.setdefault(wnid, []).append(row)
    for wnid in wnids:
        kept = images.get(wnid)
        if wnid in unpacked and kept and all(_is_done(r, options) for r in kept):
            continue  # every image of its archive is done: not downloaded again
        url = base_url.rstrip("/") + ORIGINALS_PATH.format(
            wnid=wnid, user=quote(creds.username, safe=""), key=quote(creds.access_key, safe="")
        )
        shown = redact(url)
        # In the class folder, under the run's lock: no other run writes it, and a
        # killed run's is swept by the next (clean_partials).
        tmp = out / wnid / f".{wnid}.tar.part"
        try:
            tmp.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise storage_error(tmp.parent, exc) from None
        try:
            status = _download_to(url, tmp, timeout)
            if status in (401, 403):
                raise TermsError(
                    f"{shown}: access denied (HTTP {status}): check your username and "
                    "access key with 'imagenet login'"
                )
            if status != 200:
                yield _row(
                    book,
                    rows,
                    FetchResult(wnid, wnid, shown, f"http_{status}", error=f"HTTP {status}"),
                )
                continue
            try:
                tar = tarfile.open(tmp, "r:*")  # noqa: SIM115 - closed by the with below
            except (tarfile.TarError, OSError) as exc:
                yield _row(
                    book, rows, FetchResult(wnid, wnid, shown, "not_archive", error=str(exc))
                )
                continue
            with tar:
                for member in tar:
                    name = member.name.rsplit("/", 1)[-1]
                    if (
                        not member.isfile()
                        or not name
                        or name.startswith(".")
                        or ".." in member.name
                    ):
                        continue  # only plain files, never a path outside the class folder
                    image_id = name.rsplit(".", 1)[0]
                    if (wnid, image_id) in rows and _is_done(rows[(wnid, image_id)], options):
                        continue
                    ref = ImageRef(wnid, image_id, f"{shown}#{name}")
                    if member.size > max_bytes:
                        yield _row(
                            book,
                            rows,
                            FetchResult(
                                wnid,
                                image_id,
                                ref.url,
                                "too_large",
                                bytes=member.size,
                                attempts=1,
                                error=f"more than {max_bytes:,} bytes",
                            ),
                        )
                        continue
                    fh = tar.extractfile(member)
                    body = fh.read() if fh is not None else b""
                    fetched = Fetched(shown, status=200, body=body, attempts=1)
                    yield _row(
                        book,
                        rows,
                        finish(
                            ref,
                            fetched,
                            options.image,
                            str(out),
                        ),
                    )
            archives.add(wnid)  # after its images' rows
        except OSError as exc:
            yield _row(
                book,
                rows,
                FetchResult(wnid, wnid, shown, "connection_error", error=redact(str(exc))),
            )
        finally:
            tmp.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                tmp.parent.rmdir()  # only when the archive gave no image


class ArchiveRecord:
    """The synsets whose archive of originals was read to its end, one a line, beside
    the manifest (``.<manifest name>.archives``): with every image of one done, a rerun
    need not download its archive again."""

    def __init__(self, manifest: Path) -> None:
        self.path = manifest.parent / f".{manifest.name}.archives"

    def load(self) -> set[str]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return set()
        return set(text[: text.rfind("\n") + 1].split())  # a torn last line is no entry

    def add(self, wnid: str) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
            try:
                os.write(fd, f"{wnid}\n".encode())
            finally:
                os.close(fd)
        except OSError as exc:
            raise storage_error(self.path, exc) from None


def is_archive_row(result: FetchResult) -> bool:
    """Whether a row of :func:`fetch_originals` stands for a synset's whole archive that
    could not be had, rather than for one image of it."""
    return result.image_id == result.wnid and not result.ok


def _row(book: Manifest, rows: dict[tuple[str, str], Any], result: FetchResult) -> FetchResult:
    if (result.wnid, result.image_id) in rows:
        book.repeated = True  # one row per URL: this one replaces the earlier at close
    book.append(result)
    return result


def _download_to(url: str, path: Path, timeout: float) -> int:
    import httpx

    from .download import USER_AGENT, at_least

    try:
        with (
            httpx.Client(
                follow_redirects=True, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code != 200:
                return resp.status_code
            size = 0
            try:
                fh = path.open("wb")
            except OSError as exc:
                raise storage_error(path, exc) from None
            with fh:
                # as it arrives (a chunk size would wait to fill it): a trickle is caught
                for chunk in at_least(resp.iter_bytes(), timeout):
                    size += len(chunk)
                    if size > MAX_ORIGINALS_BYTES:
                        raise OSError("archive larger than the limit")
                    try:
                        fh.write(chunk)
                    except OSError as exc:
                        raise storage_error(path, exc) from None
                try:
                    fh.flush()
                except OSError as exc:
                    raise storage_error(path, exc) from None
            return 200
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise OSError(redact(str(exc)) or type(exc).__name__) from None
