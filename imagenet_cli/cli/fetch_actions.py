"""Body of ``imagenet fetch``, free of Typer so the fast path can run it.

It takes the parsed options and returns the exit code.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExitCode, NotFoundError, UsageError
from .output import Format, Outcome, counted, emit_rows, messages

if TYPE_CHECKING:
    from ..fetch.item import FetchResult


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
