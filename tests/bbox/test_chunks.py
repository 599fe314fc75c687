"""Streaming formats are formatted by the workers a batch at a time: the text and
the stderr lines must be exactly those of the per-record writers."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagenet_cli.bbox.convert import ConvertRequest, Source, convert, iter_annotations
from imagenet_cli.bbox.engine import ChunkSpec, ParseOptions, format_batch, plan
from imagenet_cli.bbox.inputs import iter_items
from imagenet_cli.bbox.records import Annotation, Box
from imagenet_cli.bbox.writers import CHUNK_FORMATS, csv_rows, format_chunk, make_writer

from .conftest import CASSETTE, TENCH, Fixture


def _record_path(src: Source, fmt: str, keep_empty: bool) -> tuple[str, list[str]]:
    """The output and the notes of the per-record route (as stats and crop use it)."""
    notes: list[str] = []
    out = io.StringIO()
    writer = make_writer(fmt, out, None, keep_empty=keep_empty)
    anns = iter_annotations(
        src, on_bad=lambda t: notes.append("bad " + t), on_quirk=lambda t: notes.append("q " + t)
    )
    for ann in anns:
        writer.write(ann)
    writer.close()
    return out.getvalue(), notes


def _convert(src: Source, fmt: str, keep_empty: bool) -> tuple[str, list[str]]:
    notes: list[str] = []
    out = io.StringIO()
    convert(
        ConvertRequest(src, fmt=fmt, keep_empty=keep_empty),
        out,
        on_bad=lambda t: notes.append("bad " + t),
        on_quirk=lambda t: notes.append("q " + t),
    )
    return out.getvalue(), notes


@pytest.mark.parametrize("fmt", CHUNK_FORMATS)
@pytest.mark.parametrize("keep_empty", [False, True])
def test_chunks_write_what_the_record_writers_write(
    ann: Fixture, fmt: str, keep_empty: bool
) -> None:
    inputs = [str(ann.folder), str(ann.hostile), str(ann.tgz), str(ann.folder / "missing.xml")]
    for workers, batch in ((1, None), (2, 3)):
        src = Source(inputs=inputs, workers=workers, batch_size=batch)
        got, got_notes = _convert(src, fmt, keep_empty)
        want, want_notes = _record_path(
            Source(inputs=inputs, workers=1, batch_size=batch), fmt, keep_empty
        )
        assert got == want
        assert got_notes == want_notes
        assert any(n.startswith("bad ") for n in got_notes)
        assert any(n.startswith("q ") for n in got_notes)
        assert src.tally.bad == sum(n.startswith("bad ") for n in got_notes)


def test_chunks_apply_the_filters_in_the_workers(ann: Fixture) -> None:
    src = Source(inputs=[str(ann.folder)], wnids=[TENCH, CASSETTE], workers=2, batch_size=2)
    got, _ = _convert(src, "csv", False)
    want, _ = _record_path(Source(inputs=[str(ann.folder)], wnids=[TENCH, CASSETTE]), "csv", False)
    assert got == want
    assert TENCH in got and CASSETTE in got
    assert src.tally.images == len({line.split(",")[0] for line in got.splitlines()[1:]})


def test_format_batch_counts_and_text() -> None:
    items = list(iter_items([], max_bytes=1000))
    assert format_batch((ParseOptions(), ChunkSpec("csv"), items)) == ("", 0, 0, 0, ())
    assert format_chunk("json", []) == ("", 0)


def test_a_batch_is_formatted_as_one_text(ann: Fixture) -> None:
    opts = ParseOptions()
    [(o, batch)] = list(plan(iter_items([str(ann.folder)], max_bytes=10**6), opts, 1000))
    chunk = format_batch((o, ChunkSpec("jsonl"), batch))
    assert chunk.files == len(batch)
    assert chunk.text.count("\n") == chunk.images
    assert chunk.boxes >= chunk.images


_text = st.text(alphabet=st.sampled_from(list("ab ,;\t\"\n\r'é%")), max_size=6)
_opt_int = st.none() | st.integers(0, 3)
_coord = st.integers(-5, 2000) | st.floats(-1, 2, allow_nan=False, allow_infinity=False)
_boxes = st.lists(
    st.builds(Box, _text, _coord, _coord, _coord, _coord, _opt_int, _opt_int, st.none() | _text),
    max_size=3,
)
_anns = st.lists(
    st.builds(
        Annotation,
        _text,
        st.none() | _text,
        st.none() | st.integers(1, 2000),
        st.none() | st.integers(1, 2000),
        st.none() | st.integers(1, 4),
        _text,
        st.tuples() | _boxes.map(tuple),
    ),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(anns=_anns, fmt=st.sampled_from(["csv", "tsv"]), keep_empty=st.booleans())
def test_csv_chunks_are_what_the_csv_module_writes(
    anns: list[Annotation], fmt: str, keep_empty: bool
) -> None:
    # Rows are joined directly unless a field needs quoting: any text, any number.
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
    writer.writerows(csv_rows(anns, keep_empty=keep_empty))
    assert format_chunk(fmt, anns, keep_empty)[0] == out.getvalue()


# Text that the plain layout admits (and some it does not: '<', '&'), with the
# characters that need csv quoting and the whitespace int() and strip() skip.
_field = st.text(alphabet=st.sampled_from(list(" \t\na,\"'%s<&1")), max_size=5)
_number = st.sampled_from(["0", "1", "7", "120", "375", " 42 ", "+3", "-2", "3.5", ""])
_flag = st.sampled_from(["1", " 1 ", "x", "", None])
_padded = st.sampled_from([" n01440764 ", "\tn01440764_9\n", "a b", " "])  # strip() matters


@st.composite
def _doc(draw: st.DrawFn) -> bytes:
    """A box file, mostly in ImageNet's plain layout, any field of it at times odd."""

    def pick(plain: str | None, odd: st.SearchStrategy[str | None]) -> str | None:
        return plain if draw(st.integers(0, 9)) < 8 else draw(odd)

    def leaf(tag: str, text: str | None) -> str:
        return "" if text is None else f"\t\t<{tag}>{text}</{tag}>\n"

    parts = [draw(st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>\n']))]
    parts.append("<annotation>\n")
    parts.append(leaf("folder", pick("n01440764", st.none() | _field | _padded)))
    parts.append(leaf("filename", pick("n01440764_9", st.none() | _field | _padded)))
    if pick("size", st.none()) is not None:
        parts.append(
            "\t<size>\n"
            + leaf("width", pick("500", _number))
            + leaf("height", pick("375", _number))
            + leaf("depth", pick("3", st.none() | _number))
            + "\t</size>\n"
        )
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2, 3]))):
        x0, y0 = pick("10", _number), pick("20", _number)
        x1, y1 = pick("300", _number), pick("200", _number)
        parts.append(
            "\t<object>\n"
            + leaf("name", pick("n01440764", _field | _padded))
            + leaf("pose", pick("Unspecified", st.none() | _field | _padded))
            + leaf("truncated", pick("0", _flag))
            + leaf("difficult", pick("0", _flag))
            + "\t\t<bndbox>\n"
            + leaf("xmin", x0)
            + leaf("ymin", y0)
            + leaf("xmax", x1)
            + leaf("ymax", y1)
            + "\t\t</bndbox>\n\t</object>\n"
        )
    parts.append("</annotation>\n")
    return "".join(parts).encode()


