"""Splitting a URL list into runs of one wnid, against a line-by-line reading."""

from __future__ import annotations

import random
from collections.abc import Iterator

from imagenet_cli.sources.urllist import split_runs


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
