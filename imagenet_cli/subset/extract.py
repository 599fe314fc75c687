"""Extraction: the item function, the local driver and the one writer.

:func:`process` does one image (copy, link or resize; atomic; skipped when already
written) and returns an :class:`ItemResult`. :func:`run_jobs` maps it over the plan
with a local pool (processes when resizing, which is CPU work; threads for copies
and links, which wait on I/O) and yields results in plan order, so the manifest is
the same whatever the worker count. :func:`extract` ties source, selection, plan,
driver and writer together.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .. import config
from ..cache import LockBusy, file_lock, remove_stale_temp, temp_name, write_bytes_atomic
from ..drivers import batched, failure_reason, map_batches, session
from ..errors import NotFoundError, StorageError, UsageError, storage_error
from ..hierarchy import Hierarchy
from ..ids import is_wnid, printable
from . import imaging
from .plan import SPLITS, Options, Plan, WorkItem, make_plan
from .selection import Selection, select
from .sources import ClassFolders, LabelledFolder, Source, Split, open_source

if TYPE_CHECKING:
    from ..drivers.cluster import Cluster

Progress = Callable[[int, int | None, str], None]

MODES = ("copy", "hardlink", "symlink")
SETTINGS_FILE = ".imagenet-subset.json"
LOCK_FILE = ".imagenet-subset.lock"
MANIFEST_COLUMNS = ("split", "wnid", "source", "path", "bytes", "width", "height")
MAX_BBOX_XML = 1024 * 1024
BATCH_SIZE = 64  # images per task on a cluster


@dataclass(slots=True)  # not frozen: see plan.WorkItem
class Job:
    """One work item with everything :func:`process` needs (picklable, no globals)."""

    item: WorkItem
    dest: str  # absolute output path
    options: Options
    known: tuple[int, int, int] | None = None  # (bytes, width, height) of a previous run
    bbox: tuple[str, ...] = ()  # candidate annotation files, first found is copied
    bbox_dest: str = ""
    fresh: bool = False  # its class folder was made by this run: nothing there to skip


@dataclass(slots=True)  # not frozen: see plan.WorkItem
class ItemResult:
    """What became of one image; ``status`` is written, skipped or failed."""

    split: str
    wnid: str
    source: str
    path: str  # relative to the target folder
    bytes: int
    width: int
    height: int
    status: str
    error: str = ""
    bbox: bool = False
    bbox_error: str = ""  # the annotation could not be copied (the image may still be fine)


def process(job: Job) -> ItemResult:
    """Write one image (or find it already written); never raises for a bad image."""
    item, opts, dest = job.item, job.options, job.dest
    src = item.src
    st = None
    if not job.fresh:
        with contextlib.suppress(FileNotFoundError):
            # a link's own size is not the image's: follow it (a dangling one then
            # counts as missing, and making it again fails with a reason)
            st = os.stat(dest) if opts.mode == "symlink" else os.lstat(dest)
    try:
        if st is not None:
            if job.known is not None and job.known[0] == st.st_size:
                size, width, height = job.known
            else:
                width, height = imaging.file_size(dest)
                size = st.st_size
            status = "skipped"
        else:
            size, width, height = _write(src.path, src.offset, src.size, dest, opts)
            status = "written"
    except Exception as exc:  # one bad image must never stop a run of a million
        if _disk_failed(exc):
            return _stopped(job, dest, exc)
        return ItemResult(
            item.split, item.wnid, src.label, item.rel, 0, 0, 0, "failed", _reason(exc)
        )
    has_bbox, bbox_error = False, ""
    if job.bbox:
        try:
            has_bbox = _copy_bbox(job.bbox, job.bbox_dest)
        except Exception as exc:
            if _disk_failed(exc):
                return _stopped(job, job.bbox_dest, exc)
            where = getattr(exc, "filename", None) or job.bbox_dest
            bbox_error = f"{where}: annotation not copied ({_reason(exc)})"
    return ItemResult(
        item.split,
        item.wnid,
        src.label,
        item.rel,
        size,
        width,
        height,
        status,
        "",
        has_bbox,
        bbox_error,
    )


# What a full or read-only disk answers a write: the run's trouble, not the image's.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _disk_failed(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS


def _stopped(job: Job, dest: str, exc: BaseException) -> ItemResult:
    """The result that stops the run (status ``stopped``, the one line its error)."""
    item = job.item
    line = str(storage_error(dest, cast(OSError, exc)))
    return ItemResult(item.split, item.wnid, item.src.label, item.rel, 0, 0, 0, "stopped", line)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _write(path: str, offset: int, length: int, dest: str, opts: Options) -> tuple[int, int, int]:
    if opts.resize is not None:
        data = _read(path, offset, length)
        out, width, height = imaging.resize(data, opts.resize, opts.resize_mode, opts.quality)
        write_atomic(dest, out)
        return len(out), width, height
    if opts.mode == "copy":
        width, height = copy_atomic(path, max(offset, 0), length, dest)
        return length, width, height
    width, height = imaging.file_size(path)
    if opts.mode == "hardlink":
        try:
            # link(2) on Linux links a symbolic link itself, whose relative target would
            # dangle from the target folder: link the file it names (realpath only then:
            # it costs six times the lstat, a fifth of a whole link run)
            os.link(os.path.realpath(path) if os.path.islink(path) else path, dest)
        except OSError as exc:
            if exc.errno == 18:  # EXDEV
                raise OSError(
                    exc.errno, "cannot hardlink across file systems (use --mode copy)"
                ) from None
            if exc.errno == 1:  # EPERM: Linux's protected_hardlinks, files of other users
                raise OSError(
                    exc.errno,
                    "cannot hardlink (not permitted: the file belongs to another user; "
                    "use --mode copy or symlink)",
                ) from None
            raise
    else:
        os.symlink(os.path.abspath(path), dest)
    return length, width, height


def _read(path: str, offset: int, length: int) -> bytes:
    if offset >= 0:
        return read_bytes(path, offset, length)
    with open(path, "rb") as fh:
        return fh.read()


def read_bytes(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset`` of the file at ``path`` (short read: an error)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, size, offset)
        while len(data) < size:  # pread may return less on some file systems
            more = os.pread(fd, size - len(data), offset + len(data))
            if not more:
                raise OSError(f"archive ends {size - len(data)} bytes early")
            data += more
        return data
    finally:
        os.close(fd)


def write_atomic(dest: str, data: bytes) -> None:
    """Write ``data`` under a temporary name beside ``dest``, then rename it into place."""
    write_bytes_atomic(dest, data, fsync=False)


def copy_atomic(path: str, offset: int, length: int, dest: str) -> tuple[int, int]:
    """Copy ``length`` bytes at ``offset`` of ``path`` to ``dest`` atomically; the image's size.

    The bytes go file to file inside the kernel (``copy_file_range``), never through
    Python; only the header is read to learn the width and height.
    """
    src = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(src, min(length, 4096), offset)
        found = imaging.header_size(head)
        if found is None or found[0] <= 0:
            found = imaging.image_size(read_bytes(path, offset, length))
        tmp = temp_name(dest)
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _copy_range(src, out, offset, length)
        except BaseException:
            os.close(out)
            os.unlink(tmp)
            raise
        os.close(out)
        os.replace(tmp, dest)
        return found
    finally:
        os.close(src)


def _copy_range(src: int, out: int, offset: int, length: int) -> None:
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            while done < length:
                n = os.copy_file_range(src, out, length - done, offset + done)
                if n == 0:
                    raise OSError(f"source ends {length - done} bytes early")
                done += n
        except OSError as exc:
            if done or exc.errno not in (18, 22, 38, 95):  # EXDEV, EINVAL, ENOSYS, EOPNOTSUPP
                raise
    while done < length:  # no copy_file_range here: through a buffer
        chunk = os.pread(src, min(length - done, 1 << 20), offset + done)
        if not chunk:
            raise OSError(f"source ends {length - done} bytes early")
        view = memoryview(chunk)
        while view:
            view = view[os.write(out, view) :]
        done += len(chunk)


def _copy_bbox(candidates: tuple[str, ...], dest: str) -> bool:
    if os.path.exists(dest):
        return True
    for candidate in candidates:
        try:
            with open(candidate, "rb") as fh:
                data = fh.read(MAX_BBOX_XML + 1)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if len(data) > MAX_BBOX_XML:
            raise OSError(f"annotation {candidate} is larger than {MAX_BBOX_XML} bytes")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        write_atomic(dest, data)
        return True
    return False


# ---------------------------------------------------------------- driver


def resolve_workers(workers: int | None) -> int:
    """The worker count: the option, else the ``workers`` setting, 0 meaning one per core."""
    count = int(config.get("workers", workers if workers else None) or 0)
    return count if count > 0 else (os.cpu_count() or 1)


def process_batch(batch: tuple[str, list[Job]]) -> list[ItemResult]:
    """:func:`process` over one batch ``(base, jobs)``, in order.

    ``base`` is the client's working folder when the batch runs on a cluster: a
    worker elsewhere reads relative source paths from there, while the manifest
    names them as given. Locally it is empty.
    """
    base, jobs = batch
    if not base:
        return [process(job) for job in jobs]
    done = []
    for job in jobs:
        src = job.item.src
        if os.path.isabs(src.path):
            done.append(process(job))
            continue
        moved = replace(src, path=os.path.join(base, src.path))
        result = process(replace(job, item=replace(job.item, src=moved)))
        done.append(replace(result, source=src.label))
    return done


def folder_batches(jobs: list[Job], workers: int, cap: int | None = None) -> Iterator[list[Job]]:
    """Copy and link jobs in batches that each stay in one target folder, in order.

    Creating and renaming files takes the folder's lock in the kernel, so threads
    writing into one folder wait for each other (about 6 % of a copy's CPU went to
    spinning on that lock). A batch is a whole folder, or, when there are too few
    folders to keep ``workers`` threads busy, an equal share of one; ``cap`` bounds
    its length.
    """
    groups: list[list[Job]] = []
    last = None
    for job in jobs:
        folder = job.dest.rpartition("/")[0]
        if folder == last:
            groups[-1].append(job)
        else:
            groups.append([job])
            last = folder
    for group in groups:
        size = len(group)
        if len(groups) < 2 * workers:
            size = -(-size // max(workers, 1))
        if cap:
            size = min(size, cap)
        yield from batched(group, max(1, size))


def shrinking_batches(
    jobs: list[Job], workers: int, cap: int = 64, floor: int = 4
) -> Iterator[list[Job]]:
    """Batches for a process pool: ``cap`` jobs while many remain, then smaller.

    Each batch costs the parent most of a millisecond of CPU (pickling, pipes, thread
    hand-offs), taken from the workers it feeds, so most batches are large. Near the
    end each is a quarter of what is left per worker (at least ``floor``), so the
    workers finish together instead of one waiting out another's last large batch.
    """
    start, total, share = 0, len(jobs), 4 * max(workers, 1)
    while start < total:
        size = max(floor, min(cap, (total - start) // share))
        yield jobs[start : start + size]
        start += size


def failed_batch(batch: tuple[str, list[Job]], exc: BaseException) -> list[ItemResult]:
    """A batch that could not be run: each of its images failed, with the reason."""
    reason = failure_reason(exc)
    return [
        ItemResult(
            j.item.split, j.item.wnid, j.item.src.label, j.item.rel, 0, 0, 0, "failed", reason
        )
        for j in batch[1]
    ]


def run_jobs(
    jobs: list[Job],
    workers: int,
    *,
    cpu_bound: bool,
    scheduler: Cluster | None = None,
    batch_size: int | None = None,
) -> Iterator[ItemResult]:
    """:func:`process` over ``jobs``, results in the jobs' order whatever ``workers`` is.

    Locally: processes when resizing (CPU work), in batches that shrink towards the
    end (see :func:`shrinking_batches`); threads for copies and links (which wait on
    the kernel), in batches that each stay in one folder (see :func:`folder_batches`).
    With a ``scheduler``: batches of ``batch_size`` jobs (default :data:`BATCH_SIZE`)
    on the Dask cluster.
    """
    if scheduler is not None:
        size = batch_size or BATCH_SIZE
        base = os.getcwd()
        chunks: Iterable[list[Job]] = batched(jobs, size)
    elif cpu_bound:
        base = ""
        chunks = batched(jobs, batch_size) if batch_size else shrinking_batches(jobs, workers)
    else:
        base = ""
        chunks = folder_batches(jobs, workers, batch_size)
    batches = ((base, chunk) for chunk in chunks)
    with contextlib.closing(
        map_batches(
            process_batch,
            batches,
            workers=workers,
            scheduler=scheduler,
            pool="process" if cpu_bound else "thread",
            on_failure=failed_batch,
        )
    ) as done:
        for results in done:
            yield from results


# ---------------------------------------------------------------- the whole run


@dataclass(frozen=True)
class Request:
    """Everything ``imagenet subset extract`` was asked to do."""

    sources: tuple[str, ...]
    dst: str
    selection: Selection = field(default_factory=Selection)
    layout: str | None = None
    split: str | None = None  # train, val or both; None: train if the source has it
    per_class: int | None = None
    val_per_class: int | None = None
    options: Options = field(default_factory=Options)
    bbox: str | None = None
    val_labels: str | None = None
    devkit_synsets: str | None = None
    workers: int | None = None
    scheduler: str | None = None  # a Dask scheduler address: write on the cluster
    batch_size: int | None = None  # images per task
    dry_run: bool = False


@dataclass
class Summary:
    """What a run did (or, dry, would do)."""

    dst: str
    layouts: list[str]
    plan: Plan
    dry_run: bool
    written: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_written: int = 0
    bbox: int = 0
    seconds: float = 0.0
    failures: list[ItemResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the source: refused members ...
    notes: list[str] = field(default_factory=list)  # warnings: skipped classes, stray folders ...
    index_built: bool = False

    @property
    def refused(self) -> int:
        """Members or files of the source refused or unreadable (each one of :attr:`problems`)."""
        return len(self.problems)


def extract(request: Request, progress: Progress | None = None) -> Summary:
    """Carve the requested subset out of the source(s) into ``request.dst``."""
    started = time.perf_counter()
    _check_options(request)
    sources = [
        open_source(
            s,
            request.layout,
            val_labels=request.val_labels,
            devkit_synsets=request.devkit_synsets,
            progress=_index_progress(progress),
        )
        for s in request.sources
    ]
    _check_overlap(Path(request.dst), sources)
    for source in sources:
        if not any(split.classes() for split in source.splits.values()):
            # e.g. a flat val folder read as class folders: nothing to select from
            hint = "; is --layout right?" if request.layout else ""
            found = f"{source.location}: no class with images found as layout {source.layout}"
            raise NotFoundError("\n".join([*source.problems, found + hint]))
    splits = _splits(sources, request.split)
    opts = request.options
    if opts.mode != "copy" and any(not s.on_disk for s in splits.values()):
        raise UsageError(f"--mode {opts.mode} needs image files; a tar source can only be copied")
    where = ", ".join(request.sources)
    try:
        chosen = select(request.selection, {k: v.classes() for k, v in splits.items()}, where=where)
    except NotFoundError as exc:
        # What is wrong with a source (a cut-off tar) often explains a missing class.
        problems = [p for source in sources for p in source.problems]
        raise NotFoundError("\n".join([*problems, str(exc)])) from None
    per_class = {"train": request.per_class, "val": request.val_per_class}
    plan = make_plan(
        splits, chosen.wnids, per_class=per_class, seed=request.selection.seed, options=opts
    )
    problems = [p for source in sources for p in source.problems]
    problems += [p for split in splits.values() for p in split.problems] + plan.problems
    notes = [n for source in sources for n in source.notes] + chosen.notes + plan.notes
    notes += [f"{w}: not in the {s} split of the source; skipped" for w, s in chosen.missing]
    notes += _unused_sources(sources, splits)
    notes += _unused_options(request, splits)
    plan = _drop_empty_classes(plan, request.selection, where, problems, notes)
    summary = Summary(request.dst, [s.layout for s in sources], plan, request.dry_run)
    summary.index_built = any(s.index_built for s in sources)
    summary.problems.extend(problems)
    summary.notes.extend(notes)
    if request.dry_run:
        summary.seconds = time.perf_counter() - started
        return summary
    with _writing(Path(request.dst)), session(request.scheduler) as cluster:
        _run(request, summary, plan, plan.wnids, splits, cluster, progress)
    summary.seconds = time.perf_counter() - started
    return summary


def _drop_empty_classes(
    plan: Plan, selection: Selection, where: str, problems: list[str], notes: list[str]
) -> Plan:
    """``plan`` without the classes a split has no image of, which count as missing: an
    empty class folder makes ImageFolder loaders fail, and a class must be in every split
    for the class indices to agree. Named classes stop the run unless ``allow_missing``."""
    empty = [(c.wnid, c.split) for c in plan.classes if c.available == 0]
    if not empty:
        return plan
    shown = ", ".join(f"{w} ({s})" for w, s in empty[:8])
    shown += f" and {len(empty) - 8} more" if len(empty) > 8 else ""
    named = selection.wnids or selection.wnid_files or selection.presets
    if named and not selection.allow_missing:
        raise NotFoundError(
            "\n".join(
                [
                    *problems,
                    f"{where}: {len(empty)} selected class(es) have no images: {shown} "
                    "(--allow-missing skips them)",
                ]
            )
        )
    notes.append(f"{len(empty)} class(es) have no images in the source; skipped: {shown}")
    gone = {w for w, _ in empty}
    if gone >= set(plan.wnids):
        raise NotFoundError("\n".join([*problems, f"no class of {where} has images"]))
    return Plan(
        [w for w in plan.wnids if w not in gone],
        [i for i in plan.items if i.wnid not in gone],
        [c for c in plan.classes if c.wnid not in gone],
        plan.problems,
        plan.notes,
    )


def _run(
    request: Request,
    summary: Summary,
    plan: Plan,
    wnids: list[str],
    splits: dict[str, Split],
    cluster: Cluster | None,
    progress: Progress | None,
) -> None:
    opts = request.options
    dst = Path(request.dst)
    try:
        _guard_settings(dst, opts)
        fresh: set[tuple[str, str]] = set()
        for cls in plan.classes:
            try:
                (dst / cls.split / cls.wnid).mkdir(parents=True)
                fresh.add((cls.split, cls.wnid))
            except FileExistsError:
                pass
    except OSError as exc:
        raise UsageError(f"--to {dst}: cannot write there ({exc.strerror or exc})") from None
    summary.notes.extend(_stray_classes(dst, splits, wnids))
    summary.notes.extend(_stray_images(dst, plan, fresh))
    with contextlib.suppress(OSError), os.scandir(dst) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                remove_stale_temp(entry.path)
    known = _previous_manifest(dst)
    jobs = _jobs(plan.items, dst, opts, known, request.bbox, fresh)
    if request.bbox is not None and not os.path.isdir(request.bbox):
        summary.problems.extend(unpack_annotations(request.bbox, jobs))
    workers = resolve_workers(request.workers)
    if opts.resize is None and opts.mode != "copy" and not request.workers:
        # A link is a few system calls: threads would spend more on handing the
        # interpreter lock to one another than they save (measured 1.2-1.5x slower).
        workers = 1
    names = _class_names(wnids)
    total = len(jobs)
    if progress:
        progress(0, total, "")
    pending = 0
    with _ManifestWriter(dst / "manifest.csv") as manifest:
        for result in run_jobs(
            jobs,
            workers,
            cpu_bound=opts.resize is not None,
            scheduler=cluster,
            batch_size=request.batch_size,
        ):
            if result.status == "stopped":
                # A full disk: the images written so far stay, and the next run,
                # which skips them, does the rest.
                raise StorageError(result.error)
            if result.status == "failed":
                summary.failed += 1
                summary.failures.append(result)
            else:
                manifest.add(result)
                if result.bbox_error:
                    summary.problems.append(result.bbox_error)
                if result.status == "written":
                    summary.written += 1
                    summary.bytes_written += result.bytes
                else:
                    summary.skipped += 1
                summary.bbox += result.bbox
            pending += 1
            if progress and pending == 16:
                progress(pending, None, "")
                pending = 0
    if progress and pending:
        progress(pending, None, "")
    if request.bbox is not None and not summary.bbox and summary.written + summary.skipped:
        summary.notes.append(
            f"--bbox {request.bbox}: no annotation matches any image of this subset "
            "(not every image has one, but none at all suggests another folder)"
        )
    try:
        _write_classes(dst / "classes.tsv", wnids, names)
    except OSError as exc:
        raise UsageError(f"{dst}: cannot write classes.tsv ({exc.strerror or exc})") from None


def _check_options(request: Request) -> None:
    opts = request.options
    if not request.sources:
        raise UsageError("--from SRC is required")
    if opts.mode not in MODES:
        raise UsageError(f"--mode {opts.mode}: choose from {', '.join(MODES)}")
    if opts.resize is not None:
        if opts.mode != "copy":
            raise UsageError(f"--resize writes new images; it does not go with --mode {opts.mode}")
        if opts.resize < 1:
            raise UsageError("--resize takes a positive size in pixels")
    if opts.resize_mode not in imaging.RESIZE_MODES:
        raise UsageError(
            f"--resize-mode {opts.resize_mode}: choose from {', '.join(imaging.RESIZE_MODES)}"
        )
    if not 1 <= opts.quality <= 100:
        raise UsageError("--quality takes 1-100")
    for name, value in (
        ("--per-class", request.per_class),
        ("--val-per-class", request.val_per_class),
    ):
        if value is not None and value < 1:
            raise UsageError(f"{name} takes a positive count")
    if request.bbox is not None and not Path(request.bbox).is_dir():
        if not Path(request.bbox).exists():
            raise NotFoundError(f"--bbox {request.bbox}: no such file or folder")
        if not Path(request.bbox).is_file():
            raise UsageError(
                f"--bbox {request.bbox}: give a folder or a tar archive of annotations"
            )
    for option, given in (
        ("--val-labels", request.val_labels),
        ("--devkit-synsets", request.devkit_synsets),
    ):
        if given is not None and not Path(given).exists():
            raise NotFoundError(f"{option} {given}: no such file or folder")
    dst = Path(request.dst)
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"--to {request.dst}: exists and is not a folder")
    for src in request.sources:
        if Path(src).resolve() == dst.resolve():
            raise UsageError("--to must differ from --from")


def _check_overlap(dst: Path, sources: list[Source]) -> None:
    """Refuse a target whose split folders would be (or hold) a source's folders: its
    images would count as already written, and new names would land among them."""
    for source in sources:
        for split in source.splits.values():
            if not isinstance(split, ClassFolders | LabelledFolder):
                continue
            root = split.root.resolve()
            for name in SPLITS:
                out = (dst / name).resolve()
                if root == out or out in root.parents:
                    raise UsageError(
                        f"--to {dst}: its {name} folder would be the source folder "
                        f"{split.root} (or hold it); choose another --to"
                    )


def _index_progress(progress: Progress | None) -> Progress | None:
    if progress is None:
        return None
    seen = [0]

    def report(advance: int, total: int | None, text: str) -> None:
        seen[0] += advance
        share = f" {100 * seen[0] // total}%" if total else ""
        progress(0, None, f"{text}{share}")

    return report


def _splits(sources: list[Source], wanted: str | None) -> dict[str, Split]:
    have: dict[str, Split] = {}
    for source in sources:
        for name, split in source.splits.items():
            if name in have:
                raise UsageError(f"two sources hold the {name} split; give one --from per split")
            have[name] = split
    if wanted is None:
        wanted = "train" if "train" in have else "val"
    names = list(SPLITS) if wanted == "both" else [wanted]
    if wanted not in ("train", "val", "both"):
        raise UsageError(f"--split {wanted}: choose from train, val, both")
    lacking = [n for n in names if n not in have]
    if lacking:
        held = ", ".join(have) or "nothing"
        raise NotFoundError(f"the source has no {' or '.join(lacking)} split (it holds: {held})")
    return {n: have[n] for n in names}


def _unused_sources(sources: list[Source], splits: dict[str, Split]) -> list[str]:
    """A warning for each ``--from`` that holds none of the splits taken."""
    taken = " and ".join(splits)
    return [
        f"--from {source.location}: holds the {' and '.join(source.splits)} split, "
        f"not the {taken} split taken; not used (--split both takes train and val)"
        for source in sources
        if not set(source.splits) & set(splits)
    ]


def _unused_options(request: Request, splits: dict[str, Split]) -> list[str]:
    """A warning for each option given for a split that is not taken."""
    given = [
        ("--per-class", request.per_class, "train", " (--val-per-class samples val)"),
        ("--val-per-class", request.val_per_class, "val", ""),
        ("--val-labels", request.val_labels, "val", ""),
        ("--devkit-synsets", request.devkit_synsets, "val", ""),
    ]
    return [
        f"{option} applies to the {split} split, which this run does not take; not used{hint}"
        for option, value, split, hint in given
        if value is not None and split not in splits
    ]


@contextlib.contextmanager
def _writing(dst: Path) -> Iterator[None]:
    """Hold ``dst`` for this run: a second run into it at once is refused, so two runs
    never mix their images or race past each other's settings check."""
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(file_lock(dst / LOCK_FILE, timeout=2))
        except LockBusy:
            raise UsageError(
                f"--to {dst}: another 'imagenet subset extract' is writing into this folder"
            ) from None
        except OSError as exc:  # taking the lock, not the run's own errors
            raise UsageError(f"--to {dst}: cannot write there ({exc.strerror or exc})") from None
        yield


