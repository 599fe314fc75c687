"""Parsing: the fast path and lxml agree; quirks repaired; hostile files refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagenet_cli.bbox.engine import ParseOptions, parse_item
from imagenet_cli.bbox.inputs import Item
from imagenet_cli.bbox.parse import XmlError, _fast, parse
from imagenet_cli.bbox.records import Annotation, BadFile, Box
from imagenet_cli.bbox.repair import repair
from tests.conftest import run

from .conftest import BAD, BIG_BYTES, GOOD, ISO_8859_1, QUIRKS, TENCH, big_file, xml


def test_good_file_fields() -> None:
    ann = parse(GOOD[f"{TENCH}/{TENCH}_2.xml"].encode(), "ann/x.xml")
    assert ann == Annotation(
        f"{TENCH}_2",
        TENCH,
        500,
        375,
        3,
        "ann/x.xml",
        (
            Box(TENCH, 0, 0, 499, 374, 0, 0, "Unspecified"),
            Box(TENCH, 50, 60, 70, 80, 0, 0, "Unspecified"),
        ),
    )


@pytest.mark.parametrize("rel", sorted({**GOOD, **QUIRKS}))
def test_fast_path_and_lxml_agree_on_fixtures(rel: str) -> None:
    data = {**GOOD, **QUIRKS}[rel].encode()
    assert _fast(data, rel) is not None  # ImageNet's layout takes the fast path
    assert parse(data, rel) == parse(data, rel, fast=False)


texts = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
coords = st.one_of(
    st.integers(-50, 2000), st.floats(-50, 2000, allow_nan=False).map(lambda v: f"{v:.1f}")
)


@settings(max_examples=150, deadline=None)
@given(
    folder=st.one_of(st.none(), texts),
    filename=st.one_of(st.none(), texts),
    size=st.one_of(
        st.none(), st.tuples(st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 4))
    ),
    objects=st.lists(st.tuples(texts, coords, coords, coords, coords), max_size=4),
    pose=texts,
    decl=st.sampled_from(
        ["", '<?xml version="1.0"?>\n', "<?xml version='1.0' encoding='UTF-8'?>\n"]
    ),
)
def test_fast_path_matches_lxml(
    folder: str | None,
    filename: str | None,
    size: tuple[int, int, int] | None,
    objects: list[tuple[str, object, object, object, object]],
    pose: str,
    decl: str,
) -> None:
    """Any file in ImageNet's layout, odd text included, reads the same both ways."""
    from xml.sax.saxutils import escape

    def esc(v: object) -> str:
        return escape(str(v))

    doc = xml(
        folder=None if folder is None else esc(folder),
        filename=None if filename is None else esc(filename),
        size=size,
        objects=[(esc(n), esc(a), esc(b), esc(c), esc(d)) for n, a, b, c, d in objects],
        pose=esc(pose),
        decl=decl,
    ).encode()
    try:
        slow: Annotation | str = parse(doc, "d/f.xml", fast=False)
    except XmlError as exc:
        slow = exc.reason
    try:
        quick: Annotation | str = parse(doc, "d/f.xml")
    except XmlError as exc:
        quick = exc.reason
    assert quick == slow


def test_placeholder_and_missing_filename_fall_back_to_file_name() -> None:
    for rel in (f"{TENCH}/{TENCH}_placeholder.xml", f"{TENCH}/{TENCH}_nofilename.xml"):
        for fast in (True, False):
            ann = parse(QUIRKS[rel].encode(), f"ann/{rel}", fast=fast)
            assert ann.image == Path(rel).stem
    assert (
        parse(QUIRKS[f"{TENCH}/{TENCH}_placeholder.xml"].encode(), "a.tgz!x/y/n1_9.xml").image
        == "n1_9"
    )


def test_declared_latin1_is_honoured() -> None:
    ann = parse(ISO_8859_1, "latin.xml")
    assert ann.folder == "café"
    assert ann.boxes[0].pose == "Façade"


def test_utf16_with_bom_parses_and_utf16_doctype_is_refused() -> None:
    text = xml(decl='<?xml version="1.0" encoding="UTF-16"?>\n', objects=[(TENCH, 1, 2, 3, 4)])
    assert parse(text.encode("utf-16"), "u16.xml").boxes[0].xmax == 3
    hostile = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE a [<!ENTITY x "y">]><annotation/>'
    with pytest.raises(XmlError, match="DOCTYPE"):
        parse(hostile.encode("utf-16"), "u16.xml")


def test_undeclared_invalid_utf8_is_refused() -> None:
    data = xml(folder="caf\xe9").encode("latin-1")
    with pytest.raises(XmlError, match="malformed XML"):
        parse(data, "x.xml")


@pytest.mark.parametrize("rel", sorted(BAD))
def test_hostile_and_broken_files_are_refused(rel: str) -> None:
    data, reason = BAD[rel]
    with pytest.raises(XmlError, match=reason) as info:
        parse(data, rel)
    if reason in ("DOCTYPE", "malformed XML"):
        assert info.value.line is not None


