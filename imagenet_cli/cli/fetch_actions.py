"""``imagenet fetch``: its options, declared with ``cli.params``, and its body, free of
Typer so the fast path can run ``fetch --urls-only``. It takes the parsed options,
hands them to the core as one :class:`~imagenet_cli.fetch.request.FetchRequest` and
returns the exit code."""

from __future__ import annotations

from typing import Annotated

from .common import (
    AcceptTermsOpt,
    BaseUrlOpt,
    EmailOpt,
    FormatOpt,
    NameOpt,
    NoHeaderOpt,
    OfflineOpt,
    OrgOpt,
    OutputFormat,
    OutputFormatOpt,
    QuietOpt,
    RecursiveReleaseOpt,
    SamplesPerShardOpt,
    SchedulerOpt,
    SeedOpt,
    ShardPrefixOpt,
    ShardSizeOpt,
    VerboseOpt,
    WorkersOpt,
    batch_size_opt,
)
from .output import messages
from .params import Opt

FAILED_HELP = "exit 1 if any URL failed (default: exit 0 once the run completed)"


def fetch(
    wnid: Annotated[
        list[str] | None,
        Opt(
            "--wnid",
            help="A synset to fetch (wnid, offset, nltk name; repeatable; '-' reads stdin).",
            show_default=False,
        ),
    ] = None,
    wnids: Annotated[
        str | None,
        Opt(
            "--wnids",
            metavar="FILE",
            help="A file of synset ids, one per line ('-': stdin).",
            show_default=False,
        ),
    ] = None,
    recursive: Annotated[
        bool, Opt("--recursive", help="Also every synset below each one.")
    ] = False,
    release: RecursiveReleaseOpt = None,
    urls_only: Annotated[
        bool,
        Opt("--urls-only", help="Print the image list (wnid, image_id, url) and stop."),
    ] = False,
    out: Annotated[
        str,
        Opt(
            "--out", metavar="DIR", help="Folder for DIR/<wnid>/<image_id>.<ext> and the manifest."
        ),
    ] = "imagenet-images",
    limit: Annotated[
        int | None,
        Opt("--limit", help="At most the first N images of each synset's list.", min=1),
    ] = None,
    concurrency: Annotated[
        int | None,
        Opt(
            "--concurrency",
            help="Downloads in flight at once [config fetch.concurrency: 64].",
            min_of="fetch.concurrency",
            show_default=False,
        ),
    ] = None,
    per_host: Annotated[
        int | None,
        Opt(
            "--per-host",
            help="Downloads in flight per host [config fetch.per_host: 8].",
            min_of="fetch.per_host",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        Opt(
            "--timeout",
            metavar="SECONDS",
            help="Seconds one request may take [config fetch.timeout: 30].",
            min_of="fetch.timeout",
            show_default=False,
        ),
    ] = None,
    retries: Annotated[
        int | None,
        Opt(
            "--retries",
            help="Retries on connect errors, 5xx and 429 [config fetch.retries: 3].",
            min_of="fetch.retries",
            show_default=False,
        ),
    ] = None,
    backoff: Annotated[
        float,
        Opt(
            "--backoff",
            metavar="SECONDS",
            help="First retry wait in seconds; doubles each time, with jitter.",
            min=0.0,
        ),
    ] = 0.5,
    max_bytes: Annotated[
        int | None,
        Opt(
            "--max-bytes",
            metavar="BYTES",
            help="Largest image accepted [config fetch.max_bytes: 50000000].",
            min_of="fetch.max_bytes",
            show_default=False,
        ),
    ] = None,
    min_side: Annotated[
        int | None,
        Opt(
            "--min-side",
            metavar="PIXELS",
            help="Refuse images whose shorter side is smaller [config fetch.min_side: 0].",
            min_of="fetch.min_side",
            show_default=False,
        ),
    ] = None,
    resize: Annotated[
        int | None,
        Opt("--resize", help="Scale down to this shorter side.", min=1, show_default=False),
    ] = None,
    image_format: Annotated[
        str,
        Opt(
            "--image-format",
            metavar="FORMAT",
            help="jpeg: write JPEG (original bytes when they fit); keep: the source format.",
        ),
    ] = "jpeg",
    output_format: OutputFormatOpt = OutputFormat.folder,
    shard_size: ShardSizeOpt = None,
    samples_per_shard: SamplesPerShardOpt = None,
    prefix: ShardPrefixOpt = None,
    seed: SeedOpt = 0,
    manifest: Annotated[
        str | None,
        Opt(
            "--manifest",
            metavar="FILE",
            help="Manifest path (.csv or .jsonl) [default: OUT/manifest.jsonl].",
            show_default=False,
        ),
    ] = None,
    base_url: BaseUrlOpt = None,
    url_list: Annotated[
        str | None,
        Opt(
            "--url-list",
            metavar="LIST",
            help="Image lists from this fall11-style list (path or URL), indexed on first use.",
            show_default=False,
        ),
    ] = None,
    refresh: Annotated[
        bool, Opt("--refresh", help="Fetch image lists again even when cached.")
    ] = False,
    offline: OfflineOpt = False,
    retry_failed: Annotated[
        bool,
        Opt(
            "--retry-failed",
            help="On resume, also redo URLs that failed for passing reasons (timeouts, 5xx).",
        ),
    ] = False,
    ignore_robots_tag: Annotated[
        bool,
        Opt(
            "--ignore-robots-tag",
            help="Keep images whose X-Robots-Tag says noai, noimageai, noindex or noimageindex "
            "(default: refused, status robots_disallowed) [config fetch.ignore_robots_tag].",
        ),
    ] = False,
    original: Annotated[
        bool,
        Opt(
            "--original",
            help="Original images through ImageNet's download endpoint (needs 'imagenet login'); "
            "always on this machine, even with --scheduler: the access key never goes to workers.",
        ),
    ] = False,
    strict: Annotated[bool, Opt("--strict", help=FAILED_HELP.capitalize() + ".")] = False,
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
) -> int:
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

    --output-format webdataset or parquet keeps the images in shards instead (split
    train, shuffled across classes with --seed): downloaded into OUT/.staging first,
    packed on this machine when every URL is done, then the staged files removed.

    Example: imagenet fetch --wnids classes.txt --out shards --output-format webdataset

    Example: imagenet fetch --wnid dog.n.01 --recursive --release ilsvrc2012 --urls-only | head

    Example: imagenet fetch --wnid n01440764 --base-url https://mirror.example --out images

    Example: imagenet fetch --wnids classes.txt --out /shared/images --scheduler tcp://head:8786
    """
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