def _guard_settings(dst: Path, opts: Options) -> None:
    """Refuse to mix images written with other settings in one folder."""
    path = dst / SETTINGS_FILE
    wanted = opts.settings()
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        previous = None
    except ValueError:
        raise UsageError(
            f"{path} is damaged, so the settings {dst} was written with are unknown; "
            f"use a new folder or remove {path}"
        ) from None
    if previous is not None and _decisive(previous) != _decisive(wanted):
        was = ", ".join(f"{k}={v}" for k, v in sorted(previous.items()))
        raise UsageError(
            f"{dst} was written with other settings ({was}); use a new folder or remove {path}"
        )
    if previous is None:
        dst.mkdir(parents=True, exist_ok=True)
        write_atomic(str(path), (json.dumps(wanted, sort_keys=True) + "\n").encode())


def _decisive(settings: dict[str, object]) -> dict[str, object]:
    """The settings that decide the bytes: without a resize, quality and resize mode
    change nothing."""
    if settings.get("resize") is None:
        return {k: v for k, v in settings.items() if k not in ("resize_mode", "quality")}
    return settings


def _stray_classes(dst: Path, splits: dict[str, Split], wnids: list[str]) -> list[str]:
    keep = set(wnids)
    notes = []
    for split in splits:
        folder = dst / split
        if folder.is_dir():
            extra = sorted(n for n in os.listdir(folder) if is_wnid(n) and n not in keep)
            if extra:
                notes.append(
                    f"{folder} also holds {len(extra)} class folder(s) not in this subset "
                    f"(e.g. {extra[0]}); they are left as they are"
                )
    return notes


