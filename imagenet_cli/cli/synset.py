"""``imagenet synset``: offline lookup and browsing of the WordNet noun hierarchy.

The bodies live in ``synset_actions`` (Typer-free, shared with the fast path);
this module only declares the options.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import synset_actions as act
from .common import FormatOpt, NoHeaderOpt, ReleaseOpt, TreeFormatOpt

app = typer.Typer(
    # Help texts are plain text: '[default: ...]' must show, not vanish as markup.
    rich_markup_mode=None,
    help="Look up synsets and browse the WordNet noun hierarchy, offline.",
    epilog="Example: imagenet synset search dog",
    no_args_is_help=True,
)

IdsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Synset ids: wnid (n02084071), offset (02084071), nltk name (dog.n.01);"
        " - reads them from stdin.",
        show_default=False,
    ),
]


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="A word or phrase; inflected forms are fine.")],
    release: ReleaseOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many results.", min=1)
    ] = 20,
    gloss: Annotated[
        bool, typer.Option("--gloss", help="Also match words in definitions.")
    ] = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """Find synsets by word, best match first.

    Exact lemmas come first, then lemmas that start with the query, then lemmas
    holding it as a word, then as part of a word (then definitions, with --gloss);
    ties go to the more common sense.

    Example: imagenet synset search dog --release ilsvrc2012
    """
    _exit(
        act.search(
            query=query, release=release, limit=limit, gloss=gloss, fmt=fmt, no_header=no_header
        )
    )


@app.command()
def show(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
    """Show everything about synsets: lemmas, definition, parents, paths, counts, releases.

    Example: imagenet synset show n02084071 dog.n.01
    """
    _exit(act.show(ids=ids, fmt=fmt, no_header=no_header))


@app.command()
def tree(
    ident: Annotated[
        str | None,
        typer.Argument(
            metavar="ID", help="Root of the tree [default: entity.n.01].", show_default=False
        ),
    ] = None,
    depth: Annotated[
        int | None, typer.Option("--depth", "-d", help="Levels below the root to show.", min=0)
    ] = None,
    release: ReleaseOpt = None,
    fmt: TreeFormatOpt = None,
) -> None:
    """Show the hierarchy under a synset, each node with its number of descendants.

    With --release each node counts the classes of that release at or below it,
    and only branches holding some are shown. A rich tree on a terminal, indented
    text when piped, nested JSON with -f json, bare wnids with -f ids.

    Example: imagenet synset tree n02084071 --depth 2 --release ilsvrc2012
    """
    _exit(act.tree(ident=ident, depth=depth, release=release, fmt=fmt))


@app.command()
def parents(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
    """List the direct hypernyms (and instance hypernyms) of synsets.

    Example: imagenet synset parents n02084071
    """
    _exit(act.parents(ids=ids, fmt=fmt, no_header=no_header))


@app.command()
def children(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
    """List the direct hyponyms (and instances) of synsets.

    Example: imagenet synset children n02084071
    """
    _exit(act.children(ids=ids, fmt=fmt, no_header=no_header))


@app.command()
def ancestors(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
    """List every synset above synsets, nearest first.

    Example: imagenet synset ancestors n02085620
    """
    _exit(act.ancestors(ids=ids, fmt=fmt, no_header=no_header))


@app.command()
def descendants(
    ids: IdsArg = None,
    leaves: Annotated[
        bool, typer.Option("--leaves", help="Only synsets with no children.")
    ] = False,
    release: ReleaseOpt = None,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List every synset below synsets (each once), by wnid.

    Example: imagenet synset descendants n02084071 --release ilsvrc2012 -f ids
    """
    _exit(act.descendants(ids=ids, leaves=leaves, release=release, fmt=fmt, no_header=no_header))


@app.command()
def lca(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> None:
    """Find the lowest common ancestor(s) of two or more synsets.

    Example: imagenet synset lca n02084071 n02121808
    """
    _exit(act.lca(ids=ids, fmt=fmt, no_header=no_header))


@app.command()
def releases(
    all_lists: Annotated[
        bool, typer.Option("--all", help="Also list the presets (Imagewoof, ...).")
    ] = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """List ImageNet's releases with their class counts.

    Example: imagenet synset releases --all
    """
    _exit(act.releases_(all_lists=all_lists, fmt=fmt, no_header=no_header))


@app.command("map")
def map_ids(
    ids: IdsArg = None,
    ilsvrc_index: Annotated[
        bool,
        typer.Option(
            "--ilsvrc-index", help="Read numbers below 1000 as ILSVRC-2012 class indices."
        ),
    ] = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> None:
    """Map ids to wnid, offset, nltk name, ILSVRC-2012 index and first lemma, side by side.

    Example: printf '207\\n281\\n' | imagenet synset map --ilsvrc-index -
    """
    _exit(act.map_ids(ids=ids, ilsvrc_index=ilsvrc_index, fmt=fmt, no_header=no_header))
