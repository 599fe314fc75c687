"""Splitting a URL list into runs of one wnid, against a line-by-line reading."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagenet_cli.fetch.sources import ImageRef, listrows, urllist
from imagenet_cli.fetch.sources.listrows import split_runs
from imagenet_cli.fetch.sources.urllist import ListInfo


def runs_line_by_line(chunk: bytes) -> Iterator[tuple[str | None, int, int]]:
    """The definition: consecutive lines starting with the same ``nDDDDDDDD_`` form a run;
    any other non-blank line is a run of its own with wnid None."""
    pos = 0
    current: tuple[str | None, int, int] | None = None
    for line in chunk.splitlines(keepends=True):
        end = pos + len(line)
        head = line[:10]
        wnid = (
            head[:9].decode()
            if len(head) == 10 and head[:1] == b"n" and head[9:] == b"_" and head[1:9].isdigit()
            else None
        )
        if wnid is not None and current is not None and current[0] == wnid:
            current = (wnid, current[1], end)
        else:
            if current is not None:
                yield current
            current = (wnid, pos, end) if wnid is not None or line.strip() else None
            if wnid is None and current is not None:
                yield current
                current = None
        pos = end
    if current is not None:
        yield current


def test_runs_are_found_as_a_line_by_line_reading_finds_them() -> None:
    # Long runs (found by galloping over line starts), short ones, a wnid coming back
    # after others, garbage, blank lines, an id that only looks like a wnid's.
    rng = random.Random(7)
    wnids = [f"n{rng.randrange(10**8):08d}" for _ in range(5)]
    for _ in range(150):
        lines: list[bytes] = []
        for _ in range(rng.randrange(0, 30)):
            w = rng.choice(wnids[: rng.randrange(1, 6)])
            r = rng.random()
            if r < 0.05:
                lines.append(b"garbage")
            elif r < 0.08:
                lines.append(b"")
            elif r < 0.1:
                lines.append(w.encode() + b"x_1\thttp://a")
            else:
                n = rng.randrange(1, 40) if rng.random() < 0.7 else rng.randrange(100, 800)
                lines += [
                    f"{w}_{i}\thttp://x/{'y' * rng.randrange(300)}".encode() for i in range(n)
                ]
        chunk = b"\n".join(lines) + (b"\n" if lines and rng.random() < 0.9 else b"")
        assert list(split_runs(chunk)) == list(runs_line_by_line(chunk))


def _indexed(path: Path) -> tuple[ListInfo, dict[str, list[ImageRef]], int]:
    info = urllist.index(str(path))
    with contextlib.closing(sqlite3.connect(urllist.db_path())) as conn:
        rows = conn.execute("SELECT count(*) FROM run WHERE list_id = ?", (info.id,)).fetchone()[0]
    return info, urllist.lookup_many(WNIDS, list_id=info.id), int(rows)


WNIDS = [f"n{1440764 + k:08d}" for k in range(40)]


def _line(w: str, k: int) -> str:
    return f"{w}_{k}\thttp://farm{k % 9}.example/{k}/{w}_{k}.jpg\n"


def test_an_interleaved_list_indexes_as_its_grouped_twin_in_a_row_per_wnid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small chunks and a small hold, so the list spans several of each
    monkeypatch.setattr(listrows, "CHUNK", 4096)
    monkeypatch.setattr(listrows, "GROUPED_BYTES", 16_384)
    grouped, interleaved = tmp_path / "grouped.txt", tmp_path / "interleaved.txt"
    grouped.write_text("".join(_line(w, k) for w in WNIDS for k in range(60)))
    interleaved.write_text("".join(_line(w, k) for k in range(60) for w in WNIDS))
    g_info, g_refs, _ = _indexed(grouped)
    i_info, i_refs, rows = _indexed(interleaved)
    assert (i_info.lines, i_info.wnids, i_info.skipped) == (g_info.lines, 40, 0) == (2400, 40, 0)
    assert [(r.image_id, r.url) for w in WNIDS for r in i_refs[w]] == [
        (r.image_id, r.url) for w in WNIDS for r in g_refs[w]
    ]
    assert all(len(i_refs[w]) == 60 for w in WNIDS)
    assert rows <= 40 * 12  # a row per wnid per hold, not a row per line (2,400)


def test_an_odd_line_in_an_interleaved_list_is_named_by_its_number(tmp_path: Path) -> None:
    lines = [_line(w, k) for k in range(5) for w in WNIDS]
    lines[36] = f"{WNIDS[36]}_99\n"  # no URL
    lines[77] = lines[3]  # an id already on line 4
    path = tmp_path / "odd.txt"
    path.write_text("".join(lines))
    info = urllist.index(str(path))
    assert [(s.line, s.reason.split(" (")[0]) for s in info.skipped_lines] == [
        (37, "no URL after the image id"),
    ]
    assert info.lines == 199
    refs = urllist.lookup(WNIDS[3])
    assert [r.image_id for r in refs] == [f"{WNIDS[3]}_{k}" for k in range(5)]


def test_a_wnid_keeps_its_list_order_across_grouped_and_interleaved_stretches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listrows, "CHUNK", 2048)
    monkeypatch.setattr(listrows, "GROUPED_BYTES", 1 << 20)  # held across many chunks
    first = WNIDS[0]
    lines = [_line(first, k) for k in range(100)]  # grouped
    lines += [_line(w, k) for k in range(100, 130) for w in WNIDS]  # interleaved
    lines += [_line(first, k) for k in range(130, 230)]  # grouped again
    path = tmp_path / "mixed.txt"
    path.write_text("".join(lines))
    info = urllist.index(str(path))
    assert (info.lines, info.skipped) == (len(lines), 0)
    assert [r.image_id for r in urllist.lookup(first)] == [f"{first}_{k}" for k in range(230)]
    assert [r.image_id for r in urllist.lookup(WNIDS[5])] == [
        f"{WNIDS[5]}_{k}" for k in range(100, 130)
    ]


def test_an_interleaved_list_with_an_id_twice_is_still_stored_a_row_per_wnid(
    tmp_path: Path,
) -> None:
    # A repeated id used to send the whole chunk line by line (a row per line, as
    # slow as before grouping); lookup keeps the id's first line, as it always has.
    lines = [_line(w, k) for k in range(5) for w in WNIDS]
    lines[77] = f"{WNIDS[3]}_0\thttp://elsewhere.example/again.jpg\n"  # the id of line 4
    path = tmp_path / "twice.txt"
    path.write_text("".join(lines))
    info, refs, rows = _indexed(path)
    assert rows == len(WNIDS)
    assert (info.wnids, info.skipped) == (40, 0)
    assert [(r.image_id, r.url) for r in refs[WNIDS[3]]] == [
        (f"{WNIDS[3]}_{k}", f"http://farm{k % 9}.example/{k}/{WNIDS[3]}_{k}.jpg") for k in range(5)
    ]
    assert [r.image_id for r in refs[WNIDS[37]]] == [f"{WNIDS[37]}_{k}" for k in (0, 2, 3, 4)]


@pytest.mark.parametrize(
    ("odd", "reason"),
    [
        ("{w}_1\t\n", "no URL after the image id"),
        ("{w}_1\t\r\n", "no URL after the image id"),
        ("{w}_1\n", "no URL after the image id"),
        ("x{w}_1\thttp://a.example/1.jpg\n", "no image id at the start"),
    ],
)
def test_an_odd_line_sends_its_interleaved_chunk_line_by_line(
    tmp_path: Path, odd: str, reason: str
) -> None:
    lines = [_line(w, k) for k in range(5) for w in WNIDS]
    lines[41] = odd.format(w=WNIDS[1])
    path = tmp_path / "odd.txt"
    path.write_text("".join(lines))
    info = urllist.index(str(path))
    assert [(s.line, s.reason.split(" (")[0]) for s in info.skipped_lines] == [(42, reason)]
    assert info.lines == 199
    assert [r.image_id for r in urllist.lookup(WNIDS[1])] == [
        f"{WNIDS[1]}_{k}" for k in (0, 2, 3, 4)
    ]
