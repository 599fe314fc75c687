"""The hierarchy core: id forms, search ranking, ancestry, trees."""

from __future__ import annotations

import pytest

from imagenet_cli import releases
from imagenet_cli.errors import NotFoundError, UsageError
from imagenet_cli.hierarchy import ROOT, Hierarchy


@pytest.fixture
def h() -> Hierarchy:
    return Hierarchy.default()


def test_index_holds_every_noun_synset(h: Hierarchy) -> None:
    assert len(h) == 82_115
    root = h.get(ROOT)
    assert root.name == "entity.n.01" and root.parents == ()
    assert root.n_descendants == 82_114


@pytest.mark.parametrize("ident", ["n02084071", "02084071", "dog.n.01", "Dog.n.1", " n02084071 "])
def test_every_id_form_resolves(h: Hierarchy, ident: str) -> None:
    assert h.resolve(ident) == "n02084071"


@pytest.mark.parametrize(
    ("ident", "fragment"),
    [
        ("n99999999", "no WordNet 3.0 noun synset"),
        ("dog.v.01", "not a noun synset"),
        ("nosuch.n.01", "no synset of this name"),
        ("dog", "not a synset id"),
        ("n0208407", "not a synset id"),
    ],
)
def test_unknown_ids_name_the_id_and_the_problem(h: Hierarchy, ident: str, fragment: str) -> None:
    with pytest.raises(NotFoundError) as err:
        h.resolve(ident)
    assert ident.strip() in str(err.value) and fragment in str(err.value)


def test_synset_fields(h: Hierarchy) -> None:
    dog = h.get("n02084071")
    assert dog.lemmas == ("dog", "domestic_dog", "Canis_familiaris")
    assert dog.ranks[0] == 1
    assert dog.label == "dog"
    assert dog.lexfile == "noun.animal"
    assert ("n02083346", "hypernym") in dog.parents
    assert dog.ilsvrc_index is None
    assert h.get("n01440764").ilsvrc_index == 0  # tench: first of the sorted 1,000


def test_instance_hypernyms_are_marked(h: Hierarchy) -> None:
    einstein = h.get(h.search("Einstein", limit=1)[0].synset.wnid)
    assert any(kind == "instance" for _w, kind in einstein.parents)


def test_search_ranks_exact_then_prefix_then_word(h: Hierarchy) -> None:
    hits = h.search("dog", limit=40)
    assert hits[0].synset.wnid == "n02084071"
    kinds = [hit.match for hit in hits]
    assert kinds == sorted(kinds, key=["exact", "prefix", "word", "substring", "gloss"].index)
    exact = [hit for hit in hits if hit.match == "exact"]
    assert [hit.rank for hit in exact] == sorted(hit.rank for hit in exact)
    assert {"exact", "prefix"} <= set(kinds)


@pytest.mark.parametrize(
    ("query", "lemma"),
    [
        ("dogs", "dog"),
        ("geese", "goose"),
        ("mice", "mouse"),
        ("women", "woman"),
        ("boxes", "box"),
        ("churches", "church"),
        ("ponies", "pony"),
    ],
)
def test_inflected_forms_find_their_lemma(h: Hierarchy, query: str, lemma: str) -> None:
    top = h.search(query, limit=1)[0]
    assert top.match == "exact" and top.lemma.lower() == lemma


@pytest.mark.parametrize(
    ("query", "first", "then"),
    [
        ("data", "data.n.01", "datum.n.01"),
        ("glasses", "spectacles.n.01", "glass.n.01"),
        ("teeth", "dentition.n.02", "tooth.n.01"),
        ("men", "work_force.n.01", "man.n.01"),
        ("oxen", "cattle.n.01", "ox.n.01"),
    ],
)
def test_exact_lemma_comes_before_the_base_form(
    h: Hierarchy, query: str, first: str, then: str
) -> None:
    # Each query is a lemma itself and an inflected form of another: nltk's first
    # synset (the query's own lemma) leads, its base form's synset follows.
    names = [hit.synset.name for hit in h.search(query, limit=5)]
    assert names[0] == first and then in names
    assert h.search(query, limit=1)[0].synset.name == first


@pytest.mark.parametrize("query", ["hot dog", "hot_dog", "HOT-DOG", "  hot   dog "])
def test_case_space_underscore_hyphen_are_equal(h: Hierarchy, query: str) -> None:
    assert {hit.synset.wnid for hit in h.search(query, limit=3)} == {
        hit.synset.wnid for hit in h.search("hotdog", limit=3)
    } or h.search(query, limit=1)[0].match == "exact"
    assert h.search(query, limit=1)[0].lemma.lower().replace("_", " ") in ("hot dog", "hotdog")


def test_search_word_inside_lemma_and_gloss(h: Hierarchy) -> None:
    words = h.search("retriever", limit=50)
    assert any(hit.match == "word" and "golden_retriever" in hit.synset.lemmas for hit in words)
    gloss = h.search("domesticated by man", gloss=True, limit=50)
    assert any(hit.match == "gloss" and hit.synset.wnid == "n02084071" for hit in gloss)
    assert all(hit.match != "gloss" for hit in h.search("domesticated by man", limit=50))


