"""The embedded index against nltk's own reading of WordNet 3.0.

Runs when nltk finds the WordNet corpus (``make test`` installs it: see
scripts/setup_wordnet.sh). Without it the tests skip and say why, except under CI
(``CI`` set), where missing data is a failure: the check must really run there.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from imagenet_cli import releases
from imagenet_cli.hierarchy import Hierarchy


@pytest.fixture(scope="module")
def wn() -> Any:
    reason = ""
    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        if wordnet.get_version() != "3.0":
            reason = f"nltk WordNet is version {wordnet.get_version()}, not 3.0"
    except (ImportError, LookupError, OSError) as exc:
        reason = (
            f"nltk WordNet 3.0 data not found ({type(exc).__name__}); "
            "run `make wordnet` to enable this check"
        )
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return wordnet


def _wnid(s: Any) -> str:
    return f"n{s.offset():08d}"


def test_every_noun_synset_is_there(wn: Any) -> None:
    offsets = {s.offset() for s in wn.all_synsets("n")}
    h = Hierarchy.default()
    assert len(offsets) == len(h) == 82_115


def test_sample_of_synsets_agrees(wn: Any) -> None:
    h = Hierarchy.default()
    every = sorted(s.offset() for s in wn.all_synsets("n"))
    sample = [*random.Random(2012).sample(every, 3000), 2084071, 1740, 9918248, 10787470]
    for offset in sample:
        ref = wn.synset_from_pos_and_offset("n", offset)
        mine = h.get(f"n{offset:08d}")
        assert mine.name == ref.name()
        assert list(mine.lemmas) == ref.lemma_names()
        assert mine.definition == ref.definition()
        assert mine.lexfile == ref.lexname()
        assert {w for w, k in mine.parents if k == "hypernym"} == {
            _wnid(p) for p in ref.hypernyms()
        }
        assert {w for w, k in mine.parents if k == "instance"} == {
            _wnid(p) for p in ref.instance_hypernyms()
        }
        assert {tuple(p) for p in h.hypernym_paths(mine.wnid)} == {
            tuple(_wnid(s) for s in path) for path in ref.hypernym_paths()
        }
        for lemma, rank in zip(mine.lemmas, mine.ranks, strict=True):
            senses = [s for s in wn.synsets(lemma, "n") if lemma in s.lemma_names()]
            if ref in senses and all(lemma in s.lemma_names() for s in wn.synsets(lemma, "n")):
                assert senses.index(ref) + 1 == rank


@pytest.mark.parametrize(
    "ident",
    ["n02084071", "n00015388", "n00001740", "n03575240", "n01503061", "n04341686", "n07707451"],
)
def test_release_counts_under_a_synset_agree(wn: Any, ident: str) -> None:
    ref = wn.synset_from_pos_and_offset("n", int(ident[1:]))
    below = {_wnid(s) for s in ref.closure(lambda s: s.hyponyms() + s.instance_hyponyms())}
    h = Hierarchy.default()
    for release in ("ilsvrc2012", "imagenet-a", "imagenette"):
        expected = sorted(below & releases.class_set(release))
        assert h.descendants(ident, release=release) == expected
        at_or_below = set(expected) | ({ident} & releases.class_set(release))
        assert h.count_under(ident, release) == len(at_or_below)
    assert h.get(ident).n_descendants == len(below)


@pytest.mark.parametrize(
    "word", ["dogs", "geese", "mice", "women", "boxes", "wolves", "children", "analyses"]
)
def test_inflections_match_morphy(wn: Any, word: str) -> None:
    base = wn.morphy(word, "n")
    top = Hierarchy.default().search(word, limit=1)[0]
    assert top.match == "exact" and top.lemma.lower() == base.lower()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("dog.n.01", "cat.n.01"),
        ("dog.n.01", "chihuahua.n.03"),
        ("car.n.01", "bicycle.n.01"),
        ("tench.n.01", "goldfish.n.01"),
        ("person.n.01", "dog.n.01"),
        ("einstein.n.01", "newton.n.02"),
    ],
)
def test_lca_matches_nltk(wn: Any, a: str, b: str) -> None:
    ref = {s.name() for s in wn.synset(a).lowest_common_hypernyms(wn.synset(b))}
    assert {s.name for s in Hierarchy.default().lca([a, b])} == ref
