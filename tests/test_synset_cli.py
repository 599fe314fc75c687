"""``imagenet synset`` through the CLI: formats, ids from stdin, exit codes."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from imagenet_cli.hierarchy import Hierarchy

from .conftest import run


def test_search_tsv_header_then_dog() -> None:
    lines = run(["synset", "search", "dog", "-f", "tsv"]).lines
    assert lines[0].split("\t")[:3] == ["wnid", "name", "match"]
    assert lines[1].startswith("n02084071\tdog.n.01\texact\t")


def test_search_defaults_to_tsv_when_piped() -> None:
    assert run(["synset", "search", "dog"]).lines[0].startswith("wnid\t")


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "ids"])
def test_search_formats(fmt: str) -> None:
    out = run(["synset", "search", "tench", "-f", fmt, "--limit", "2"]).stdout
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[0]["wnid"] == "n01440764" and rows[0]["ilsvrc"] == "0"
    elif fmt == "json":
        doc = json.loads(out)
        assert doc[0]["wnid"] == "n01440764" and doc[0]["lemmas"][0] == "tench"
    elif fmt == "jsonl":
        first = json.loads(out.splitlines()[0])
        assert first["ilsvrc"] == 0
    else:
        assert out.splitlines()[0] == "n01440764"


def test_search_nothing_found_exits_3() -> None:
    res = run(["synset", "search", "qwxzvy"], expect=3)
    assert "qwxzvy: no synset matches" in res.stderr


def test_unknown_release_is_not_found() -> None:
    res = run(["synset", "search", "dog", "--release", "imagenet-9k"], expect=3)
    assert "unknown release or preset 'imagenet-9k'" in res.stderr


def test_show_unknown_id_reports_and_answers_the_rest() -> None:
    res = run(["synset", "show", "n02084071", "n99999999", "cat.n.01", "-f", "jsonl"], expect=3)
    docs = [json.loads(line) for line in res.lines]
    assert [d["wnid"] for d in docs] == ["n02084071", "n02121620"]
    assert (
        res.stderr.strip() == "imagenet: error: n99999999: no WordNet 3.0 noun synset has this id"
    )
    dog = docs[0]
    assert dog["children"] == len(Hierarchy.default().children("n02084071"))
    assert dog["descendants"] == len(Hierarchy.default().descendants("n02084071"))
    assert dog["paths"][0][:2] == ["entity.n.01", "physical_entity.n.01"]
    assert "imagenet21k" in dog["releases"] and "ilsvrc2012" not in dog["releases"]


def test_show_ids_from_stdin() -> None:
    res = run(["synset", "show", "-", "-f", "ids"], input="n02084071\n\n# comment\ndog.n.01\n")
    assert res.lines == ["n02084071", "n02084071"]


def test_search_output_pipes_into_show() -> None:
    tsv = run(["synset", "search", "dog", "--limit", "2"]).stdout
    assert run(["synset", "show", "-", "-f", "ids"], input=tsv).lines == ["n02084071", "n10114209"]


def test_relations() -> None:
    parents = run(["synset", "parents", "n02084071", "-f", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(parents)))
    assert {r["wnid"] for r in rows} == {"n02083346", "n01317541"} and rows[0]["kind"] == "hypernym"
    kids = run(["synset", "children", "n02085374", "-f", "ids"]).lines
    assert "n02085620" in kids
    anc = run(["synset", "ancestors", "n02085620", "-f", "ids"]).lines
    assert anc[0] == "n02085374" and anc[-1] == "n00001740"
    lca = run(["synset", "lca", "n02084071", "n02121808", "-f", "ids"]).lines
    assert lca == ["n02075296"]


def test_descendants_release_and_leaves() -> None:
    ids = run(["synset", "descendants", "n02084071", "--release", "ilsvrc2012", "-f", "ids"]).lines
    assert ids == Hierarchy.default().descendants("n02084071", release="ilsvrc2012")
    leaves = run(["synset", "descendants", "n02085374", "--leaves", "-f", "ids"]).lines
    assert "n02085374" not in leaves and "n02085620" in leaves


def test_descendants_include_self_adds_each_given_synset() -> None:
    args = ["synset", "descendants", "n02085374", "-f", "ids"]
    below = run(args).lines
    assert run([*args, "--include-self"]).lines == ["n02085374", *below]
    # the filters apply to it as to the rest: a synset with children is no leaf
    assert run([*args, "--include-self", "--leaves"]).lines == run([*args, "--leaves"]).lines


def test_map_side_by_side_and_ilsvrc_index() -> None:
    res = run(
        ["synset", "map", "-", "--ilsvrc-index", "-f", "tsv"],
        input="0\n999\ndog.n.01\n1000\n",
        expect=3,
    )
    rows = [line.split("\t") for line in res.lines]
    assert rows[0] == ["id", "wnid", "offset", "name", "ilsvrc", "lemma"]
    assert rows[1][:2] == ["0", "n01440764"] and rows[1][4] == "0"
    assert rows[2][4] == "999"
    assert rows[3][:4] == ["dog.n.01", "n02084071", "02084071", "dog.n.01"]
    assert "1000 is out of range" in res.stderr


@pytest.mark.parametrize("ident", ["\u00b2", "\u0661\u0662", "\u2460"])
def test_map_ilsvrc_index_of_a_digit_that_is_not_ascii_is_one_line(ident: str) -> None:
    res = run(["synset", "map", "--ilsvrc-index", ident, "0"], expect=3)
    assert res.lines[1].split("\t")[:2] == ["0", "n01440764"]
    assert res.stderr.startswith(f"imagenet: error: {ident}: not a synset id (")
    assert len(res.stderr.splitlines()) == 1


def test_releases_lists_counts() -> None:
    rows = [line.split("\t") for line in run(["synset", "releases"]).lines]
    assert rows[1][:3] == ["ilsvrc2012", "release", "1000"]
    names = {r[0] for r in rows[1:]}
    assert "imagewoof" not in names
    assert "imagewoof" in run(["synset", "releases", "--all", "-f", "ids"]).lines


def test_tree_plain_json_ids() -> None:
    plain = run(["synset", "tree", "n02084071", "--depth", "1"]).lines
    assert plain[0].startswith("n02084071 dog.n.01 dog (")
    assert all(line.startswith("  n") for line in plain[1:])
    doc = json.loads(
        run(
            ["synset", "tree", "n02084071", "--depth", "2", "--release", "ilsvrc2012", "-f", "json"]
        ).stdout
    )
    assert (
        doc["classes"]
        == 118
        == len(Hierarchy.default().descendants("n02084071", release="ilsvrc2012"))
    )
    assert all(child["classes"] > 0 for child in doc["children"])
    ids = run(["synset", "tree", "n02085374", "-f", "ids"]).lines
    assert ids[0] == "n02085374" and "n02085620" in ids
    res = run(["synset", "tree", "n02084071", "-f", "csv"], expect=2)
    assert "'csv' is not one of 'table', 'tsv', 'json', 'ids'" in res.stderr
    # help and completion offer only the formats a tree is written in
    assert re.search(r"--format table\|tsv\|json\|ids\s", run(["synset", "tree", "--help"]).stdout)
    assert re.search(r"--format table\|json\s", run(["terms", "show", "--help"]).stdout)
    assert (
        "'jsonl' is not one of 'table', 'json'"
        in run(["terms", "show", "-f", "jsonl"], expect=2).stderr
    )


def test_tree_release_without_classes_is_not_found() -> None:
    res = run(["synset", "tree", "n02085620", "--release", "imagenette"], expect=3)
    assert "no class of imagenette" in res.stderr


def test_table_format_renders_with_rich() -> None:
    out = run(["synset", "search", "tench", "-f", "table", "--limit", "1"]).stdout
    assert "n01440764" in out and "\t" not in out
    out = run(["synset", "show", "n01440764", "-f", "table"]).stdout
    assert "ILSVRC-2012 index" in out and "tench" in out
    out = run(["synset", "tree", "n02085374", "--depth", "1", "-f", "table"]).stdout
    assert "Chihuahua" in out and "n02085620" in out


def test_usage_errors_exit_2() -> None:
    assert run(["synset", "search"], expect=2).code == 2
    assert run(["synset", "search", "dog", "--limit", "0"], expect=2).code == 2
    assert run(["synset", "lca", "n02084071"], expect=2).code == 2


def test_tree_of_stdin_takes_one_id() -> None:
    assert run(["synset", "tree", "-", "-f", "ids"], input="n02085374\n").lines[0] == "n02085374"
    res = run(["synset", "tree", "-", "-f", "ids"], input="n02085374\nn02084071\n", expect=2)
    assert res.stderr == (
        "imagenet: error: -: several ids on stdin (n02085374, n02084071, ...); "
        "a tree has one root\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "\udcff"], "\\udcff: no synset matches"),
        (["search", "dog\udcff", "--gloss"], "dog\\udcff: no synset matches"),
        (["show", "\udcff.n.01", "dog.n.01", "-f", "ids"], "\\udcff.n.01: no synset of this name"),
    ],
)
def test_ids_and_words_that_are_not_utf8_are_not_found(args: list[str], message: str) -> None:
    import subprocess
    import sys

    # Bytes that are not UTF-8 reach the program as lone surrogates, as Python decodes argv.
    argv = [a.encode("utf-8", "surrogateescape") for a in ["synset", *args]]
    res = subprocess.run(
        [sys.executable, "-m", "imagenet_cli", *argv], capture_output=True, text=True
    )
    assert (res.returncode, res.stderr) == (3, f"imagenet: error: {message}\n")
    assert res.stdout == ("n02084071\n" if "show" in args else "")


def test_search_drops_accents_as_wordnets_ascii_lemmas_have_none() -> None:
    rows = run(["synset", "search", "Café", "-f", "ids"]).lines
    assert rows[0] == "n02935658"  # cafe.n.01
    assert run(["synset", "search", "gödel", "-f", "ids"]).lines[0] == "n11003068"


def test_a_name_in_capitals_is_the_same_synset() -> None:
    assert run(["synset", "show", "DOG.N.01", "Dog.n.1", "-f", "ids"]).lines == ["n02084071"] * 2
    res = run(["synset", "show", "dog.V.01"], expect=3)
    assert "not a noun synset" in res.stderr
