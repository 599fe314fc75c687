"""Rendering: data rows to stdout in the chosen format, messages to stderr.

Tables need rich, which is imported only when a table, tree or progress bar is
really drawn: piped output (tsv, csv, json, jsonl, ids) costs no rich import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum, StrEnum
from typing import IO, TYPE_CHECKING, Any

from ..errors import ExitCode, ImagenetError, UsageError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from pathlib import Path

    from rich.console import Console

PROG = "imagenet"


class Format(StrEnum):
    """Output formats; ``auto`` is table on a terminal and tsv when piped."""

    table = "table"
    tsv = "tsv"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    ids = "ids"


ROW_FORMATS = ("table", "tsv", "csv", "json", "jsonl", "ids")


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def color_enabled(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal and only when ``NO_COLOR`` is unset or empty."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def counted(n: int, one: str, many: str | None = None) -> str:
    """``n`` with the noun that agrees with it: "1 class", "2,000 images"."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def resolve_format(fmt: str | Format | None, allowed: Sequence[str] = ROW_FORMATS) -> str:
    """The format to write: the one asked for, else table on a terminal, tsv when piped."""
    name = fmt.value if isinstance(fmt, Enum) else fmt
    if name is None:
        name = "table" if stdout_is_tty() else "tsv"
        if name not in allowed:
            name = allowed[0]
    if name not in allowed:
        raise UsageError(f"--format {name} does not apply here (choose from {', '.join(allowed)})")
    return name


# ---------------------------------------------------------------- messages (stderr)


# Control characters in a message (an id, a file name or a server's reason, as given)
# are shown as \xNN: raw, an escape sequence would drive the user's terminal.
_ESCAPED = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}


class Messages:
    """One-line messages for people, on stderr; ``quiet`` keeps only errors."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.errors = 0
        self.warnings = 0

    def _write(self, label: str, color: str, text: str) -> None:
        if color_enabled(sys.stderr):
            label = f"\x1b[{color}m{label}\x1b[0m"
        try:
            sys.stderr.write(f"{PROG}: {label}{text.translate(_ESCAPED)}\n")
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass

    def error(self, text: str) -> None:
        self.errors += 1
        for line in text.splitlines() or [""]:  # one labelled line each, for grep
            self._write("error: ", "1;31", line)

    def warn(self, text: str) -> None:
        self.warnings += 1
        if not self.quiet:
            for line in text.splitlines() or [""]:
                self._write("warning: ", "33", line)

    def info(self, text: str) -> None:
        if not self.quiet:
            for line in text.splitlines() or [""]:
                self._write("", "2", line)


messages = Messages()


class Outcome:
    """Collects per-item failures so a command reports each and exits with the worst."""

    def __init__(self) -> None:
        self.code = ExitCode.OK

    def fail(self, err: ImagenetError | str, code: ExitCode | None = None) -> None:
        messages.error(str(err))
        new = code if code is not None else getattr(err, "exit_code", ExitCode.PARTIAL)
        if new > self.code:
            self.code = ExitCode(new)


# ---------------------------------------------------------------- rows (stdout)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> str:
    """Compact, UTF-8 friendly JSON for one value."""
    import json

    return json.dumps(_jsonable(value), ensure_ascii=False, separators=(", ", ": "))


class OutputError(ImagenetError):
    """stdout refuses data (a full disk, a closed descriptor): the command cannot go on."""

    exit_code = ExitCode.PARTIAL


def refused(exc: OSError, stream: IO[str] | None = None) -> OutputError:
    """The one-line error for a failed write to ``stream`` (stdout by default).

    The process's own stdout is pointed at the null device: what its buffer still
    holds would fail again at exit, as a second report with a traceback.
    """
    stream = stream if stream is not None else sys.stdout
    if stream is sys.__stdout__:
        discard_stdout()
    where = "stdout" if stream in (sys.stdout, sys.__stdout__) else getattr(stream, "name", "")
    return OutputError(f"cannot write to {where or 'the output'}: {exc.strerror or exc}")


def discard_stdout() -> None:
    """Send whatever is still written to the process's stdout to the null device."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.__stdout__.fileno())  # type: ignore[union-attr]
        os.close(null)
    except (AttributeError, OSError, ValueError):
        pass


