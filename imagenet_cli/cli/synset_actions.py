"""``imagenet synset``: offline lookup and browsing of the WordNet noun hierarchy.

Each command is one function, declared with ``cli.params`` and free of Typer, so the
fast path runs it without importing Typer: a synset lookup is started thousands of
times in scripts. Each returns its exit code.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, Any

from .. import releases
from ..errors import ExitCode, ImagenetError, NotFoundError, UsageError
from ..hierarchy import ROOT, Hierarchy, Synset, TreeNode
from ..ids import expand_stdin
from .common import FormatOpt, NoHeaderOpt, ReleaseOpt, TreeFormatOpt
from .output import (
    Format,
    Outcome,
    color_enabled,
    emit_chunks,
    emit_lines,
    emit_records,
    emit_rows,
    resolve_format,
    stdout_console,
)
from .params import Arg, Opt

IdsArg = Annotated[
    list[str] | None,
    Arg(
        help="Synset ids: wnid (n02084071), offset (02084071), nltk name (dog.n.01);"
        " - reads them from stdin.",
        metavar="ID",
        show_default=False,
    ),
]

SYNSET_COLUMNS = ["wnid", "name", "ilsvrc", "lemmas", "definition"]


def _lemmas(s: Synset) -> list[str]:
    return [lemma.replace("_", " ") for lemma in s.lemmas]


def synset_row(s: Synset, **extra: Any) -> dict[str, Any]:
    """The flat row a synset shows as in lists."""
    return {
        "wnid": s.wnid,
        "offset": f"{s.offset:08d}",
        "name": s.name,
        "ilsvrc": s.ilsvrc_index,
        "lemma": s.label,
        "lemmas": _lemmas(s),
        "definition": s.definition,
        "lexfile": s.lexfile,
        "depth": s.depth,
        **extra,
    }


def _ids_or_stdin(ids: Sequence[str] | None) -> Sequence[str]:
    """``ids``, else ``-`` (the ids piped in); with none given at a terminal, a usage error
    instead of a silent wait for typed input."""
    if ids:
        return ids
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no ids given: name one or more (wnid, offset or name), or pipe them in")
    return ["-"]


def _each_id(ids: Sequence[str] | None, outcome: Outcome) -> Iterator[tuple[str, Synset]]:
    h = Hierarchy.default()
    for ident in expand_stdin(_ids_or_stdin(ids)):
        try:
            yield ident, h.get(ident)
        except NotFoundError as err:
            outcome.fail(err)


def search(
    query: Annotated[str, Arg(help="A word or phrase; inflected forms are fine.")],
    release: ReleaseOpt = None,
    limit: Annotated[
        int | None, Opt("--limit", "-n", help="At most this many results.", min=1)
    ] = 20,
    gloss: Annotated[bool, Opt("--gloss", help="Also match words in definitions.")] = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> int:
    """Find synsets by word, best match first.

    Exact lemmas come first, then lemmas that start with the query, then lemmas
    holding it as a word, then as part of a word (then definitions, with --gloss);
    ties go to the more common sense.

    Example: imagenet synset search dog --release ilsvrc2012
    """
    rel = releases.canonical(release) if release else None
    hits = Hierarchy.default().search(query, release=rel, limit=limit, gloss=gloss)
    if not hits:  # before any output: a failed search writes nothing to stdout
        Outcome().fail(NotFoundError(f"{query}: no synset matches" + (f" in {rel}" if rel else "")))
        return ExitCode.NOT_FOUND
    rows = (synset_row(h.synset, match=h.match, rank=h.rank) for h in hits)
    emit_rows(
        rows, ["wnid", "name", "match", "ilsvrc", "lemmas", "definition"], fmt, no_header=no_header
    )
    return ExitCode.OK


SHOW_FIELDS = [
    ("wnid", "wnid"),
    ("offset", "offset"),
    ("name", "name"),
    ("lemmas", "lemmas"),
    ("definition", "definition"),
    ("examples", "examples"),
    ("lexfile", "lexfile"),
    ("parents", "parents"),
    ("paths", "paths"),
    ("children", "children"),
    ("descendants", "descendants"),
    ("releases", "releases"),
    ("ilsvrc", "ILSVRC-2012 index"),
]


def _show_records(
    ids: Sequence[str] | None, outcome: Outcome, h: Hierarchy, *, nested: bool
) -> Iterator[dict[str, Any]]:
    """The rows of ``synset show``; ``nested``: paths as lists of names (JSON)."""
    for _ident, s in _each_id(ids, outcome):
        names = {}
        paths = h.hypernym_paths(s.wnid)
        for path in paths:
            for w in path:
                if w not in names:
                    names[w] = h.get(w).name
        parents = [
            f"{w} {names.get(w) or h.get(w).name}" + (" (instance)" if kind == "instance" else "")
            for w, kind in s.parents
        ]
        shown_paths: list[Any] = (
            [[names[w] for w in p] for p in paths]
            if nested
            else [" > ".join(names[w] for w in p) for p in paths]
        )
        yield {
            **synset_row(s),
            "examples": list(s.examples),
            "parents": parents,
            "paths": shown_paths,
            "children": s.n_children,
            "descendants": s.n_descendants,
            "releases": releases.releases_of(s.wnid),
        }


def show(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """Show everything about synsets: lemmas, definition, parents, paths, counts, releases.

    Example: imagenet synset show n02084071 dog.n.01
    """
    outcome = Outcome()
    name = resolve_format(fmt)
    h = Hierarchy.default()
    records = _show_records(ids, outcome, h, nested=name in ("json", "jsonl"))
    multiline = ("parents", "paths", "examples")
    emit_records(records, SHOW_FIELDS, name, no_header=no_header, multiline=multiline)
    return outcome.code


def _relation(
    ids: Sequence[str] | None,
    fmt: Format | str | None,
    no_header: bool,
    related: Callable[[Synset], Iterable[tuple[Synset, dict[str, Any]]]],
    columns: Sequence[str] = (*SYNSET_COLUMNS, "of"),
) -> int:
    outcome = Outcome()

    def rows() -> Iterator[dict[str, Any]]:
        for _ident, s in _each_id(ids, outcome):
            for syn, extra in related(s):
                yield synset_row(syn, of=s.wnid, **extra)

    emit_rows(rows(), list(columns), fmt, no_header=no_header)
    return outcome.code


def parents(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """List the direct hypernyms (and instance hypernyms) of synsets.

    Example: imagenet synset parents n02084071
    """
    h = Hierarchy.default()
    return _relation(
        ids,
        fmt,
        no_header,
        lambda s: [(h.get(w), {"kind": kind}) for w, kind in s.parents],
        ("wnid", "name", "kind", "ilsvrc", "lemmas", "definition", "of"),
    )


def children(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """List the direct hyponyms (and instances) of synsets.

    Example: imagenet synset children n02084071
    """
    h = Hierarchy.default()
    return _relation(ids, fmt, no_header, lambda s: ((c, {}) for c in h.children(s.wnid)))


def ancestors(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """List every synset above synsets, nearest first.

    Example: imagenet synset ancestors n02085620
    """
    h = Hierarchy.default()
    return _relation(
        ids,
        fmt,
        no_header,
        lambda s: ((a, {}) for a in h.ancestors(s.wnid)),
        ("wnid", "name", "depth", "ilsvrc", "lemmas", "definition", "of"),
    )


def descendants(
    ids: IdsArg = None,
    leaves: Annotated[bool, Opt("--leaves", help="Only synsets with no children.")] = False,
    include_self: Annotated[
        bool, Opt("--include-self", help="Also each synset given, when it passes the filters.")
    ] = False,
    release: ReleaseOpt = None,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> int:
    """List every synset below synsets (each once), by wnid.

    Example: imagenet synset descendants n02084071 --release ilsvrc2012 -f ids
    """
    h = Hierarchy.default()
    rel = releases.canonical(release) if release else None
    return _relation(
        ids,
        fmt,
        no_header,
        lambda s: (
            (h.get(w), {})
            for w in h.descendants(s.wnid, leaves=leaves, release=rel, include_self=include_self)
        ),
    )


def lca(ids: IdsArg = None, fmt: FormatOpt = None, no_header: NoHeaderOpt = False) -> int:
    """Find the lowest common ancestor(s) of two or more synsets.

    Example: imagenet synset lca n02084071 n02121808
    """
    outcome = Outcome()
    found = [s.wnid for _ident, s in _each_id(ids, outcome)]
    if outcome.code:
        return outcome.code
    h = Hierarchy.default()
    rows = (synset_row(s) for s in h.lca(found))
    emit_rows(
        rows, ["wnid", "name", "depth", "ilsvrc", "lemmas", "definition"], fmt, no_header=no_header
    )
    return ExitCode.OK


def releases_(
    all_lists: Annotated[
        bool, Opt("--all", help="Also list the presets (Imagewoof, ...).")
    ] = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> int:
    """List ImageNet's releases with their class counts.

    Example: imagenet synset releases --all
    """
    lists = releases.presets() if all_lists else releases.releases()
    rows = (
        {"name": c.name, "kind": c.kind, "classes": c.count, "title": c.title, "source": c.source}
        for c in lists
    )
    emit_rows(
        rows,
        ["name", "kind", "classes", "title", "source"],
        fmt,
        no_header=no_header,
        id_key="name",
    )
    return ExitCode.OK


def map_ids(
    ids: IdsArg = None,
    ilsvrc_index: Annotated[
        bool,
        Opt("--ilsvrc-index", help="Read numbers below 1000 as ILSVRC-2012 class indices."),
    ] = False,
    fmt: FormatOpt = None,
    no_header: NoHeaderOpt = False,
) -> int:
    """Map ids to wnid, offset, nltk name, ILSVRC-2012 index and first lemma, side by side.

    Example: printf '207\\n281\\n' | imagenet synset map --ilsvrc-index -
    """
    outcome = Outcome()
    h = Hierarchy.default()
    given = _ids_or_stdin(ids)

    def rows() -> Iterator[dict[str, Any]]:
        for ident in expand_stdin(given):
            text = ident.strip()
            try:
                # ASCII digits only: '²' is a digit to isdigit() but not to int().
                if ilsvrc_index and text.isascii() and text.isdigit() and len(text) < 8:
                    s = h.get(releases.ilsvrc_wnid(int(text)))
                else:
                    s = h.get(ident)
            except ImagenetError as err:
                outcome.fail(err)
                continue
            yield synset_row(s, id=ident)

    emit_rows(rows(), ["id", "wnid", "offset", "name", "ilsvrc", "lemma"], fmt, no_header=no_header)
    return outcome.code


# ------------------------------------------------------------------ tree


def tree(
    ident: Annotated[
        str | None,
        Arg(metavar="ID", help="Root of the tree [default: entity.n.01].", show_default=False),
    ] = None,
    depth: Annotated[
        int | None, Opt("--depth", "-d", help="Levels below the root to show.", min=0)
    ] = None,
    release: ReleaseOpt = None,
    fmt: TreeFormatOpt = None,
) -> int:
    """Show the hierarchy under a synset, each node with its number of descendants.

    With --release each node counts the classes of that release at or below it,
    and only branches holding some are shown. A rich tree on a terminal, indented
    text when piped, nested JSON with -f json, bare wnids with -f ids.

    Example: imagenet synset tree n02084071 --depth 2 --release ilsvrc2012
    """
    name = resolve_format(fmt, ("table", "tsv", "json", "ids"))
    rel = releases.canonical(release) if release else None
    h = Hierarchy.default()
    root = h.resolve(ident) if ident and ident != "-" else _stdin_root(ident)
    node = h.tree(root, depth=depth, release=rel)
    if rel and not node.count:
        raise NotFoundError(f"{ident}: no class of {rel} is at or below it")
    unit = f"{rel} classes" if rel else "descendants"
    if name == "json":
        emit_chunks(_tree_json(node, rel))
    elif name == "ids":
        emit_lines(n.wnid for n, _level in _walk(node))
    elif name == "tsv":
        emit_lines(_tree_lines(node))
    else:
        _rich_tree(node, unit)
    return ExitCode.OK


def _stdin_root(ident: str | None) -> str:
    if ident is None:
        return ROOT
    items = list(itertools.islice(expand_stdin(["-"]), 2))
    if not items:
        raise NotFoundError("-: no id on stdin")
    if len(items) > 1:
        raise UsageError(f"-: several ids on stdin ({', '.join(items)}, ...); a tree has one root")
    return Hierarchy.default().resolve(items[0])


def _walk(node: TreeNode, level: int = 0) -> Iterator[tuple[TreeNode, int]]:
    stack = [(node, level)]
    while stack:
        current, lvl = stack.pop()
        yield current, lvl
        stack.extend((c, lvl + 1) for c in reversed(current.children))


def _tree_lines(node: TreeNode) -> Iterator[str]:
    for n, level in _walk(node):
        more = " ..." if n.truncated else ""
        yield f"{'  ' * level}{n.wnid} {n.name} {n.label} ({n.count}){more}"


def _tree_json(node: TreeNode, release: str | None) -> Iterator[str]:
    """The tree as compact nested JSON, in chunks: no dict per node, no recursion."""
    from json.encoder import encode_basestring as enc

    key = '"classes"' if release else '"descendants"'
    stack: list[TreeNode | None] = [node]
    pop, push, extend = stack.pop, stack.append, stack.extend
    comma = ""
    while stack:
        n = pop()
        if n is None:
            yield "]}"
            comma = ","
            continue
        body = (
            f'{comma}{{"wnid":"n{n.offset:08d}","name":{enc(n.name)},'
            f'"label":{enc(n.lemma.replace("_", " "))},{key}:{n.count}'
        )
        if n.children:
            yield body + ',"children":['
            push(None)
            extend(reversed(n.children))
            comma = ""
        else:
            yield body + (',"truncated":true}' if n.truncated else "}")
            comma = ","


def _rich_tree(node: TreeNode, unit: str) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    def label(n: TreeNode) -> str:
        idx = releases.ilsvrc_index(n.wnid)
        tag = f" [magenta]#{idx}[/]" if idx is not None else ""
        more = " [dim]…[/]" if n.truncated else ""
        return (
            f"[bold]{escape(n.label)}[/] [cyan]{n.wnid}[/]"
            f" [dim]{escape(n.name)}[/]{tag} [green]{n.count}[/]{more}"
        )

    top = Tree(label(node) + f" [dim]({unit})[/]", guide_style="dim")
    stack: list[tuple[TreeNode, Tree]] = [(node, top)]
    while stack:
        current, branch = stack.pop()
        for child in current.children:
            stack.append((child, branch.add(label(child))))
    console = stdout_console()
    console.print(top, highlight=color_enabled(sys.stdout))
