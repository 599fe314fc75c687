"""Rows of predictions, read one at a time, the format told by content.

- Kaggle's ``ImageId,PredictionString`` CSV (header optional): labels best first,
  space-separated;
- JSONL: ``{"image": ..., "labels": [...]}`` a line.

A row is ``(where, image id, labels as given)``; a row that cannot be read is
handed to ``on_bad`` and skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

from ..errors import ItemError, NotFoundError, UsageError


class Row(NamedTuple):
    """One prediction: where it stands (``line 4``, ``row 3``), which image, its labels
    best first."""

    where: str
    image: str
    labels: list[str]


OnBad = Callable[[ItemError], None]


@contextmanager
def _opened(source: str) -> Iterator[IO[str]]:
    if source == "-":
        yield sys.stdin
        return
    try:
        # opened apart from the with below, so an error of opening is one line
        fh = Path(source).open(encoding="utf-8-sig")  # noqa: SIM115
    except FileNotFoundError:
        raise NotFoundError(f"{source}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror or exc}") from None
    with fh:
        yield fh


def read_rows(source: str, on_bad: OnBad) -> Iterator[Row]:
    """The prediction rows of ``source`` (a file, or ``-`` for stdin), streamed."""
    name = "stdin" if source == "-" else source
    with _opened(source) as fh:
        try:
            yield from _rows(fh, name, on_bad)
        except UnicodeDecodeError as exc:
            raise UsageError(f"{name}: not UTF-8 text ({exc.reason})") from None


def _rows(fh: IO[str], name: str, on_bad: OnBad) -> Iterator[Row]:
    kind = ""
    for number, raw in enumerate(fh, start=1):
        line = raw.strip()
        if not line:
            continue
        if not kind:
            kind = "jsonl" if line.startswith("{") else "csv"
            if kind == "csv" and line.lower().replace('"', "").startswith("imageid,"):
                continue
        row = _jsonl_row(line) if kind == "jsonl" else _csv_row(line)
        if isinstance(row, str):
            on_bad(ItemError(f"{name}: line {number}: {row}"))
        else:
            yield Row(f"line {number}", row[0], row[1])


def _csv_row(line: str) -> tuple[str, list[str]] | str:
    image, comma, prediction = line.partition(",")
    image = image.strip().strip('"')
    words = prediction.replace('"', " ").split()
    if not comma or not image or not words:
        return f"short row (want ImageId,PredictionString): {line[:60]!r}"
    return image, words


def _jsonl_row(line: str) -> tuple[str, list[str]] | str:
    try:
        doc = json.loads(line)
    except ValueError:
        return f"not JSON: {line[:60]!r}"
    image = doc.get("image") if isinstance(doc, dict) else None
    labels = doc.get("labels") if isinstance(doc, dict) else None
    if not isinstance(image, str) or not image or not isinstance(labels, list) or not labels:
        return 'short row (want {"image": ..., "labels": [...]})'
    return image, [str(label) for label in labels]
