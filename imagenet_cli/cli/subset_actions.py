"""Bodies of the ``imagenet subset`` commands, free of Typer so the fast path can run them.

Each takes the parsed options and returns the exit code.
"""

from __future__ import annotations

from .output import Format, Outcome, counted, emit_rows, messages, progress


def extract(
    *,
    sources: list[str] | None,
    dst: str | None,
    layout: str | None = None,
    val_labels: str | None = None,
    devkit_synsets: str | None = None,
    wnid: list[str] | None = None,
    wnids: list[str] | None = None,
    preset: list[str] | None = None,
    under: list[str] | None = None,
    classes: int | None = None,
    release: str | None = None,
    allow_missing: bool = False,
    split: str | None = None,
    per_class: int | None = None,
    val_per_class: int | None = None,
    seed: int = 0,
    resize: int | None = None,
    resize_mode: str = "shorter",
    quality: int = 90,
    mode: str = "copy",
    bbox: str | None = None,
    workers: int = 0,
    scheduler: str | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    fmt: Format | str | None = None,
    no_header: bool = False,
    quiet: bool = False,
) -> int:
    """``imagenet subset extract``."""
    from ..drivers import resolve_scheduler
    from ..errors import UsageError
    from ..ids import expand_stdin, stdin_once
    from ..subset.extract import Request
    from ..subset.extract import extract as run_extract
    from ..subset.plan import Options
    from ..subset.selection import Selection

    if not sources:
        raise UsageError("--from SRC is required")
    if not dst:
        raise UsageError("--to DST is required")
    stdin_once({"--wnid": wnid, "--wnids": wnids, "--under": under})
    request = Request(
        sources=tuple(sources),
        dst=dst,
        selection=Selection(
            wnids=tuple(expand_stdin(wnid or ())),
            wnid_files=tuple(wnids or ()),
            presets=tuple(preset or ()),
            under=tuple(expand_stdin(under or ())),
            classes=classes,
            release=release,
            seed=seed,
            allow_missing=allow_missing,
        ),
        layout=layout,
        split=split,
        per_class=per_class,
        val_per_class=val_per_class,
        options=Options(mode=mode, resize=resize, resize_mode=resize_mode, quality=quality),
        bbox=bbox,
        val_labels=val_labels,
        devkit_synsets=devkit_synsets,
        workers=workers,
        scheduler=None if dry_run else resolve_scheduler(scheduler),
        batch_size=batch_size,
        dry_run=dry_run,
    )
    messages.quiet = quiet
    with progress("extracting", quiet=quiet or dry_run) as bar:
        summary = run_extract(request, bar)
    outcome = Outcome()
    for note in summary.notes:
        messages.warn(note)
    for problem in summary.problems:
        outcome.fail(problem)
    plan = summary.plan
    splits = sorted({c.split for c in plan.classes}, key=("train", "val").index)
    per_split = ", ".join(
        f"{s} {sum(c.images for c in plan.classes if c.split == s):,}" for s in splits
    )
    if summary.dry_run:
        emit_rows(
            (
                {
                    "split": c.split,
                    "wnid": c.wnid,
                    "available": c.available,
                    "images": c.images,
                    "bytes": c.bytes,
                }
                for c in plan.classes
            ),
            ["split", "wnid", "available", "images", "bytes"],
            fmt,
            no_header=no_header,
        )
        messages.info(
            f"plan: {counted(len(plan.wnids), 'class', 'classes')}, "
            f"{counted(len(plan.items), 'image')} ({per_split}), "
            f"{plan.bytes / 1e6:,.1f} MB from {', '.join(summary.layouts)}; "
            "nothing written (--dry-run)"
        )
    else:
        for failure in summary.failures:
            outcome.fail(f"{failure.source}: {failure.error}")
        boxes = f", {summary.bbox:,} annotations" if request.bbox else ""
        # What the source refused (members that could escape, damage) failed too: counted.
        refused = f", {summary.refused:,} refused in the source" if summary.refused else ""
        messages.info(
            f"{counted(len(plan.wnids), 'class', 'classes')}, "
            f"{counted(len(plan.items), 'image')} ({per_split}) "
            f"in {summary.dst}: {summary.written:,} written, {summary.skipped:,} already there, "
            f"{summary.failed:,} failed{refused}{boxes}; "
            f"{summary.bytes_written / 1e6:,.1f} MB in {summary.seconds:.1f} s"
        )
    return int(outcome.code)


def presets(*, fmt: Format | str | None = None, no_header: bool = False) -> int:
    """``imagenet subset presets``."""
    from .. import releases

    emit_rows(
        (
            {"name": c.name, "kind": c.kind, "count": c.count, "title": c.title, "source": c.source}
            for c in releases.catalog().values()
        ),
        ["name", "kind", "count", "title", "source"],
        fmt,
        no_header=no_header,
        id_key="name",  # what 'imagenet subset show' takes
    )
    return 0


def show(*, name: str, fmt: Format | str | None = None, no_header: bool = False) -> int:
    """``imagenet subset show PRESET``."""
    from ..subset.presets import preset_rows

    emit_rows(preset_rows(name), ["wnid", "index", "name"], fmt, no_header=no_header, title=name)
    return 0
