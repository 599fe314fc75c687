"""``imagenet fetch``, ``imagenet login`` and ``imagenet logout``.

The body of ``fetch`` lives in ``fetch_actions`` (Typer-free, shared with the fast
path); this module declares its options.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from ..config import minimum
from ..errors import UsageError
from . import fetch_actions as act
from .cluster_opts import SchedulerOpt, batch_size_opt
from .common import (
    BaseUrlOpt,
    FormatOpt,
    NoHeaderOpt,
    OfflineOpt,
    QuietOpt,
    RecursiveReleaseOpt,
    VerboseOpt,
    WorkersOpt,
)
from .output import messages
from .terms import AcceptTermsOpt, EmailOpt, NameOpt, OrgOpt

FAILED_HELP = "exit 1 if any URL failed (default: exit 0 once the run completed)"


def fetch(
    wnid: Annotated[
        list[str] | None,
        typer.Option(
            "--wnid",
            help="A synset to fetch (wnid, offset, nltk name; repeatable; '-' reads stdin).",
            show_default=False,
        ),
    ] = None,
    wnids: Annotated[
        str | None,
        typer.Option(
            "--wnids", help="A file of synset ids, one per line ('-': stdin).", show_default=False
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Also every synset below each one.")
    ] = False,
    release: RecursiveReleaseOpt = None,
    urls_only: Annotated[
        bool,
        typer.Option("--urls-only", help="Print the image list (wnid, image_id, url) and stop."),
    ] = False,
    out: Annotated[
        str, typer.Option("--out", help="Folder for DIR/<wnid>/<image_id>.<ext> and the manifest.")
    ] = "imagenet-images",
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="At most the first N images of each synset's list.", min=1),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            help="Downloads in flight at once [config fetch.concurrency: 64].",
            min=minimum("fetch.concurrency"),
            show_default=False,
        ),
    ] = None,
    per_host: Annotated[
        int | None,
        typer.Option(
            "--per-host",
            help="Downloads in flight per host [config fetch.per_host: 8].",
            min=minimum("fetch.per_host"),
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds one request may take [config fetch.timeout: 30].",
            min=minimum("fetch.timeout"),
            show_default=False,
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            "--retries",
            help="Retries on connect errors, 5xx and 429 [config fetch.retries: 3].",
            min=minimum("fetch.retries"),
            show_default=False,
        ),
    ] = None,
    backoff: Annotated[
        float,
        typer.Option(
            "--backoff",
            help="First retry wait in seconds; doubles each time, with jitter.",
            min=0.0,
        ),
    ] = 0.5,
    max_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-bytes",
            help="Largest image accepted [config fetch.max_bytes: 50000000].",
            min=minimum("fetch.max_bytes"),
            show_default=False,
        ),
    ] = None,
    min_side: Annotated[
        int | None,
        typer.Option(
            "--min-side",
            help="Refuse images whose shorter side is smaller [config fetch.min_side: 0].",
            min=minimum("fetch.min_side"),
            show_default=False,
        ),
    ] = None,
    resize: Annotated[
        int | None,
        typer.Option(
            "--resize", help="Scale down to this shorter side.", min=1, show_default=False
        ),
    ] = None,
    image_format: Annotated[
        str,
        typer.Option(
            "--image-format",
            help="jpeg: write JPEG (original bytes when they fit); keep: the source format.",
        ),
    ] = "jpeg",
    manifest: Annotated[
        str | None,
        typer.Option(
            "--manifest",
            help="Manifest path (.csv or .jsonl) [default: OUT/manifest.jsonl].",
            show_default=False,
        ),
    ] = None,
    base_url: BaseUrlOpt = None,
    url_list: Annotated[
        str | None,
        typer.Option(
            "--url-list",
            help="Image lists from this fall11-style list (path or URL), indexed on first use.",
            show_default=False,
        ),
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch image lists again even when cached.")
    ] = False,
    offline: OfflineOpt = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="On resume, also redo URLs that failed for passing reasons (timeouts, 5xx).",
        ),
    ] = False,
    ignore_robots_tag: Annotated[
        bool,
        typer.Option(
            "--ignore-robots-tag",
            help="Keep images whose X-Robots-Tag says noai, noimageai, noindex or noimageindex "
            "(default: refused, status robots_disallowed) [config fetch.ignore_robots_tag].",
        ),
    ] = False,
    original: Annotated[
        bool,
        typer.Option(
            "--original",
            help="Original images through ImageNet's download endpoint (needs 'imagenet login'); "
            "always on this machine, even with --scheduler: the access key never goes to workers.",
        ),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help=FAILED_HELP.capitalize() + ".")] = False,
    workers: WorkersOpt = 0,
    scheduler: SchedulerOpt = None,
    batch_size: Annotated[int | None, batch_size_opt("64")] = None,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    accept_terms: AcceptTermsOpt = False,
    name: NameOpt = None,
    email: EmailOpt = None,
    organization: OrgOpt = None,
) -> None:
    """Download synsets' images into an ImageFolder tree, with a manifest; resumable.

    Every URL gets one manifest row (status ok, http_404, timeout, not_image,
    placeholder, too_small, robots_disallowed, ...). Run the same command again to
    finish an interrupted run. Needs ImageNet's terms of access accepted.

    Image lists: ImageNet's own list API (image-net.org/api) was retired. Index a
    fall11-style URL list once with 'imagenet urls index FILE|URL' and fetch finds
    each synset's list in it; or pass --url-list FILE|URL; or point --base-url at a
    mirror that still serves the API. A base URL that serves no lists stops the run
    at its first list (exit 1).

    Example: imagenet urls index fall11_urls.txt.gz

    Example: imagenet fetch --wnid n01440764 --limit 100 --out images

    Example: imagenet fetch --wnid n01440764 --url-list fall11_urls.txt.gz --out images

    With --scheduler the downloads run on a Dask cluster whose workers all see OUT
    (a shared file system); --concurrency and --per-host bound the whole cluster.

    Example: imagenet fetch --wnid dog.n.01 --recursive --release ilsvrc2012 --urls-only | head

    Example: imagenet fetch --wnid n01440764 --base-url https://mirror.example --out images

    Example: imagenet fetch --wnids classes.txt --out /shared/images --scheduler tcp://head:8786
    """
    _exit(act.fetch(**locals()))  # every option, by its name


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


def login(
    username: Annotated[
        str | None,
        typer.Option(
            "--username", help="ImageNet username [env IMAGENET_USERNAME].", show_default=False
        ),
    ] = None,
) -> None:
    """Store your ImageNet username and access key (file mode 0600; the key is never shown).

    The key is read from IMAGENET_ACCESS_KEY or asked for without echo.

    Example: imagenet login --username ada
    """
    from ..fetch import credentials

    user = username or os.environ.get(credentials.USER_ENV, "").strip()
    key = os.environ.get(credentials.KEY_ENV, "").strip()
    if not user:
        if not sys.stdin.isatty():
            raise UsageError(f"not on a terminal: pass --username or set {credentials.USER_ENV}")
        user = typer.prompt("ImageNet username", err=True)
    if not key:
        if not sys.stdin.isatty():
            raise UsageError(f"not on a terminal: set {credentials.KEY_ENV} to give the access key")
        key = typer.prompt("Access key", hide_input=True, err=True)
    path = credentials.save(user, key)
    messages.info(f"credentials for {user} stored in {path}")


def logout() -> None:
    """Remove the stored ImageNet credentials.

    Example: imagenet logout
    """
    from ..fetch import credentials

    if credentials.clear():
        messages.info("credentials removed")
    else:
        messages.info("no credentials were stored")
