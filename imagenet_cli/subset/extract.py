"""Extraction: source, selection, plan, driver and writer tied together.

:func:`extract` checks the options, opens the sources, selects the classes, plans the
images, then (unless dry) takes the target folder (:mod:`.dst`) and runs the item
function (:mod:`.items`) over the plan (:mod:`.run`), writing the manifest in plan
order.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..cache import remove_stale_temp
from ..drivers import session
from ..errors import NotFoundError, StorageError, UsageError
from ..shards import ShardOptions, require_pyarrow
from ..shards.classes import class_names, write_classes
from . import image_lists, imaging
from .dst import (
    ManifestWriter,
    guard_settings,
    make_jobs,
    previous_manifest,
    stray_classes,
    stray_images,
    unpack_annotations,
    writing,
)
from .items import ItemResult
from .plan import SPLITS, Options, Plan, make_plan
from .run import resolve_workers, run_jobs
from .selection import Selection, select
from .sources import ClassFolders, LabelledFolder, Source, Split, open_source

if TYPE_CHECKING:
    from ..drivers.cluster import Cluster

Progress = Callable[[int, int | None, str], None]

MODES = ("copy", "hardlink", "symlink")


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
    output: ShardOptions = field(default_factory=ShardOptions)  # folder, or shards
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
    shards: int = 0  # sharded output: the shards planned

    @property
    def refused(self) -> int:
        """Members or files of the source refused or unreadable (each one of :attr:`problems`)."""
        return len(self.problems)


def extract(request: Request, progress: Progress | None = None) -> Summary:
    """Carve the requested subset out of the source(s) into ``request.dst``."""
    started = time.perf_counter()
    _check_options(request)
    selection = request.selection
    listing = image_lists.read(selection.images, selection.presets)  # before any tar is read
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
    listed_split = listing.default_split() if listing else None
    splits = _splits(sources, request.split or listed_split)
    if listing is not None:
        listing.check_splits(splits)
        listing.resolve(splits.get("val"), request.val_labels, request.devkit_synsets)
        splits = listing.restrict(splits)
    opts = request.options
    if opts.mode != "copy" and any(not s.on_disk for s in splits.values()):
        raise UsageError(
            f"--mode {opts.mode} needs image files; a shard or tar source can only be copied"
        )
    where = ", ".join(request.sources)
    try:
        chosen = select(
            selection,
            {k: v.classes() for k, v in splits.items()},
            where=where,
            within=listing.classes(splits) if listing else None,
        )
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
    if listing is not None:
        notes += listing.check(
            splits,
            chosen.wnids,
            where=where,
            allow_missing=selection.allow_missing,
            problems=problems,
        )
    plan = _drop_empty_classes(plan, selection, where, problems, notes)
    summary = Summary(request.dst, [s.layout for s in sources], plan, request.dry_run)
    summary.index_built = any(s.index_built for s in sources)
    summary.problems.extend(problems)
    summary.notes.extend(notes)
    if request.dry_run:
        summary.seconds = time.perf_counter() - started
        return summary
    with writing(Path(request.dst)), session(request.scheduler) as cluster:
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
    named = selection.wnids or selection.wnid_files or selection.presets or selection.images
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
    if request.output.sharded:
        _run_sharded(request, summary, plan, wnids, cluster, progress)
        return
    try:
        guard_settings(dst, opts)
        fresh: set[tuple[str, str]] = set()
        for cls in plan.classes:
            try:
                (dst / cls.split / cls.wnid).mkdir(parents=True)
                fresh.add((cls.split, cls.wnid))
            except FileExistsError:
                pass
    except OSError as exc:
        raise UsageError(f"--to {dst}: cannot write there ({exc.strerror or exc})") from None
    summary.notes.extend(stray_classes(dst, splits, wnids))
    summary.notes.extend(stray_images(dst, plan, fresh))
    with contextlib.suppress(OSError), os.scandir(dst) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                remove_stale_temp(entry.path)
    known = previous_manifest(dst)
    jobs = make_jobs(plan.items, dst, opts, known, request.bbox, fresh)
    if request.bbox is not None and not os.path.isdir(request.bbox):
        summary.problems.extend(unpack_annotations(request.bbox, jobs))
    workers = resolve_workers(request.workers)
    if opts.resize is None and opts.mode != "copy" and not request.workers:
        # A link is a few system calls: threads would spend more on handing the
        # interpreter lock to one another than they save (measured 1.2-1.5x slower).
        workers = 1
    names = class_names(wnids)
    total = len(jobs)
    if progress:
        progress(0, total, "")
    pending = 0
    with ManifestWriter(dst / "manifest.csv") as manifest:
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
        write_classes(dst / "classes.tsv", wnids, names)
    except OSError as exc:
        raise UsageError(f"{dst}: cannot write classes.tsv ({exc.strerror or exc})") from None


def _run_sharded(
    request: Request,
    summary: Summary,
    plan: Plan,
    wnids: list[str],
    cluster: Cluster | None,
    progress: Progress | None,
) -> None:
    """The subset written as shards (see :mod:`.shards`), with its manifest, its
    ``classes.tsv`` and, for WebDataset, each split's shard list."""
    from . import shards

    opts, out, dst = request.options, request.output, Path(request.dst)
    try:
        guard_settings(dst, opts, out.settings())
    except OSError as exc:
        raise UsageError(f"--to {dst}: cannot write there ({exc.strerror or exc})") from None
    names = class_names(wnids)
    tasks = shards.plan_shards(plan, dst, opts, out, request.selection.seed, names)
    summary.shards = len(tasks)
    summary.notes.extend(shards.stray_shards(tasks))
    done = []
    with ManifestWriter(dst / "manifest.csv", shards=True) as manifest:
        for shard in shards.write_all(
            tasks,
            dst,
            opts.settings() | out.settings(),
            workers=resolve_workers(request.workers),
            cpu_bound=opts.resize is not None,
            cluster=cluster,
            batch_size=request.batch_size,
            progress=progress,
        ):
            done.append(shard)
            for result in shard.results:
                if result.status == "failed":
                    summary.failed += 1
                    summary.failures.append(result)
                    continue
                manifest.add(result)
                if shard.kept:
                    summary.skipped += 1
                else:
                    summary.written += 1
            if not shard.kept and shard.bytes > 0:
                summary.bytes_written += shard.bytes
    if out.format == "webdataset":
        shards.write_lists(dst, done, tasks, out.prefix)
    try:
        write_classes(dst / "classes.tsv", wnids, names)
    except OSError as exc:
        raise UsageError(f"{dst}: cannot write classes.tsv ({exc.strerror or exc})") from None


def _check_options(request: Request) -> None:
    opts = request.options
    if not request.sources:
        raise UsageError("--from SRC is required")
    out = request.output
    out.check()
    if out.sharded:
        if opts.mode != "copy":
            raise UsageError(
                f"--output-format {out.format} writes the images' bytes into shards; "
                f"it does not go with --mode {opts.mode}"
            )
        if request.bbox is not None:
            raise UsageError("--bbox writes annotation files; use --output-format folder")
        if out.format == "parquet":
            require_pyarrow()
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
