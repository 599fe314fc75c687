"""The synset index: a SQLite database in the cache, built from the packaged data.

The package ships WordNet 3.0's noun synsets as a compact text table
(``data/synsets.tsv.gz``). The first use builds an indexed SQLite copy in the cache
(about a second, no network); every later process opens it read-only in a
millisecond. The file name carries a fingerprint of the packaged data, so an
upgrade builds a fresh index and never reads a stale one.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import cache_path, file_lock, temp_name
from .errors import UsageError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

DATA = Path(__file__).with_name("data")
SYNSETS = DATA / "synsets.tsv.gz"
NOUN_EXC = DATA / "noun_exc.tsv"
SCHEMA_VERSION = 2

_SPLIT = re.compile(r"[\s_\-]+")


def normalize(text: str) -> str:
    """Case-folded, with spaces, underscores and hyphens made one space, and accents
    dropped (WordNet's lemmas are ASCII: ``café`` is the lemma ``cafe``)."""
    if not text.isascii():
        import unicodedata

        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    return _SPLIT.sub(" ", text.strip().lower()).strip()


def fingerprint() -> str:
    """The packaged data's identity: schema version, size and mtime of its files."""
    parts = [f"v{SCHEMA_VERSION}"]
    for path in (SYNSETS, NOUN_EXC):
        st = os.stat(path)
        parts.append(f"{st.st_size:x}{st.st_mtime_ns:x}")
    return "-".join(parts)


def index_path() -> Path:
    """Where this version of the index lives in the cache."""
    return cache_path("index", f"synsets-{fingerprint()}.sqlite", create_parent=False)


def open_index() -> sqlite3.Connection:
    """A read-only connection to the index, building it first if the cache lacks it.

    An index file that is not whole (empty, cut short, not a database) is a
    :class:`UsageError` naming it, not a traceback at the first lookup.
    """
    path = index_path()
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _notice(path), file_lock(path.with_suffix(".lock")):
                if not path.exists():
                    build(path)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            return _in_memory()  # a cache that cannot be written still answers lookups
    uri = f"{path.as_uri()}?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        # Reads the schema and the last page's count: a file cut short fails here.
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _damaged(path, str(exc)) from None
    if row is None or row[0] != str(SCHEMA_VERSION):
        conn.close()
        raise _damaged(path, "no schema version")
    return conn


def _notice(path: Path) -> AbstractContextManager[object]:
    """What the face shows while the index is built (:data:`hooks.index_build`)."""
    from contextlib import nullcontext

    from . import hooks

    return hooks.index_build(path) if hooks.index_build else nullcontext()


def _in_memory() -> sqlite3.Connection:
    """The index built in memory (about a second), for a cache that cannot hold it."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN")
    _fill(conn)
    conn.execute("COMMIT")
    return conn


def _damaged(path: Path, reason: str) -> UsageError:
    return UsageError(
        f"{path}: the synset index in the cache is damaged ({reason}); remove it with "
        "'imagenet cache clean index' and run again (the index is rebuilt)"
    )


def _rows() -> Iterable[list[str]]:
    import gzip

    with gzip.open(SYNSETS, "rt", encoding="utf-8", newline="\n") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        expected = [
            "offset",
            "name",
            "lexfile",
            "lemmas",
            "ranks",
            "parents",
            "definition",
            "examples",
        ]
        if header != expected:
            raise RuntimeError(f"{SYNSETS}: unexpected columns {header}")
        for line in fh:
            yield line.rstrip("\n").split("\t")


def build(path: Path) -> None:
    """Build the index database at ``path`` atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(temp_name(str(path)))
    tmp.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        _fill(conn)
        conn.execute("COMMIT")
        conn.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fill(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE synset(
            offset INTEGER PRIMARY KEY, name TEXT NOT NULL, lexfile TEXT NOT NULL,
            lemmas TEXT NOT NULL, ranks TEXT NOT NULL, definition TEXT NOT NULL,
            examples TEXT NOT NULL, n_children INTEGER, n_desc INTEGER, depth INTEGER,
            lemma TEXT NOT NULL);
        CREATE TABLE edge(child INTEGER, parent INTEGER, kind TEXT, pos INTEGER,
            PRIMARY KEY (child, parent)) WITHOUT ROWID;
        CREATE TABLE lemma(norm TEXT, offset INTEGER, pos INTEGER, rank INTEGER, words INTEGER);
        CREATE TABLE word(word TEXT, offset INTEGER, pos INTEGER, rank INTEGER);
        CREATE TABLE exc(form TEXT, base TEXT);
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
        """,
    )
    synsets = []
    edges: list[tuple[int, int, str, int]] = []
    lemmas: list[tuple[str, int, int, int, int]] = []
    words: list[tuple[str, int, int, int]] = []
    for offset_s, name, lexfile, lemma_s, rank_s, parent_s, definition, examples in _rows():
        offset = int(offset_s)
        synsets.append((offset, name, lexfile, lemma_s, rank_s, definition, examples))
        for pos, token in enumerate(parent_s.split()):
            edges.append(
                (offset, int(token[1:]), "instance" if token[0] == "i" else "hypernym", pos)
            )
        for pos, (lemma, rank) in enumerate(zip(lemma_s.split(), rank_s.split(), strict=True)):
            # WordNet lemmas hold no spaces: a cheaper normalize() for the 150k of them.
            parts = lemma.lower().replace("_", " ").replace("-", " ").split()
            norm = " ".join(parts)
            lemmas.append((norm, offset, pos, int(rank), len(parts)))
            if len(parts) > 1:
                words.extend((w, offset, pos, int(rank)) for w in dict.fromkeys(parts))
    children: dict[int, list[int]] = {}
    parents: dict[int, list[int]] = {}
    for child, parent, _kind, _pos in edges:
        children.setdefault(parent, []).append(child)
        parents.setdefault(child, []).append(parent)
    n_desc = _descendant_counts([s[0] for s in synsets], children)
    depth = _max_depths([s[0] for s in synsets], parents)
    conn.executemany(
        "INSERT INTO synset VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            (*s, len(children.get(s[0], ())), n_desc[s[0]], depth[s[0]], s[3].split(" ", 1)[0])
            for s in synsets
        ),
    )
    conn.executemany("INSERT INTO edge VALUES (?,?,?,?)", edges)
    conn.executemany("INSERT INTO lemma VALUES (?,?,?,?,?)", lemmas)
    conn.executemany("INSERT INTO word VALUES (?,?,?,?)", words)
    with NOUN_EXC.open(encoding="utf-8") as fh:
        conn.executemany(
            "INSERT INTO exc VALUES (?,?)",
            (
                tuple(normalize(p) for p in line.rstrip("\n").split("\t"))
                for line in fh
                if "\t" in line
            ),
        )
    _script(
        conn,
        """
        CREATE UNIQUE INDEX synset_name ON synset(name);
        CREATE INDEX edge_parent ON edge(parent, child);
        CREATE INDEX lemma_norm ON lemma(norm);
        CREATE INDEX word_word ON word(word);
        CREATE INDEX exc_form ON exc(form);
        """,
    )
    conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # executescript() would commit the open transaction first; run statement by statement.
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def below_sets(
    roots: Iterable[int],
    children: dict[int, list[int]],
    keep: Callable[[int], bool] | None = None,
) -> dict[int, frozenset[int]]:
    """For every node under ``roots``: the nodes at or below it (those ``keep`` accepts).

    Each node is visited once however many parents it has, so a count taken from
    these sets counts a synset once even where the hierarchy joins.
    """
    memo: dict[int, frozenset[int]] = {}
    for root in roots:
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in memo:
                continue
            kids = children.get(node, ())
            if not expanded:
                stack.append((node, True))
                stack.extend((k, False) for k in kids if k not in memo)
                continue
            acc: set[int] = {node} if keep is None or keep(node) else set()
            for k in kids:
                acc |= memo[k]
            memo[node] = frozenset(acc)
    return memo


def _descendant_counts(offsets: list[int], children: dict[int, list[int]]) -> dict[int, int]:
    """Distinct descendants of every node of the DAG (each counted once, itself not)."""
    sets = below_sets(offsets, children)
    return {off: len(sets[off]) - 1 for off in offsets}


def _max_depths(offsets: list[int], parents: dict[int, list[int]]) -> dict[int, int]:
    """Length of the longest hypernym path from the root to each node."""
    depth: dict[int, int] = {}
    for start in offsets:
        stack = [start]
        while stack:
            node = stack[-1]
            if node in depth:
                stack.pop()
                continue
            pending = [p for p in parents.get(node, ()) if p not in depth]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            depth[node] = 1 + max((depth[p] for p in parents.get(node, ())), default=-1)
    return depth
