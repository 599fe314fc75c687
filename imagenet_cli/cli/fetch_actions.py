"""``imagenet fetch``: its options, declared with ``cli.params``, and its body, free of
Typer so the fast path can run ``fetch --urls-only``. It returns the exit code."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from ..errors import ExitCode, NotFoundError, UsageError
from .common import (
    AcceptTermsOpt,
    BaseUrlOpt,
    EmailOpt,
    FormatOpt,
    NameOpt,
    NoHeaderOpt,
    OfflineOpt,
    OrgOpt,
    QuietOpt,
    RecursiveReleaseOpt,
    SchedulerOpt,
    VerboseOpt,
    WorkersOpt,
    batch_size_opt,
)
from .output import Outcome, counted, emit_rows, messages
from .params import Opt

if TYPE_CHECKING:
    from ..fetch.item import FetchResult


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

    Example: imagenet fetch --wnid dog.n.01 --recursive --release ilsvrc2012 --urls-only | head

    Example: imagenet fetch --wnid n01440764 --base-url https://mirror.example --out images

    Example: imagenet fetch --wnids classes.txt --out /shared/images --scheduler tcp://head:8786
    """
    from .. import config
    from ..fetch import terms
    from ..fetch.selection import select
    from ..fetch.sources import ListOptions, check_base_url
    from ..ids import expand_stdin, listed_ids, stdin_once

    if image_format not in ("jpeg", "keep"):
        raise UsageError(f"--image-format takes jpeg or keep, not {image_format!r}")
    if release and not recursive:
        raise UsageError("--release applies with --recursive")
    if refresh and offline:
        raise UsageError("--refresh and --offline cannot go together")
    out_dir = Path(out)
    manifest_path = Path(manifest) if manifest else None
    stdin_once({"--wnid": wnid, "--wnids": wnids})
    listed = listed_ids(expand_stdin(wnid or []), [wnids] if wnids else [])
    if not listed:
        raise UsageError("no synsets given: use --wnid W (repeatable) or --wnids FILE")
    from ..drivers import resolve_scheduler

    sched = None if urls_only else resolve_scheduler(scheduler)
    terms.gate(accept_terms, name, email, organization)
    if accept_terms:
        messages.info(f"terms of access version {terms.current().version} accepted")
    from ..hierarchy import Hierarchy

    idents = Hierarchy.default().resolve_listed(listed)  # every bad id named, with its line
    previous, messages.quiet = messages.quiet, quiet  # -q for what the library says too
    try:
        base = check_base_url(str(config.get("base_url", base_url)))
        t_out = float(config.get("fetch.timeout", timeout))
        n_retries = int(config.get("fetch.retries", retries))
        if original:
            if sched:
                messages.info(
                    "--original runs on this machine: the access key never goes to workers"
                )
            return _originals(
                idents,
                recursive,
                release,
                base,
                out_dir,
                manifest_path,
                t_out,
                int(config.get("fetch.max_bytes", max_bytes)),
                quiet,
                strict,
            )
        list_opts = ListOptions(
            base_url=base,
            url_list=url_list,
            refresh=refresh,
            offline=offline,
            timeout=t_out,
            retries=n_retries,
        )
        # Every setting the downloads use, read before any list is asked for: a bad value
        # in the config file stops the run before the network is touched.
        settings = (
            {}
            if urls_only
            else {
                "concurrency": int(config.get("fetch.concurrency", concurrency)),
                "per_host": int(config.get("fetch.per_host", per_host)),
                "max_bytes": int(config.get("fetch.max_bytes", max_bytes)),
                "min_side": int(config.get("fetch.min_side", min_side)),
                "placeholders": frozenset(
                    str(p).lower() for p in config.get("fetch.placeholders") or []
                ),
                "workers": int(workers or config.get("workers") or 0),
                "ignore_robots_tag": bool(
                    config.get("fetch.ignore_robots_tag", ignore_robots_tag or None)
                ),
            }
        )
        selection = select(idents, list_opts, recursive=recursive, release=release, limit=limit)
        outcome = Outcome()
        for _wnid, error, not_found in selection.errors:
            outcome.fail(NotFoundError(error) if not_found else error)
        if urls_only:
            if selection.refs or not outcome.code:  # a header alone is for an empty success
                rows = (
                    {"wnid": r.wnid, "image_id": r.image_id, "url": r.url} for r in selection.refs
                )
                emit_rows(rows, ["wnid", "image_id", "url"], fmt, no_header=no_header)
            return int(outcome.code)
        if not selection.refs and outcome.code:
            return int(outcome.code)  # no list came: no empty bar, no empty summary
        code = _download(
            selection.refs,
            selection.per_wnid,
            out_dir,
            manifest_path,
            {
                **settings,
                "timeout": t_out,
                "retries": n_retries,
                "backoff": backoff,
                "resize": resize,
                "image_format": image_format,
                "retry_failed": retry_failed,
                "scheduler": sched,
                "batch_size": batch_size,
            },
            quiet=quiet,
            verbose=verbose,
            strict=strict,
        )
        return max(code, int(outcome.code))
    finally:
        messages.quiet = previous


