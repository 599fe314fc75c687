"""``imagenet urls``: index fall11-style URL lists and see what is indexed."""

from __future__ import annotations

from typing import Annotated

from .common import (
    AcceptTermsOpt,
    EmailOpt,
    FormatOpt,
    NameOpt,
    NoHeaderOpt,
    OrgOpt,
    QuietOpt,
)
from .output import emit_records, emit_rows, messages
from .params import Arg, Opt

LIST_COLUMNS = ["id", "source", "lines", "wnids", "skipped", "fetched_at", "etag", "last_modified"]


def index(
    source: Annotated[
        str,
        Arg(help="A list of 'image_id<TAB>url' lines: a path (.gz too) or an http(s) URL."),
    ],
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
    quiet: QuietOpt = False,
    timeout: Annotated[
        float,
        Opt(
            "--timeout",
            metavar="SECONDS",
            help="Seconds without data before giving up (URL sources).",
            min=0.1,
        ),
    ] = 60.0,
    accept_terms: AcceptTermsOpt = False,
    name: NameOpt = None,
    email: EmailOpt = None,
    organization: OrgOpt = None,
) -> None:
    """Index a URL list into the cache so 'imagenet fetch' finds a wnid's images at once.

    Lines are 'image_id<TAB>url' (or the id and the URL apart by spaces); a line with no
    id or no URL, or an id listed before, is skipped and named on stderr.

    Example: imagenet urls index fall11_urls.txt
    """
    from ..fetch.sources.request import IndexRequest, run_index
    from ..request import from_options
    from .render import Working

    summary = run_index(from_options(IndexRequest, locals()), Working("indexing", quiet))
    emit_rows([vars(summary.info)], LIST_COLUMNS, fmt, no_header=no_header, id_key="source")
    previous, messages.quiet = messages.quiet, quiet
    try:
        for note in summary.notes:
            messages.warn(note)
    finally:
        messages.quiet = previous


def info(
    wnid: Annotated[
        list[str] | None,
        Opt(
            "--wnid",
            help="Count the indexed images of this synset (repeatable).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List the indexed URL lists, or count a synset's indexed images.

    Example: imagenet urls info --wnid n01440764
    """
    from ..fetch.sources import urllist
    from ..hierarchy import Hierarchy
    from ..ids import expand_stdin

    if wnid:
        h = Hierarchy.default()
        rows = [
            {"wnid": h.resolve(w), "images": urllist.count(h.resolve(w))}
            for w in expand_stdin(wnid)
        ]
        emit_rows(rows, ["wnid", "images"], fmt, no_header=no_header)
        return
    infos = [vars(i) for i in urllist.lists()]
    if fmt is None or fmt.value == "table":
        emit_records(infos, [(c, c) for c in LIST_COLUMNS], fmt, id_key="source")
    else:
        emit_rows(infos, LIST_COLUMNS, fmt, no_header=no_header, id_key="source")