def test_search_release_filter_and_limit(h: Hierarchy) -> None:
    hits = h.search("terrier", release="ilsvrc2012", limit=5)
    assert len(hits) == 5
    assert all(hit.synset.ilsvrc_index is not None for hit in hits)


def test_search_needs_a_word(h: Hierarchy) -> None:
    with pytest.raises(UsageError):
        h.search(" - ")


@pytest.mark.parametrize("query", ["dog " * 20_000, "s" * 100_000, "%" * 30_000])
def test_a_query_longer_than_any_text_finds_nothing(h: Hierarchy, query: str) -> None:
    assert h.search(query, gloss=True) == []
    assert h.search(query.strip()[:1000] or "x", gloss=True, limit=1) == []


def test_descendants_release_leaves_and_self(h: Hierarchy) -> None:
    dogs = h.descendants("n02084071", release="ilsvrc2012")
    assert "n02085620" in dogs and "n02084071" not in dogs
    assert dogs == sorted(dogs)
    assert h.descendants("n02085620") == [] or all(
        w != "n02085620" for w in h.descendants("n02085620")
    )
    assert h.descendants("n02085620", include_self=True, release="ilsvrc2012") == ["n02085620"]
    leaves = h.descendants("n02084071", leaves=True)
    assert leaves and all(not h.children(w) for w in leaves[:20])
    assert h.count_under("n02084071", "ilsvrc2012") == len(dogs)


def test_paths_ancestors_lca(h: Hierarchy) -> None:
    paths = h.hypernym_paths("n02084071")
    assert len(paths) == 2 and all(p[0] == ROOT and p[-1] == "n02084071" for p in paths)
    ancestors = {a.wnid for a in h.ancestors("n02084071")}
    assert ancestors == {w for p in paths for w in p[:-1]}
    assert [s.name for s in h.lca(["dog.n.01", "cat.n.01"])] == ["carnivore.n.01"]
    assert [s.name for s in h.lca(["dog.n.01", "n02085620"])] == ["dog.n.01"]
    with pytest.raises(UsageError):
        h.lca(["dog.n.01"])


def test_paths_by_single_lookups_equal_paths_from_all_edges() -> None:
    # A lookup or two asks the index for each parent instead of loading all 84,000
    # edges; both ways give the same answers.
    import random

    one_by_one, loaded = Hierarchy(), Hierarchy()
    loaded._parents  # noqa: B018 -- every edge, loaded up front
    sample = ["n02084071", "n09918248", "n10787470", ROOT]
    sample += random.Random(5).sample(sorted(releases.classes("imagenet21k")), 40)
    for w in sample:
        assert one_by_one.hypernym_paths(w) == loaded.hypernym_paths(w), w
        assert one_by_one.ancestors(w) == loaded.ancestors(w), w
    for w in sample:  # asked again: no answer changed what the next one reads
        assert one_by_one.ancestors(w) == loaded.ancestors(w), w
        assert one_by_one.hypernym_paths(w) == loaded.hypernym_paths(w), w
    assert "_parents" not in one_by_one.__dict__  # never needed them all


def test_many_lookups_load_all_edges_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from imagenet_cli import hierarchy

    monkeypatch.setattr(hierarchy, "UPS_BEFORE_LOADING", 3)
    h, reference = Hierarchy(), Hierarchy()
    reference._parents  # noqa: B018
    assert h.hypernym_paths("n02085620") == reference.hypernym_paths("n02085620")
    assert "_parents" in h.__dict__  # past 3 single lookups, the rest came from all edges


def test_tree_counts_and_release_pruning(h: Hierarchy) -> None:
    node = h.tree("n02084071", depth=1)
    assert node.count == h.get("n02084071").n_descendants
    assert all(not c.children for c in node.children)
    assert any(c.truncated for c in node.children)
    pruned = h.tree("n02084071", release="ilsvrc2012")
    assert pruned.count == len(h.descendants("n02084071", release="ilsvrc2012"))
    stack = [pruned]
    while stack:
        n = stack.pop()
        assert n.count > 0
        assert n.count >= sum(0 for _ in n.children)
        stack.extend(n.children)


def test_release_catalog() -> None:
    counts = {c.name: c.count for c in releases.releases()}
    assert counts == {
        "ilsvrc2012": 1000,
        "imagenet21k": 21841,
        "imagenet12k": 11821,
        "imagenet-a": 200,
        "imagenet-r": 200,
        "mini-imagenet": 100,
        "imagenette": 10,
    }
    for c in releases.catalog().values():
        assert len(releases.classes(c.name)) == c.count
        assert releases.classes(c.name) == sorted(releases.classes(c.name))
    assert releases.canonical("ImageNet-1k") == "ilsvrc2012"
    assert releases.ilsvrc_wnid(0) == "n01440764"
    with pytest.raises(NotFoundError):
        releases.canonical("nope")
    labels = releases.val_labels()
    assert len(labels) == 50_000 and len(set(labels)) == 1000
