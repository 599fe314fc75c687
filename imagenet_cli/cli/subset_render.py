"""What ``imagenet subset extract`` shows: its notes, failures and closing line, or
with --dry-run the plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .output import Format, Outcome, counted, emit_rows, messages

if TYPE_CHECKING:
    from ..subset.extract import Summary
    from ..subset.plan import Plan

PLAN_COLUMNS = ["split", "wnid", "available", "images", "bytes"]


def show_summary(
    summary: Summary, fmt: Format | str | None, no_header: bool, *, with_bbox: bool
) -> int:
    """Render ``summary`` on stderr (the plan's rows on stdout, dry); the exit code."""
    outcome = Outcome()
    for note in summary.notes:
        messages.warn(note)
    for problem in summary.problems:
        outcome.fail(problem)
    plan = summary.plan
    per_split = _per_split(plan)
    if summary.dry_run:
        rows = ({c: getattr(k, c) for c in PLAN_COLUMNS} for k in plan.classes)
        emit_rows(rows, PLAN_COLUMNS, fmt, no_header=no_header)
        messages.info(
            f"plan: {counted(len(plan.wnids), 'class', 'classes')}, "
            f"{counted(len(plan.items), 'image')} ({per_split}), "
            f"{plan.bytes / 1e6:,.1f} MB from {', '.join(summary.layouts)}; "
            "nothing written (--dry-run)"
        )
        return int(outcome.code)
    for failure in summary.failures:
        outcome.fail(f"{failure.source}: {failure.error}")
    boxes = f", {summary.bbox:,} annotations" if with_bbox else ""
    # What the source refused (members that could escape, damage) failed too: counted.
    refused = f", {summary.refused:,} refused in the source" if summary.refused else ""
    sharded = f" ({counted(summary.shards, 'shard')})" if summary.shards else ""
    messages.info(
        f"{counted(len(plan.wnids), 'class', 'classes')}, "
        f"{counted(len(plan.items), 'image')} ({per_split}) "
        f"in {summary.dst}{sharded}: {summary.written:,} written, "
        f"{summary.skipped:,} already there, "
        f"{summary.failed:,} failed{refused}{boxes}; "
        f"{summary.bytes_written / 1e6:,.1f} MB in {summary.seconds:.1f} s"
    )
    return int(outcome.code)


def _per_split(plan: Plan) -> str:
    splits = sorted({c.split for c in plan.classes}, key=("train", "val").index)
    return ", ".join(f"{s} {sum(c.images for c in plan.classes if c.split == s):,}" for s in splits)
