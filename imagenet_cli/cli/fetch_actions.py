"""Body of ``imagenet fetch``, free of Typer so the fast path can run it.

It takes the parsed options, hands them to the core as one
:class:`~imagenet_cli.fetch.request.FetchRequest` and returns the exit code.
"""

from __future__ import annotations

from .output import Format, messages


def fetch(
    *,
    wnid: list[str] | None = None,
    wnids: str | None = None,
    recursive: bool = False,
    release: str | None = None,
    urls_only: bool = False,
    out: str = "imagenet-images",
    limit: int | None = None,
    concurrency: int | None = None,
    per_host: int | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    backoff: float = 0.5,
    max_bytes: int | None = None,
    min_side: int | None = None,
    resize: int | None = None,
    image_format: str = "jpeg",
    manifest: str | None = None,
    base_url: str | None = None,
    url_list: str | None = None,
    refresh: bool = False,
    offline: bool = False,
    retry_failed: bool = False,
    ignore_robots_tag: bool = False,
    original: bool = False,
    strict: bool = False,
    workers: int = 0,
    scheduler: str | None = None,
    batch_size: int | None = None,
    fmt: Format | str | None = None,
    no_header: bool = False,
    quiet: bool = False,
    verbose: bool = False,
    accept_terms: bool = False,
    name: str | None = None,
    email: str | None = None,
    organization: str | None = None,
) -> int:
    """``imagenet fetch``."""
    from ..fetch.request import FetchRequest, run_fetch
    from ..request import from_options
    from .fetch_render import FetchView, show

    request = from_options(FetchRequest, locals())
    view = FetchView(quiet, verbose)
    previous = messages.quiet
    try:
        summary = run_fetch(request, view)
        return show(summary, view, fmt, no_header, strict)
    finally:
        messages.quiet = previous