def test_xxe_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n'
        "<annotation><filename>&x;</filename></annotation>"
    ).encode()
    with pytest.raises(XmlError) as info:
        parse(data, "x.xml")
    assert "TOP-SECRET" not in str(info.value)


def test_size_bound_refuses_50mb_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    big_file(path)
    assert path.stat().st_size == BIG_BYTES
    res = parse_item(Item(str(path), path=str(path)), ParseOptions())
    assert isinstance(res, BadFile)
    assert "over the limit" in res.reason


def test_repairs_each_quirk_once() -> None:
    def fixed(rel: str, **kw: object) -> Annotation:
        return repair(parse(QUIRKS[rel].encode(), rel), **kw)  # type: ignore[arg-type]

    swapped = fixed(f"{TENCH}/{TENCH}_swapped.xml")
    assert swapped.boxes[0][1:5] == (100, 20, 300, 40)
    assert swapped.quirks == ("box 1: min > max, corners swapped",)
    floats = fixed(f"{TENCH}/{TENCH}_float.xml")
    assert floats.boxes[0][1:5] == (11, 20, 100, 120)
    assert floats.quirks == ("box 1: float coordinates, rounded to whole pixels",)
    outside = fixed(f"{TENCH}/{TENCH}_outside.xml")
    assert outside.boxes[0][1:5] == (-5, 10, 530, 390)
    assert outside.quirks == ("box 1: past the image edge, kept (use --clip)",)
    clipped = fixed(f"{TENCH}/{TENCH}_outside.xml", clip=True)
    assert clipped.boxes[0][1:5] == (0, 10, 500, 375)
    for rel in (f"{TENCH}/{TENCH}_nosize.xml", f"{TENCH}/{TENCH}_zerosize.xml"):
        ann = fixed(rel)
        assert ann.width is None and ann.height is None
        assert len(ann.quirks) == 1 and "size missing" in ann.quirks[0]
    good = repair(parse(GOOD[f"{TENCH}/{TENCH}_1.xml"].encode(), "g"))
    assert good.quirks == ()


def test_whole_valued_float_coordinates_become_integers(tmp_path: Path) -> None:
    """``100.0`` (or ``1e2``) is a float coordinate like ``100.5``: written as a whole
    pixel, not as ``100.0``, in every format."""
    data = xml(filename=f"{TENCH}_9", objects=[(TENCH, "10.0", "20.0", "1e2", "120.0")])
    ann = repair(parse(data.encode(), "f.xml"))
    assert ann.boxes[0][1:5] == (10, 20, 100, 120)
    assert all(type(v) is int for v in ann.boxes[0][1:5])
    assert ann.quirks == ("box 1: float coordinates, rounded to whole pixels",)
    (tmp_path / "f.xml").write_text(data)
    csv_out = run(["bbox", "convert", str(tmp_path / "f.xml"), "-f", "csv"]).stdout
    assert csv_out.splitlines()[1].split(",")[3:7] == ["10", "20", "100", "120"]
    loc = run(["bbox", "convert", str(tmp_path / "f.xml"), "-f", "loc"]).stdout
    assert loc.splitlines()[1] == f"{TENCH}_9,{TENCH} 10 20 100 120"


def test_missing_size_read_from_the_image(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / TENCH).mkdir()
    Image.new("L", (123, 45)).save(tmp_path / TENCH / f"{TENCH}_nosize.JPEG")
    ann = repair(
        parse(QUIRKS[f"{TENCH}/{TENCH}_nosize.xml"].encode(), "n.xml"), images=str(tmp_path)
    )
    assert (ann.width, ann.height, ann.depth) == (123, 45, 1)
    assert ann.quirks == ("image size missing or zero, read from the image",)
    missing = repair(
        parse(QUIRKS[f"{TENCH}/{TENCH}_zerosize.xml"].encode(), "z.xml"), images=str(tmp_path)
    )
    assert missing.width is None and "no readable image" in missing.quirks[0]


def test_normalize_needs_the_size() -> None:
    data = QUIRKS[f"{TENCH}/{TENCH}_nosize.xml"].encode()
    res = parse_item(Item("n.xml", data=data), ParseOptions(normalize=True, need_size=True))
    assert isinstance(res, BadFile) and "size unknown" in res.reason
    good = parse_item(
        Item("g.xml", data=GOOD[f"{TENCH}/{TENCH}_1.xml"].encode()), ParseOptions(normalize=True)
    )
    assert isinstance(good, Annotation)
    assert good.boxes[0][1:5] == (10 / 500, 20 / 375, 200 / 500, 300 / 375)


def test_a_file_nested_too_deeply_is_refused_in_our_words() -> None:
    data = b"<annotation>" + b"<a>" * 300 + b"</a>" * 300 + b"</annotation>"
    with pytest.raises(XmlError) as info:
        parse(data, "deep.xml")
    assert info.value.reason == (
        "malformed XML: Excessive depth in document: 256 (the limit for untrusted files)"
    )
