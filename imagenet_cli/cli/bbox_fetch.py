"""``imagenet bbox fetch``: a synset's bounding-box archive into the cache."""

from __future__ import annotations

from typing import Annotated

from .common import (
    AcceptTermsOpt,
    BaseUrlOpt,
    EmailOpt,
    FormatOpt,
    NameOpt,
    NoHeaderOpt,
    OrgOpt,
    QuietOpt,
    RecursiveReleaseOpt,
)
from .output import Outcome, emit_rows
from .params import Opt


def bbox_fetch(
    wnid: Annotated[
        list[str],
        Opt("--wnid", help="A synset (wnid, offset, nltk name; repeatable; '-': stdin)."),
    ],
    recursive: Annotated[
        bool, Opt("--recursive", help="Also every synset below each one.")
    ] = False,
    release: RecursiveReleaseOpt = None,
    base_url: BaseUrlOpt = None,
    refresh: Annotated[bool, Opt("--refresh", help="Download again even when cached.")] = False,
    timeout: Annotated[
        float | None,
        Opt(
            "--timeout",
            metavar="SECONDS",
            help="Seconds one request may take [config fetch.timeout].",
            min_of="fetch.timeout",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
    accept_terms: AcceptTermsOpt = False,
    name: NameOpt = None,
    email: EmailOpt = None,
    organization: OrgOpt = None,
) -> int:
    """Download synsets' bounding-box archives (.tar.gz) into the cache.

    Prints one row per synset: wnid, status, bytes, path. Needs the terms of access accepted.

    Example: imagenet bbox fetch --wnid n01440764
    """
    from .. import config
    from ..fetch import terms
    from ..fetch.bbox_archives import fetch_bboxes
    from ..fetch.selection import synsets
    from ..fetch.sources import check_base_url
    from ..ids import expand_stdin

    terms.gate(accept_terms, name, email, organization)
    wnids = synsets(expand_stdin(wnid), recursive=recursive, release=release)
    base = check_base_url(str(config.get("base_url", base_url)))
    outcome = Outcome()
    rows = []
    for item in fetch_bboxes(
        wnids, base, refresh=refresh, timeout=float(config.get("fetch.timeout", timeout))
    ):
        path = str(item.path or "")
        rows.append({"wnid": item.wnid, "status": item.status, "bytes": item.bytes, "path": path})
        if item.status not in ("ok", "cached"):
            outcome.fail(f"{item.wnid}: {item.error}")
    emit_rows(rows, ["wnid", "status", "bytes", "path"], fmt, no_header=no_header)
    return int(outcome.code)
