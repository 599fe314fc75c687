"""Requests built from a command's options: each long command's core takes one typed
request (``FetchRequest``, ``ConvertRequest``, ``IndexRequest``, ...) whose fields are
named as the command's options, so the face hands its options over in one step.

May import: nothing of the project (the ground floor).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_options(cls: type[T], options: Mapping[str, Any], **given: Any) -> T:
    """A ``cls`` (a dataclass) from the options it has a field of; ``given`` wins."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in options.items() if k in names and k not in given}, **given)