def _guarded(stream: IO[str], call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)`` on ``stream``; a refused write is an :class:`OutputError` (a broken
    pipe stays a ``BrokenPipeError``: ``| head`` ends quietly)."""
    try:
        return call(*args)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise refused(exc, stream) from None


class GuardedStream:
    """A text stream whose failed writes raise :class:`OutputError` (a broken pipe
    stays a ``BrokenPipeError``), for writers outside this module: rich, bbox.

    ``held``: what is written is kept back until :meth:`release`, so a writer that
    starts with its header can be made to write nothing when the command fails
    before its first row.
    """

    def __init__(self, stream: IO[str], *, held: bool = False) -> None:
        self._stream = stream
        self._held: list[str] | None = [] if held else None

    def release(self) -> None:
        """Write what was kept back; from now on, write straight through."""
        held, self._held = self._held, None
        if held:
            self.write("".join(held))

    def write(self, text: str) -> int:
        if self._held is not None:
            self._held.append(text)
            return len(text)
        return int(_guarded(self._stream, self._stream.write, text))

    def flush(self) -> None:
        if self._held is None:
            _guarded(self._stream, self._stream.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _write_all(texts: Iterable[str], stream: IO[str]) -> None:
    """Write each text, then flush; a refused write is an :class:`OutputError`.

    Only the writes are guarded: an ``OSError`` raised while ``texts`` is produced
    (a file read on the way) is not stdout's and goes on as it is.
    """
    write = stream.write
    for text in texts:
        try:  # _guarded inline: this runs once a row
            write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise refused(exc, stream) from None
    _guarded(stream, stream.flush)


def emit_rows(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str | Format | None,
    *,
    no_header: bool = False,
    id_key: str = "wnid",
    title: str | None = None,
    out: IO[str] | None = None,
) -> int:
    """Write rows (mappings holding at least ``columns``) in a format; returns the count.

    Streams for every format but table: memory stays flat however many rows come.
    The header (json's opening bracket) goes out with the first row: a command that
    fails before its first row writes nothing to stdout. Without rows, it is written
    at the end unless an error was reported meanwhile (every item failed).
    """
    name = resolve_format(fmt)
    if name == "ids" and id_key not in columns:
        raise UsageError(f"--format ids does not apply here: these rows have no {id_key}")
    errors = messages.errors
    if name == "table":
        materialised = list(rows)
        if materialised or messages.errors == errors:
            _rich_table(materialised, columns, title, no_header)
        return len(materialised)
    counted = [0]
    texts = _row_texts(
        rows, columns, name, not no_header, id_key, counted, lambda: messages.errors == errors
    )
    _write_all(texts, out or sys.stdout)
    return counted[0]


def _row_texts(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    name: str,
    header: bool,
    id_key: str,
    counted: list[int],
    empty_ok: Callable[[], bool],
) -> Iterator[str]:
    """The text of each row in format ``name``, the header (or json's bracket) with
    the first row, or alone at the end when there was none and ``empty_ok()``;
    ``counted[0]`` counts the rows."""
    from ..ids import cell, tsv_cell  # here: --version prints without loading ids

    head = ""
    if name == "tsv":
        head = "\t".join(columns) + "\n" if header else ""
        for row in rows:
            yield head + "\t".join([tsv_cell(row.get(c)) for c in columns]) + "\n"
            head = ""
            counted[0] += 1
    elif name == "csv":
        import csv

        parts: list[str] = []
        writer = csv.writer(_Sink(parts.append), lineterminator="\n")
        if header:
            writer.writerow(columns)
            head = parts.pop()
        for row in rows:
            writer.writerow([cell(row.get(c), ";") for c in columns])
            yield head + parts.pop()
            head = ""
            counted[0] += 1
    elif name == "jsonl":
        for row in rows:
            yield dumps({c: row.get(c) for c in columns}) + "\n"
            counted[0] += 1
    elif name == "json":
        before = "[\n  "
        for row in rows:
            yield before + dumps({c: row.get(c) for c in columns})
            before = ",\n  "
            counted[0] += 1
        if counted[0]:
            yield "\n]\n"
        else:
            head = "[]\n"
    elif name == "ids":
        for row in rows:
            yield f"{row.get(id_key)}\n"
            counted[0] += 1
    if head and empty_ok():
        yield head


class _Sink:
    """A ``write`` target for :mod:`csv` that hands each row's text to a callback."""

    def __init__(self, write: Callable[[str], Any]) -> None:
        self.write = write


def emit_json(doc: Any, out: IO[str] | None = None) -> None:
    """Write one JSON document, indented, to stdout."""
    import json

    _write_all([json.dumps(_jsonable(doc), ensure_ascii=False, indent=2) + "\n"], out or sys.stdout)


def emit_chunks(chunks: Iterable[str], out: IO[str] | None = None) -> None:
    """Write text chunks to stdout in large writes, then a newline."""

    def joined() -> Iterator[str]:
        buffer: list[str] = []
        for chunk in chunks:
            buffer.append(chunk)
            if len(buffer) >= 4096:
                yield "".join(buffer)
                buffer.clear()
        buffer.append("\n")
        yield "".join(buffer)

    _write_all(joined(), out or sys.stdout)


def emit_lines(lines: Iterable[str], out: IO[str] | None = None) -> None:
    """Write plain text lines to stdout."""
    _write_all((line + "\n" for line in lines), out or sys.stdout)


def stdout_console() -> Console:
    """A rich console on stdout that follows the terminal and ``NO_COLOR``."""
    from rich.console import Console

    return Console(
        file=GuardedStream(sys.stdout),  # type: ignore[arg-type]
        no_color=not color_enabled(sys.stdout),
        soft_wrap=False,
    )


def stderr_console() -> Console:
    """A rich console on stderr that follows the terminal and ``NO_COLOR``."""
    from rich.console import Console

    return Console(stderr=True, no_color=not color_enabled(sys.stderr))


def _rich_table(
    rows: list[Mapping[str, Any]], columns: Sequence[str], title: str | None, no_header: bool
) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..ids import cell

    table = Table(title=title, show_header=not no_header, header_style="bold", box=None)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        # Text, not str: a value is shown as it is, never read as rich markup ('[bold]').
        table.add_row(*[Text(cell(row.get(c), ", ")) for c in columns])
    stdout_console().print(table)


def emit_records(
    records: Iterable[Mapping[str, Any]],
    fields: Sequence[tuple[str, str]],
    fmt: str | Format | None,
    *,
    no_header: bool = False,
    id_key: str = "wnid",
    multiline: Collection[str] = (),
) -> int:
    """Write detailed records: a key/value block per record on a terminal, rows otherwise.

    ``fields`` pairs each key with the label shown in the terminal view; list values of
    the keys in ``multiline`` get a line per item there.
    """
    from ..ids import cell

    name = resolve_format(fmt)
    if name != "table":
        return emit_rows(records, [k for k, _ in fields], name, no_header=no_header, id_key=id_key)
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    count = 0
    for record in records:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, label in fields:
            value = record.get(key)
            if value in (None, "", [], ()):
                continue
            if key in multiline and isinstance(value, list | tuple):
                text = "\n".join(cell(v, " > ") for v in value)
            else:
                text = cell(value, ", ")
            grid.add_row(label, Text(text))
        if count:
            console.print()
        console.print(grid)
        count += 1
    return count


# ---------------------------------------------------------------- progress (stderr)

ProgressCallback = Callable[[int, int | None, str], None]


def progress_bars() -> Any:
    """The rich progress display every command uses on stderr: description, bar,
    done/total, a status text and the time left (one task per bar)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=stderr_console(),
        transient=False,
    )


@contextmanager
def progress(
    description: str, total: int | None = None, *, quiet: bool = False
) -> Iterator[ProgressCallback]:
    """A rich progress bar on stderr when it is a terminal; a no-op callback otherwise.

    The callback takes ``(advance, total, text)``: units done since the last call,
    the total when it becomes known (or ``None``), and an optional status text.
    """
    if quiet or not _stderr_tty():
        yield _no_progress
        return
    with progress_bars() as bar:
        task = bar.add_task(description, total=total, status="")

        def update(advance: int, new_total: int | None = None, text: str = "") -> None:
            if new_total is not None:
                bar.update(task, total=new_total)
            bar.update(task, advance=advance, status=text)

        yield update


@contextmanager
def status_line(text: str) -> Iterator[None]:
    """``text`` as one line on stderr while the block runs, cleared at its end; nothing
    when stderr is not a terminal (a script gets no noise) or messages are quiet."""
    shown = not messages.quiet and _stderr_tty()
    if shown:
        _status_write(f"{PROG}: {text.translate(_ESCAPED)}")
    try:
        yield
    finally:
        if shown:
            _status_write("\r\x1b[K")  # back to the line's start, and clear it


def _status_write(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def index_notice(path: Path) -> AbstractContextManager[None]:
    """The status line shown while the synset index is built (once, a few seconds)."""
    return status_line(f"building the synset index in {path.parent} (once, a few seconds)...")


def _no_progress(advance: int, new_total: int | None = None, text: str = "") -> None:
    """The progress callback when nobody watches."""


def _stderr_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
