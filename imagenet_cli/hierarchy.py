"""WordNet's noun hierarchy as ImageNet uses it: lookup, search, ancestry, trees.

>>> h = Hierarchy.default()
>>> h.get("dog.n.01").wnid
'n02084071'

Hypernyms and instance hypernyms both count as parents; ``Synset.parents`` says
which is which. Counts of descendants count each synset once, even where the
hierarchy joins (a synset with two parents).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from typing import NamedTuple

from . import releases
from .errors import NotFoundError, UsageError
from .ids import NAME_RE, clip, is_utf8, offset_of, wnid
from .synset_index import below_sets, normalize, open_index

ROOT = "n00001740"  # entity.n.01
MAX_BAD_IDS = 20  # error lines for bad ids; a wrong file should not flood the terminal
UPS_BEFORE_LOADING = 5000  # parent lookups one at a time before all edges are loaded

_COLUMNS = "offset, name, lexfile, lemmas, ranks, definition, examples, n_children, n_desc, depth"


class Synset(NamedTuple):
    """One WordNet 3.0 noun synset."""

    wnid: str
    offset: int
    name: str
    lexfile: str
    lemmas: tuple[str, ...]
    ranks: tuple[int, ...]
    definition: str
    examples: tuple[str, ...]
    n_children: int
    n_descendants: int
    depth: int
    parents: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """The first lemma, as people write it (spaces, not underscores)."""
        return self.lemmas[0].replace("_", " ")

    @property
    def ilsvrc_index(self) -> int | None:
        """The ILSVRC-2012 class index, or None when not an ILSVRC-2012 class."""
        return releases.ilsvrc_index(self.wnid)


class SearchHit(NamedTuple):
    """A search result: the synset, how it matched and on which lemma."""

    synset: Synset
    match: str  # exact, prefix, word, substring, gloss
    lemma: str
    rank: int


class TreeNode:
    """A node of :meth:`Hierarchy.tree`: a synset, its count and its children."""

    __slots__ = ("children", "count", "lemma", "name", "offset", "truncated")

    def __init__(self, offset: int, name: str, lemma: str, count: int) -> None:
        self.offset = offset
        self.name = name
        self.lemma = lemma  # first lemma as WordNet writes it
        self.count = count
        self.children: list[TreeNode] = []
        self.truncated = False  # children exist below the depth limit

    @property
    def wnid(self) -> str:
        return f"n{self.offset:08d}"

    @property
    def label(self) -> str:
        return self.lemma.replace("_", " ")


MATCH_ORDER = ("exact", "prefix", "word", "substring", "gloss")


class Hierarchy:
    """Read-only access to the synset index."""

    _default: Hierarchy | None = None

    def __init__(self, conn: sqlite3.Connection | None = None) -> None:
        self._conn = conn
        self._ups_asked = 0  # parent lookups made one synset at a time (see _ups)

    @classmethod
    def default(cls) -> Hierarchy:
        """The shared instance over the packaged index (opened on first use)."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_index()
        return self._conn

    # ------------------------------------------------------------ lookup

    def _synset(self, row: Sequence[object]) -> Synset:
        offset = int(row[0])  # type: ignore[call-overload]
        parents = tuple(
            (wnid(p), kind)
            for p, kind in self.conn.execute(
                "SELECT parent, kind FROM edge WHERE child = ? ORDER BY kind = 'instance', pos",
                (offset,),
            )
        )
        examples = str(row[6])
        return Synset(
            wnid=wnid(offset),
            offset=offset,
            name=str(row[1]),
            lexfile=str(row[2]),
            lemmas=tuple(str(row[3]).split()),
            ranks=tuple(int(r) for r in str(row[4]).split()),
            definition=str(row[5]),
            examples=tuple(examples.split(" | ")) if examples else (),
            n_children=int(row[7]),  # type: ignore[call-overload]
            n_descendants=int(row[8]),  # type: ignore[call-overload]
            depth=int(row[9]),  # type: ignore[call-overload]
            parents=parents,
        )

    def resolve(self, ident: str) -> str:
        """The wnid for a wnid, an 8-digit offset or an nltk name (``dog.n.01``).

        Raises :class:`NotFoundError` with a line that names the id and what is wrong.
        """
        return wnid(self._offset(ident))

    def resolve_label(self, label: str) -> str:
        """The wnid a model's label names: an ILSVRC-2012 class index (``0``-``999``, as
        torchvision and timm number the classes), or any id :meth:`resolve` takes."""
        if label.isdigit() and len(label) < 8:
            return releases.ilsvrc_wnid(int(label))
        return self.resolve(label)

    def resolve_listed(self, idents: Iterable[tuple[str, str]]) -> list[str]:
        """The wnids of ``(where, id)`` pairs, in order; ``where`` says where a bad id
        came from (``"ids.txt: line 4: "``, or ``""`` for an argument).

        Every bad id is reported at once, each on its own line of one
        :class:`NotFoundError` (at most :data:`MAX_BAD_IDS`, then a count), so a list
        with typos is not mended one rerun at a time.
        """
        found: list[str] = []
        bad: list[str] = []
        for where, ident in idents:
            try:
                found.append(self.resolve(ident))
            except NotFoundError as exc:
                bad.append(f"{where}{exc}")
        if bad:
            more = len(bad) - MAX_BAD_IDS
            tail = [f"... and {more} more ids that name no noun synset"] if more > 0 else []
            raise NotFoundError("\n".join(bad[:MAX_BAD_IDS] + tail))
        return found

    def _offset(self, ident: str) -> int:
        text = ident.strip()
        offset = offset_of(text)
        if offset is not None:
            if self.conn.execute("SELECT 1 FROM synset WHERE offset = ?", (offset,)).fetchone():
                return offset
            raise NotFoundError(f"{clip(text)}: no WordNet 3.0 noun synset has this id")
        match = NAME_RE.match(text)
        if match:
            if match.group(2).lower() != "n":
                raise NotFoundError(f"{clip(text)}: not a noun synset (ImageNet holds nouns only)")
            name = f"{match.group(1).lower()}.n.{int(match.group(3)):02d}"
            if not is_utf8(name):
                raise NotFoundError(f"{clip(text)}: no synset of this name")
            row = self.conn.execute("SELECT offset FROM synset WHERE name = ?", (name,)).fetchone()
            if row:
                return int(row[0])
            raise NotFoundError(f"{clip(text)}: no synset of this name")
        raise NotFoundError(
            f"{clip(text)}: not a synset id (give a wnid like n02084071, an offset like 02084071, "
            "or a name like dog.n.01; 'imagenet synset search' finds words)"
        )

    def get(self, ident: str) -> Synset:
        """The synset for any id form."""
        offset = self._offset(ident)
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM synset WHERE offset = ?", (offset,)
        ).fetchone()
        return self._synset(row)

    def get_many(self, wnids: Iterable[str]) -> list[Synset]:
        """Synsets for known wnids, in the order given."""
        return [self.get(w) for w in wnids]

    def contains(self, ident: str) -> bool:
        """Whether ``ident`` names a noun synset."""
        try:
            self._offset(ident)
        except NotFoundError:
            return False
        return True

    def __len__(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM synset").fetchone()[0])

    # ------------------------------------------------------------ structure

    @cached_property
    def _children(self) -> dict[int, list[int]]:
        """Children of every synset, sorted, loaded once."""
        return _group(self.conn.execute("SELECT parent, child FROM edge ORDER BY parent, child"))

    @cached_property
    def _parents(self) -> dict[int, list[int]]:
        """Parents of every synset, loaded once."""
        return _group(self.conn.execute("SELECT child, parent FROM edge ORDER BY child, parent"))

    def parents(self, ident: str) -> list[Synset]:
        """Direct hypernyms and instance hypernyms."""
        return self.get_many(w for w, _kind in self.get(ident).parents)

    def children(self, ident: str) -> list[Synset]:
        """Direct hyponyms and instances, by wnid."""
        offset = self._offset(ident)
        rows = self.conn.execute(
            "SELECT child FROM edge WHERE parent = ? ORDER BY child", (offset,)
        )
        return self.get_many(wnid(r[0]) for r in rows.fetchall())

    def parent_offsets(self, offset: int) -> list[int]:
        """The offsets of the direct hypernyms and instance hypernyms of ``offset``."""
        return list(self._ups(offset))

    def _ups(self, offset: int) -> list[int]:
        """The parents of one synset, sorted.

        A lookup or two needs a few of the 84,000 edges: ask the index for each (a few
        microseconds) instead of loading them all (about 50 ms, most of a ``synset show``).
        Past a few thousand lookups in one process, load them all after all.
        """
        loaded = self.__dict__.get("_parents")
        if loaded is None and self._ups_asked < UPS_BEFORE_LOADING:
            self._ups_asked += 1
            rows = self.conn.execute(
                "SELECT parent FROM edge WHERE child = ? ORDER BY parent", (offset,)
            )
            return [r[0] for r in rows]
        return (loaded or self._parents).get(offset, [])

    def ancestor_offsets(self, offset: int) -> set[int]:
        """Every synset above ``offset`` (not itself)."""
        seen: set[int] = set()
        stack = list(self._ups(offset))  # a copy: the list may be the loaded edges' own
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self._ups(node))
        return seen

    def descendant_offsets(self, offset: int) -> set[int]:
        """Every synset below ``offset`` (not itself)."""
        children = self._children
        seen: set[int] = set()
        stack = list(children.get(offset, ()))
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(children.get(node, ()))
        return seen

    def ancestors(self, ident: str) -> list[Synset]:
        """Every synset above ``ident``, nearest first (by depth, then wnid)."""
        found = self.get_many(wnid(o) for o in self.ancestor_offsets(self._offset(ident)))
        return sorted(found, key=lambda s: (-s.depth, s.offset))

    def descendants(
        self,
        ident: str,
        *,
        leaves: bool = False,
        release: str | None = None,
        include_self: bool = False,
    ) -> list[str]:
        """The wnids below ``ident``, sorted; ``release`` keeps only its classes.

        ``leaves`` keeps synsets with no children; ``include_self`` adds ``ident``
        itself when it passes the same filters.
        """
        offset = self._offset(ident)
        found = self.descendant_offsets(offset)
        if include_self:
            found.add(offset)
        if leaves:
            children = self._children
            found = {o for o in found if o not in children}
        result = sorted(wnid(o) for o in found)
        if release:
            members = releases.class_set(release)
            result = [w for w in result if w in members]
        return result

    def hypernym_paths(self, ident: str) -> list[list[str]]:
        """Every path of wnids from the root down to ``ident``, as nltk orders them."""
        start = self._offset(ident)
        paths: list[list[int]] = []
        stack: list[list[int]] = [[start]]
        while stack:
            path = stack.pop()
            ups = self._ups(path[-1])
            if not ups:
                paths.append(path[::-1])
                continue
            stack.extend([*path, p] for p in reversed(ups))
        return sorted(([wnid(o) for o in p] for p in paths), key=lambda p: (len(p), p))

    def lca(self, idents: Sequence[str]) -> list[Synset]:
        """The lowest common ancestors of the ids: the deepest synsets above (or equal to)
        all of them. Several when the hierarchy joins, as nltk's
        ``lowest_common_hypernyms`` finds them."""
        if len(idents) < 2:
            raise UsageError("lca needs at least two ids")
        common: set[int] | None = None
        for ident in idents:
            offset = self._offset(ident)
            up = self.ancestor_offsets(offset) | {offset}
            common = up if common is None else common & up
        if not common:
            return []
        found = self.get_many(wnid(o) for o in common)
        deepest = max(s.depth for s in found)
        return sorted((s for s in found if s.depth == deepest), key=lambda s: s.offset)

    def count_under(self, ident: str, release: str) -> int:
        """How many classes of ``release`` are ``ident`` or below it."""
        offset = self._offset(ident)
        members = releases.class_set(release)
        below = self.descendant_offsets(offset) | {offset}
        return sum(1 for o in below if wnid(o) in members)

    def tree(
        self, ident: str = ROOT, *, depth: int | None = None, release: str | None = None
    ) -> TreeNode:
        """The hierarchy under ``ident`` to ``depth`` levels.

        Each node counts its descendants, or with ``release`` the classes of that
        release at or below it; with ``release`` only branches holding some are kept.
        A synset with two parents appears under both.
        """
        children = self._children
        root = self._offset(ident)
        # The whole hierarchy is 111,557 nodes: keep the per-node work to a minimum.
        rows: dict[int, tuple[int, str, str, int]] = {
            r[0]: r for r in self.conn.execute("SELECT offset, name, lemma, n_desc FROM synset")
        }
        counts: dict[int, int] = {}
        if release:
            members = {
                o for o in (offset_of(w) for w in releases.classes(release)) if o is not None
            }
            counts = _release_counts(root, children, members)
        node_of = TreeNode
        _o, name, lemma, n_desc = rows[root]
        top = node_of(root, name, lemma, counts.get(root, 0) if release else n_desc)
        stack: list[tuple[TreeNode, int]] = [(top, 0)]
        pop, push = stack.pop, stack.append
        while stack:
            node, level = pop()
            kids = children.get(node.offset, ())
            if release:
                kids = [k for k in kids if k in counts]
            if not kids:
                continue
            if depth is not None and level >= depth:
                node.truncated = True
                continue
            below = node.children
            for k in kids:
                _o, name, lemma, n_desc = rows[k]
                child = node_of(k, name, lemma, counts[k] if release else n_desc)
                below.append(child)
                push((child, level + 1))
        return top

    # ------------------------------------------------------------ search

    def search(
        self,
        query: str,
        *,
        release: str | None = None,
        limit: int | None = 20,
        gloss: bool = False,
    ) -> list[SearchHit]:
        """Synsets whose lemmas match ``query``, best first.

        Case, spaces, underscores and hyphens do not matter, and inflected forms find
        their lemma (dogs, geese, mice). Ranking: an exact lemma, then the lemma of
        an inflected form (data before datum, as WordNet's morphy orders them), then a
        lemma that starts with the query, then a lemma holding it as a word, then as part of a
        word, then (with ``gloss``) a definition holding it; ties go to the more
        common sense (WordNet's sense rank), then the earlier lemma of the synset.
        """
        norm = normalize(query)
        if not norm:
            raise UsageError("search needs a word")
        if not is_utf8(norm):
            return []  # bytes that are not UTF-8 (as Python decodes them): no lemma holds them
        if len(norm.encode()) * 2 + 2 > self.conn.getlimit(
            sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH
        ):
            return []  # past what LIKE takes (50 kB), far past any lemma or definition
        forms = [norm, *self.base_forms(norm)]
        members = releases.class_set(release) if release else None
        hits: dict[int, tuple[int, int, int, int, int, str, str]] = {}

        def take(tier: int, rows: Iterable[tuple[int, int, int, str]], base: int = 0) -> None:
            kind = MATCH_ORDER[tier]
            for offset, pos, rank, lemma in rows:
                if members is not None and wnid(offset) not in members:
                    continue
                key = (tier, base, rank, pos, offset, kind, lemma)
                if offset not in hits or key < hits[offset]:
                    hits[offset] = key

        def enough(tier: int) -> bool:
            return limit is not None and sum(1 for k in hits.values() if k[0] <= tier) >= limit

        marks = ",".join("?" * len(forms))
        sql = "SELECT l.offset, l.pos, l.rank, s.lemmas FROM lemma l JOIN synset s USING (offset)"
        take(0, self._lemma_rows(f"{sql} WHERE l.norm = ?", [norm]))
        if len(forms) > 1:
            # An exact match of a base form (datum for data) comes after the query's own lemma.
            bases = ",".join("?" * (len(forms) - 1))
            take(0, self._lemma_rows(f"{sql} WHERE l.norm IN ({bases})", forms[1:]), base=1)
        if not enough(0):
            lo, hi = norm, norm + "\U0010ffff"
            rows = self._lemma_rows(f"{sql} WHERE l.norm > ? AND l.norm < ?", [lo, hi])
            take(1, rows)
        if not enough(1):
            if " " in norm:
                like = f"% {_escape_like(norm)} %"
                rows = self._lemma_rows(
                    f"{sql} WHERE ' ' || l.norm || ' ' LIKE ? ESCAPE '\\'", [like]
                )
            else:
                rows = self._lemma_rows(
                    "SELECT w.offset, w.pos, w.rank, s.lemmas FROM word w"
                    f" JOIN synset s USING (offset) WHERE w.word IN ({marks})",
                    forms,
                )
            take(2, rows)
        if not enough(2) and len(norm) >= 3:
            like = f"%{_escape_like(norm)}%"
            take(3, self._lemma_rows(f"{sql} WHERE l.norm LIKE ? ESCAPE '\\'", [like]))
        if gloss and not enough(3):
            like = f"%{_escape_like(norm)}%"
            rows = self.conn.execute(
                "SELECT offset, 0, 99, lemmas FROM synset WHERE definition LIKE ? ESCAPE '\\'",
                (like,),
            )
            take(4, ((o, p, r, lem.split()[0]) for o, p, r, lem in rows))
        ordered = sorted(hits.values())
        if limit is not None:
            ordered = ordered[:limit]
        return [
            SearchHit(self.get(wnid(offset)), kind, lemma, rank)
            for _tier, _base, rank, _pos, offset, kind, lemma in ordered
        ]

    def _lemma_rows(self, sql: str, params: Sequence[str]) -> Iterator[tuple[int, int, int, str]]:
        for offset, pos, rank, lemmas in self.conn.execute(sql, params):
            yield offset, pos, rank, lemmas.split()[pos]

    def base_forms(self, norm: str) -> list[str]:
        """Base forms of an inflected noun, as WordNet's morphy finds them (geese -> goose)."""
        forms = [r[0] for r in self.conn.execute("SELECT base FROM exc WHERE form = ?", (norm,))]
        head, _, last = norm.rpartition(" ")
        prefix = f"{head} " if head else ""
        for suffix, ending in _DETACH:
            if last.endswith(suffix) and len(last) > len(suffix):
                forms.append(prefix + last[: len(last) - len(suffix)] + ending)
        known = [
            f
            for f in dict.fromkeys(forms)
            if f != norm
            and self.conn.execute("SELECT 1 FROM lemma WHERE norm = ? LIMIT 1", (f,)).fetchone()
        ]
        return known


# WordNet's morphy detachment rules for nouns (morph.c).
_DETACH = (
    ("s", ""),
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _group(pairs: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    """``{key: [values...]}`` from (key, value) rows sorted by key."""
    grouped: dict[int, list[int]] = {}
    for key, value in pairs:
        found = grouped.get(key)
        if found is None:
            grouped[key] = [value]
        else:
            found.append(value)
    return grouped


def _release_counts(root: int, children: dict[int, list[int]], members: set[int]) -> dict[int, int]:
    """Classes of a release at or below each node under ``root`` (distinct classes)."""
    sets = below_sets([root], children, members.__contains__)
    return {node: len(found) for node, found in sets.items() if found}
