"""Bodies of the ``imagenet subset`` commands, free of Typer so the fast path can run them.

Each takes the parsed options and returns the exit code.
"""

from __future__ import annotations

from .output import Format, emit_rows, messages, progress


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
    from ..request import from_options
    from ..subset.extract import extract as run_extract
    from ..subset.request import ExtractRequest
    from .subset_render import show_summary

    request = from_options(ExtractRequest, locals()).request()
    messages.quiet = quiet
    with progress("extracting", quiet=quiet or dry_run) as bar:
        summary = run_extract(request, bar)
    return show_summary(summary, fmt, no_header, with_bbox=bool(request.bbox))


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