def _download(
    refs: list[Any],
    per_wnid: dict[str, int],
    out: Path,
    manifest: Path | None,
    o: dict[str, Any],
    *,
    quiet: bool,
    verbose: bool,
    strict: bool,
) -> int:
    from ..fetch.download import DownloadOptions
    from ..fetch.item import FetchOptions
    from ..fetch.local import fetch as run_fetch
    from ..images import ImageOptions
    from .fetch_progress import FetchProgress

    options = FetchOptions(
        out=out,
        download=DownloadOptions(
            concurrency=o["concurrency"],
            per_host=o["per_host"],
            timeout=o["timeout"],
            retries=o["retries"],
            backoff_base=o["backoff"],
            max_bytes=o["max_bytes"],
        ),
        image=ImageOptions(
            min_side=o["min_side"],
            resize=o["resize"],
            image_format=o["image_format"],
            placeholders=o["placeholders"],
        ),
        manifest=manifest,
        workers=o["workers"],
        retry_failed=o["retry_failed"],
        ignore_robots_tag=o["ignore_robots_tag"],
    )
    counts: Counter[str] = Counter()
    by_wnid: dict[str, Counter[str]] = {}
    started = time.monotonic()
    done_before = 0

    def note(result: FetchResult) -> None:
        counts[result.status] += 1
        by_wnid.setdefault(result.wnid, Counter())[result.status] += 1
        if verbose and not result.ok:
            messages.warn(
                f"{result.wnid}/{result.image_id}: {result.status}: {result.error} ({result.url})"
            )

    try:
        with FetchProgress(per_wnid, quiet) as bar:

            def on_progress(advance: int, total: int | None, text: str) -> None:
                nonlocal done_before
                if total is not None and text.endswith("done before"):
                    done_before = int(text.split()[0])
                bar.total(advance, total, text)

            if o.get("scheduler"):
                from ..fetch.cluster import fetch_on_cluster

                found = fetch_on_cluster(
                    refs,
                    options,
                    o["scheduler"],
                    batch_size=o.get("batch_size"),
                    progress=on_progress,
                    arrived=bar.arrived,
                )
            else:
                found = run_fetch(refs, options, progress=on_progress, arrived=bar.arrived)
            for result in found:
                note(result)
                bar.passed(result)
    except KeyboardInterrupt:
        messages.warn(
            f"interrupted: {sum(counts.values())} URLs recorded in the manifest; "
            "run the same command again to resume"
        )
        return int(ExitCode.INTERRUPTED)
    elapsed = time.monotonic() - started
    failed = sum(n for s, n in counts.items() if s != "ok")
    if not quiet:
        _summary(counts, by_wnid, done_before, elapsed, options.manifest_path)
    if strict and not failed and done_before:
        # a resumed run: failures recorded by the earlier runs count too
        from ..fetch.manifest import Manifest

        rows = Manifest(options.manifest_path).load()
        failed = sum(
            1
            for r in refs
            if (row := rows.get((r.wnid, r.image_id))) is not None and row.get("status") != "ok"
        )
    return int(ExitCode.PARTIAL) if strict and failed else 0


def _summary(
    counts: Counter[str],
    by_wnid: dict[str, Counter[str]],
    done_before: int,
    elapsed: float,
    manifest: Path,
) -> None:
    if sys.stderr.isatty():  # for people watching; logs get the line below only
        from rich.table import Table

        from .output import stderr_console

        table = Table(title="fetch summary", box=None, header_style="bold")
        table.add_column("status")
        table.add_column("urls", justify="right")
        for status, n in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", -kv[1], kv[0])):
            table.add_row(status, str(n))
        if done_before:
            table.add_row("done before", str(done_before))
        stderr_console().print(table)
    total = sum(counts.values())
    rate = counts["ok"] / elapsed if elapsed > 0 else 0.0
    others = sorted((-n, s) for s, n in counts.items() if s != "ok")
    why = f" ({', '.join(f'{s} {-n}' for n, s in others)})" if others else ""
    before = f"; {done_before} URLs done before" if done_before else ""
    messages.info(
        f"{counts['ok']} of {total} URLs kept{why} in {elapsed:.1f} s ({rate:.1f} images/s) "
        f"over {counted(len(by_wnid), 'synset')}{before}; manifest {manifest}"
    )


def _originals(
    idents: list[str],
    recursive: bool,
    release: str | None,
    base: str,
    out: Path,
    manifest: Path | None,
    timeout: float,
    max_bytes: int,
    quiet: bool,
    strict: bool,
) -> int:
    from ..fetch import credentials
    from ..fetch.originals import fetch_originals, is_archive_row
    from ..hierarchy import Hierarchy

    creds = credentials.load(required=True)
    assert creds is not None
    h = Hierarchy.default()
    wnids: list[str] = []
    for ident in idents:
        root = h.resolve(ident)
        for w in h.descendants(root, release=release, include_self=True) if recursive else [root]:
            if w not in wnids:
                wnids.append(w)
    counts: Counter[str] = Counter()
    outcome = Outcome()
    for result in fetch_originals(
        wnids, creds, base, out, manifest=manifest, timeout=timeout, max_bytes=max_bytes
    ):
        if is_archive_row(result):
            # The synset's whole archive could not be had: as for a list that cannot be
            # had, the run says so and exits 1.
            outcome.fail(
                f"{result.wnid}: no archive of original images: {result.error} ({result.url})"
            )
            continue
        counts[result.status] += 1
    refused = sum(n for s, n in counts.items() if s != "ok")
    if not quiet:
        messages.info(f"{counts['ok']} original images written to {out} ({refused} refused)")
    return max(int(outcome.code), int(ExitCode.PARTIAL) if strict and refused else 0)
