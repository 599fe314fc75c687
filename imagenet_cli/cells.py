"""How one value is written in a cell of a csv, tsv or table row: the one rule for the
command's rows (``cli/output``) and the bounding-box writers (``bbox/writers``).

None is an empty cell, a bool ``true``/``false``, a list its items joined by ``sep``, a
float its ``repr`` (a whole one as ``1.0``), anything else its ``str``. Quoting is the
csv module's business; a tsv cell has its tabs and line breaks turned into spaces.
Imports nothing of the package.
"""

from __future__ import annotations

from typing import Any


def cell(value: Any, sep: str = ",") -> str:
    """``value`` as the text of one cell (unquoted)."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str or kind is int:  # the common case first: a box writer's every field
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return sep.join(cell(v) for v in value)
    if isinstance(value, float):
        if value != value or abs(value) >= 1e16:  # nan, inf and the huge: no int() of them
            return repr(value)
        return repr(value) if value != int(value) else f"{value:.1f}"
    return str(value)


def tsv_cell(value: Any) -> str:
    """``value`` as a tsv cell: :func:`cell`, a tab or line break in it as a space."""
    text = cell(value)
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text
