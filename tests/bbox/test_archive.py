"""Safe tar reading: members in order, hostile members refused, bounds kept."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
from pathlib import Path

import pytest

from imagenet_cli.archive import ArchiveError, iter_tar, unsafe_name


def _tar(
    members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.GNU_FORMAT
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info, None


def _read(data: bytes, limit: int = 1 << 20) -> list[tuple[str, bytes | None, str | None]]:
    return [(e.name, e.data, e.problem) for e in iter_tar(io.BytesIO(data), max_member_bytes=limit)]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_members_in_archive_order_all_formats(fmt: int) -> None:
    long = "a/" + "x" * 90 + "/" + "y" * 60 + ".xml"  # needs a long name or the ustar prefix
    data = _tar([_file("b.xml", b"one"), _file(long, b"two" * 300), _file("a.xml", b"")], fmt)
    assert _read(data) == [
        ("b.xml", b"one", None),
        (long, b"two" * 300, None),
        ("a.xml", b"", None),
    ]
    assert _read(gzip.compress(data)) == _read(data)


def test_pax_unicode_names() -> None:
    data = _tar([_file("café/ß.xml", b"x")], tarfile.PAX_FORMAT)
    assert _read(data) == [("café/ß.xml", b"x", None)]


def test_hostile_members_are_refused_and_reading_goes_on() -> None:
    data = _tar(
        [
            _file("../escape.xml", b"evil"),
            _file("/abs.xml", b"evil"),
            _file("a/../../b.xml", b"evil"),
            _special("link.xml", tarfile.SYMTYPE, "/etc/passwd"),
            _special("hard.xml", tarfile.LNKTYPE, "ok.xml"),
            _special("dev.xml", tarfile.CHRTYPE),
            _special("fifo.xml", tarfile.FIFOTYPE),
            _special("dir", tarfile.DIRTYPE),
            _file("ok.xml", b"fine"),
        ]
    )
    got = _read(data)
    assert [(n, d) for n, d, _ in got][-1] == ("ok.xml", b"fine")
    problems = {n: p for n, d, p in got if p}
    assert all(d is None for n, d, p in got if p)
    assert problems == {
        "../escape.xml": "'..' in path",
        "/abs.xml": "absolute path",
        "a/../../b.xml": "'..' in path",
        "link.xml": "symbolic link refused",
        "hard.xml": "hard link refused",
        "dev.xml": "character device refused",
        "fifo.xml": "FIFO refused",
    }


def test_unsafe_names() -> None:
    assert unsafe_name("a/b.xml") is None
    assert unsafe_name("a..b/c..xml") is None
    for bad in ("..", "../x", "x/..", "/x", "C:x", "a\\b", "a\x00b", ""):
        assert unsafe_name(bad) is not None


def test_size_bound_skips_big_members_unread() -> None:
    data = _tar([_file("big.xml", b"x" * 5000), _file("small.xml", b"y")])
    got = _read(data, limit=1000)
    assert got[0][0] == "big.xml" and got[0][1] is None and "over the limit" in (got[0][2] or "")
    assert got[1] == ("small.xml", b"y", None)


def test_want_skips_members() -> None:
    data = _tar([_file("a.txt", b"no"), _file("b.xml", b"yes")])
    got = list(iter_tar(io.BytesIO(data), max_member_bytes=100, want=lambda n: n.endswith(".xml")))
    assert [(e.name, e.data) for e in got] == [("b.xml", b"yes")]


def test_offsets_point_at_the_data() -> None:
    data = _tar([_file("a.xml", b"AAAA"), _file("b.xml", b"BBBBBB")])
    for entry in iter_tar(io.BytesIO(data), max_member_bytes=100):
        assert data[entry.offset : entry.offset + entry.size] == entry.data


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "empty archive"),
        (b"just some text, not a tar at all" * 40, "not a tar archive"),
        (b"<annotation/>\n", r"not a tar archive \(14 bytes, less than one tar header\)"),
        (b"\x1f\x8b" + b"\x00" * 100, "corrupt gzip"),
    ],
)
def test_not_a_tar(blob: bytes, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        _read(blob)


def test_truncated_archive_is_an_error_after_the_good_members() -> None:
    data = _tar([_file("a.xml", b"a" * 100), _file("b.xml", b"b" * 3000)])
    cut = data[: 512 + 512 + 512 + 1000]
    it = iter_tar(io.BytesIO(cut), max_member_bytes=1 << 20)
    assert next(it).name == "a.xml"
    with pytest.raises(ArchiveError, match=r"ends inside member b\.xml"):
        next(it)


def test_gzip_bomb_is_inflated_in_bounded_steps(tmp_path: Path) -> None:
    # 64 MB of zeros after one member: under 100 kB compressed. Reading stops at
    # the end-of-archive zeros without ever holding the whole stream.
    payload = _tar([_file("a.xml", b"hello")]) + b"\x00" * (64 << 20)
    path = tmp_path / "bomb.tgz"
    path.write_bytes(gzip.compress(payload, compresslevel=9))
    with path.open("rb") as fh:
        assert [(e.name, e.data) for e in iter_tar(fh, max_member_bytes=100)] == [
            ("a.xml", b"hello")
        ]


def _with_field(data: bytes, at: int, field: bytes, *, signed: bool = False) -> bytes:
    """The first header with ``field`` written at ``at`` and its checksum redone."""
    block = bytearray(data[:512])
    block[at : at + len(field)] = field
    block[148:156] = b" " * 8
    total = sum((b - 256 if b > 127 else b) for b in block) if signed else sum(block)
    block[148:156] = b"%06o\x00 " % total
    return bytes(block) + data[512:]


def test_header_checksums_and_size_fields() -> None:
    data = _tar([_file("a.xml", b"a" * 10), _file("b.xml", b"b")])
    assert [e.name for e in iter_tar(io.BytesIO(data), max_member_bytes=99)] == ["a.xml", "b.xml"]
    # Old tars summed signed chars: a name with bytes over 127 shows the difference.
    old = _with_field(data, 0, "é.xml".encode(), signed=True)
    assert _read(old)[0] == ("é.xml", b"a" * 10, None)
    with pytest.raises(ArchiveError, match="not a tar archive"):
        _read(data[:100] + b"X" + data[101:])  # the checksum no longer holds
    with pytest.raises(ArchiveError, match="bad member size"):
        _read(_with_field(data, 124, b"zz\x00"))


def test_corrupt_gzip_keeps_the_members_inflated_before_the_damage() -> None:
    """A gzip whose checksum, or data, is damaged: every member inflated before the
    damage is read, then the error (not the whole last stretch of input lost)."""
    members = [_file(f"m{i}.xml", b"<annotation>%d</annotation>" % i) for i in range(40)]
    good = gzip.compress(_tar(members))
    bad_crc = bytearray(good)
    bad_crc[-8] ^= 0xFF  # the CRC-32 in the trailer
    names: list[str] = []
    with pytest.raises(ArchiveError, match="corrupt gzip data"):
        for entry in iter_tar(io.BytesIO(bytes(bad_crc)), max_member_bytes=1 << 20):
            names.append(entry.name)
    assert names == [f"m{i}.xml" for i in range(40)]
    # Damage inside the data: the members before it still come out.
    text = bytes(random.Random(7).choices(b"abcdefghij", k=30_000))
    data = bytearray(gzip.compress(_tar([*members, _file("tail.bin", text)])))
    data[len(data) // 2 : len(data) // 2 + 200] = bytes(200)
    names.clear()
    with pytest.raises(ArchiveError):
        for entry in iter_tar(io.BytesIO(bytes(data)), max_member_bytes=1 << 20):
            names.append(entry.name)
    assert names[:40] == [f"m{i}.xml" for i in range(40)]