def _stray_images(dst: Path, plan: Plan, fresh: set[tuple[str, str]]) -> list[str]:
    """A warning for images in this run's class folders that it does not write (an
    earlier run with another sample?): loaders would train on them too. Temporary
    files a killed run left on this machine are removed on the way."""
    planned: dict[tuple[str, str], set[str]] = {
        (c.split, c.wnid): set() for c in plan.classes if (c.split, c.wnid) not in fresh
    }
    if not planned:  # a first run: every class folder is new
        return []
    for item in plan.items:
        names = planned.get((item.split, item.wnid))
        if names is not None:
            names.add(item.rel.rsplit("/", 1)[1])
    stray, example = 0, ""
    for (split, wnid), names in planned.items():
        folder = dst / split / wnid
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                remove_stale_temp(entry.path)
            elif entry.name not in names:
                stray += 1
                example = example or entry.path
    if not stray:
        return []
    return [
        f"{stray:,} file(s) in the class folders of {dst} are not part of this subset "
        f"(e.g. {printable(example)}; an earlier run's sample?); they are left as they are"
    ]


def _previous_manifest(dst: Path) -> dict[str, tuple[int, int, int]]:
    known: dict[str, tuple[int, int, int]] = {}
    try:
        with open(dst / "manifest.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    known[row["path"]] = (int(row["bytes"]), int(row["width"]), int(row["height"]))
                except (KeyError, TypeError, ValueError):
                    continue
    except (FileNotFoundError, csv.Error, UnicodeDecodeError):
        pass
    return known


def _jobs(
    items: Iterable[WorkItem],
    dst: Path,
    opts: Options,
    known: dict[str, tuple[int, int, int]],
    bbox: str | None,
    fresh: set[tuple[str, str]],
) -> list[Job]:
    root = str(dst.resolve())
    folder = bool(bbox) and os.path.isdir(str(bbox))
    bases = _bbox_bases(Path(str(bbox))) if folder else {}
    jobs = []
    for item in items:
        candidates: tuple[str, ...] = ()
        bbox_dest = ""
        if bbox:
            stem = item.src.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            bbox_dest = f"{root}/bbox/{item.split}/{item.wnid}/{stem}.xml"
            if folder:
                base = bases[item.split]
                candidates = (f"{base}/{item.wnid}/{stem}.xml", f"{base}/{stem}.xml")
            else:  # unpacked from the archive before the images, or not there
                candidates = (bbox_dest,)
        new = (item.split, item.wnid) in fresh
        jobs.append(
            Job(item, f"{root}/{item.rel}", opts, known.get(item.rel), candidates, bbox_dest, new)
        )
    return jobs


def unpack_annotations(archive: str, jobs: list[Job]) -> list[str]:
    """Write the annotations of ``jobs`` found in a tar archive (``.tar``, ``.tar.gz``,
    nested per-class archives too) to their places under the target folder, matched
    by image name; the archive's problems (refused members, damage) come back."""
    from ..bbox.inputs import archive_items

    wanted = {j.bbox_dest.rsplit("/", 1)[1][: -len(".xml")]: j.bbox_dest for j in jobs}
    if not wanted:
        return []

    def stem(name: str) -> str:
        return name.rsplit("/", 1)[-1][: -len(".xml")]

    problems = []
    try:
        with open(archive, "rb") as fh:
            for item in archive_items(fh, archive, MAX_BBOX_XML, lambda n: stem(n) in wanted):
                if item.data is None:
                    problems.append(f"{item.source}: {item.problem}")
                    continue
                dest = wanted[stem(item.source.rsplit("!", 1)[-1])]
                if not os.path.exists(dest):
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    write_atomic(dest, item.data)
    except OSError as exc:
        problems.append(f"{archive}: cannot read: {exc.strerror or exc}")
    return problems


def _bbox_bases(root: Path) -> dict[str, str]:
    """Per split, the folder holding its annotations (official, Kaggle or split folders)."""
    bases = {}
    for split in SPLITS:
        for candidate in (
            root / "ILSVRC" / "Annotations" / "CLS-LOC" / split,
            root / "Annotations" / "CLS-LOC" / split,
            root / split,
            root / "Annotation",  # ImageNet's own bbox archives unpack to Annotation/<wnid>/
            root,
        ):
            if candidate.is_dir():
                bases[split] = str(candidate.resolve())
                break
    return bases


def _class_names(wnids: list[str]) -> dict[str, str]:
    h = Hierarchy.default()
    names = {}
    for wnid in wnids:
        try:
            names[wnid] = h.get(wnid).label
        except NotFoundError:
            names[wnid] = ""
    return names


def _write_classes(path: Path, wnids: list[str], names: dict[str, str]) -> None:
    lines = ["index\twnid\tname"] + [
        f"{i}\t{w}\t{names.get(w, '')}" for i, w in enumerate(sorted(wnids))
    ]
    write_atomic(str(path), ("\n".join(lines) + "\n").encode())


class _ManifestWriter:
    """``manifest.csv`` written row by row to a temporary file, renamed on success."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = Path(temp_name(str(path)))

    def __enter__(self) -> _ManifestWriter:
        try:
            self.fh = open(self.tmp, "w", encoding="utf-8", newline="")
        except OSError as exc:
            where = self.path.parent
            raise UsageError(f"--to {where}: cannot write there ({exc.strerror or exc})") from None
        self.writer = csv.writer(self.fh, lineterminator="\n")
        self.writer.writerow(MANIFEST_COLUMNS)
        return self

    def add(self, r: ItemResult) -> None:
        try:
            self.writer.writerow((r.split, r.wnid, r.source, r.path, r.bytes, r.width, r.height))
        except OSError as exc:
            raise storage_error(self.path, exc) from None

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            self.fh.close()
            if kind is None:
                os.replace(self.tmp, self.path)
                return
        except OSError as err:
            self.tmp.unlink(missing_ok=True)
            if kind is None:  # else the run's own error says more
                raise storage_error(self.path, err) from None
        self.tmp.unlink(missing_ok=True)