@settings(max_examples=300, deadline=None)
@given(
    docs=st.lists(_doc(), min_size=1, max_size=6),
    fmt=st.sampled_from(["csv", "tsv"]),
    keep_empty=st.booleans(),
)
def test_one_step_rows_are_what_the_whole_route_writes(
    docs: list[bytes], fmt: str, keep_empty: bool
) -> None:
    from imagenet_cli.bbox.engine import parse_item
    from imagenet_cli.bbox.inputs import Item, Items
    from imagenet_cli.bbox.records import BadFile

    items = Items(Item(f"ann/n01440764_{i}.xml", data=d) for i, d in enumerate(docs))
    opts, spec = ParseOptions(), ChunkSpec(fmt, keep_empty)
    anns, notes = [], []
    for item in items:
        res = parse_item(item, opts)
        if isinstance(res, BadFile):
            notes.append((True, str(res)))
            continue
        notes.extend((False, f"{res.source}: {quirk}") for quirk in res.quirks)
        anns.append(res)
    text, images = format_chunk(fmt, anns, keep_empty)
    chunk = format_batch((opts, spec, items))
    assert chunk.text == text
    assert list(chunk.notes) == notes
    assert (chunk.images, chunk.boxes) == (images, sum(len(a.boxes) for a in anns))
