"""``imagenet terms`` on a terminal and in a pipe: the text as it reads, answers checked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import run
from .terminal import Terminal

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")


def test_terms_show_renders_markdown_on_a_terminal() -> None:
    term = Terminal(["terms", "show"], os.environ)
    term.wait_for(b"Governing law")
    assert term.end() == 0
    assert b"Non-commercial research and education only." in term.seen
    assert b"**" not in term.seen and b"# ImageNet" not in term.seen
    assert b"\x1b[1m" in term.seen  # the bold of the Markdown, as the terminal shows it


def test_terms_show_is_plain_text_when_piped() -> None:
    out = run(["terms", "show"]).stdout
    assert out.startswith("Version ")
    assert "1. Non-commercial research and education only. You use" in out
    assert "**" not in out and "\n# " not in out and "`" not in out and "\x1b" not in out
    # -f json keeps the Markdown source: it is the data
    assert "**" in json.loads(run(["terms", "show", "-f", "json"]).stdout)["text"]


def test_each_answer_is_checked_as_it_is_typed(isolated: Path) -> None:
    term = Terminal(["terms", "accept"], os.environ)
    term.wait_for(b"Full name")
    term.type("   ")
    term.wait_for(b"needs your name")
    term.wait_for(b"Full name")
    term.type("Ada Lovelace")
    term.wait_for(b"Email")
    term.type("ada-at-uni")
    shown = term.wait_for(b"Email")  # asked again at once, before the organisation
    assert b"not an email address: 'ada-at-uni'" in shown and b"Organisation" not in shown
    term.type("ada@uni.edu")
    term.wait_for(b"Organisation")
    term.type("Analytical Engines Lab")
    term.wait_for(b"accept these terms")
    term.type("y")
    assert term.end() == 0, term.seen
    record = json.loads((isolated / "config" / "terms.json").read_text())
    assert (record["name"], record["email"]) == ("Ada Lovelace", "ada@uni.edu")


def test_a_bad_answer_given_as_an_option_stops_before_any_question(isolated: Path) -> None:
    term = Terminal(["terms", "accept", "--email", "ada-at-uni"], os.environ)
    assert term.end(timeout=10) == 2
    assert b"not an email address: 'ada-at-uni'" in term.seen
    assert b"Full name" not in term.seen and b"Non-commercial" not in term.seen
    assert not (isolated / "config" / "terms.json").exists()
