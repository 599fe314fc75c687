"""The command line as a whole: help, generated files, the fast path, real processes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from imagenet_cli.cli import fastpath
from imagenet_cli.cli.app import app

from .conftest import run, same_on_fast_path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import generate  # noqa: E402


def _commands() -> list[tuple[str, Any]]:
    """Every command, groups (``imagenet synset``) and the root included."""
    found: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any]] = [("", get_command(app))]
    while stack:
        prefix, cmd = stack.pop()
        found.append((prefix, cmd))
        subs = getattr(cmd, "commands", None) or {}
        stack.extend((f"{prefix} {name}".strip(), sub) for name, sub in subs.items())
    return sorted(found, key=lambda item: item[0])


@pytest.mark.parametrize(
    ("path", "cmd"), _commands(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_command_has_help_with_an_example(path: str, cmd: Any) -> None:
    text = cmd.help or ""
    assert text.strip(), f"{path} has no help"
    assert "Example" in text or "Example" in (cmd.epilog or ""), f"{path} help has no example"
    run([*path.split(), "--help"])


# What Typer shows when a parameter has no plain metavar: its Python type
# (<list[str]>, <int range>, <str>) or its name in braces ({query}).
TYPE_METAVAR = re.compile(r"[<>{}]|\blist\[|\brange\b|\b(str|int|float|bool)\b")


@pytest.mark.parametrize(
    ("path", "cmd"), _commands(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_help_shows_plain_metavars(path: str, cmd: Any) -> None:
    text = run([*path.split(), "--help"]).stdout
    usage = text.splitlines()[0]
    assert not TYPE_METAVAR.search(usage.removeprefix("Usage: imagenet")), usage
    ctx = cmd.context_class(cmd, info_name=f"imagenet {path}")
    for param in cmd.params:
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names = record[0]
        assert not TYPE_METAVAR.search(names), f"imagenet {path}: {names}"
        assert names in text  # what the help shows, as checked here
        if param.param_type_name == "option" and not getattr(param, "is_flag", False):
            assert re.fullmatch(r"[A-Z]+|[a-z0-9-]+(\|[a-z0-9-]+)+", param.metavar), names


@pytest.mark.parametrize(
    ("args", "wording"),
    [
        (["bbox", "convert", "x.xml", "-f", "xml"], "'xml' is not one of 'csv', 'tsv'"),
        (["synset", "search", "dog", "--limit", "x"], "'x' is not a whole number"),
        (["synset", "search", "dog", "--limit", "0"], "must be at least 1, not 0"),
        (["synset", "tree", "--depth", "-1"], "must be at least 0, not -1"),
        (["fetch", "--wnid", "n01440764", "--timeout", "abc"], "'abc' is not a number"),
        (["fetch", "--wnid", "n01440764", "--timeout", "0"], "must be at least 0.01, not 0"),
        (["subset", "extract", "--from", "x", "--to", "y", "--quality", "101"], "at most 100"),
        (["synset", "search"], "Missing argument 'QUERY'"),
    ],
)
def test_bad_values_are_told_in_plain_words(args: list[str], wording: str) -> None:
    res = run(args, expect=2)
    assert wording in res.stderr
    for pydantic in ("Value error", "Input should", "valid integer", "greater than"):
        assert pydantic not in res.stderr


def test_completions_are_current() -> None:
    for name, text in generate.completion_scripts().items():
        path = ROOT / "completions" / name
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make generate`"


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("imagenet syn", "synset"),
        ("imagenet synset se", "search"),
        ("imagenet synset search dog --li", "--limit"),
        ("imagenet fetch --urls-o", "--urls-only"),
        ("imagenet bbox convert -f ", "coco"),
    ],
)
def test_completion_offers_commands_and_options(words: str, offered: str) -> None:
    env = {
        **os.environ,
        "_IMAGENET_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    out = subprocess.run(
        [sys.executable, "-m", "imagenet_cli"], env=env, capture_output=True, text=True
    )
    assert offered in out.stdout.split(), out.stdout + out.stderr


def test_options_are_declared_in_one_place_only() -> None:
    # Commands declare their options with cli.params; only cli/build.py makes Typer's.
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "imagenet_cli").rglob("*.py"))
        if path.name != "build.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"typer\.(Option|Argument)\(|@\w+\.command\(", line)
    ]
    assert found == []
    assert not (ROOT / "imagenet_cli" / "cli" / "fastpath_spec.py").exists()


def _registered() -> list[tuple[str, Any]]:
    from imagenet_cli.cli.commands import GROUPS, TOP, target

    named = [(f"{g} {n}", p) for g, group in GROUPS.items() for n, p in group.commands.items()]
    return [(name, target(path)) for name, path in [*named, *TOP.items()]]


@pytest.mark.parametrize(
    ("name", "func"), _registered(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_parameter_is_declared_and_typer_shows_it(name: str, func: Any) -> None:
    import inspect

    from imagenet_cli.cli.params import REQUIRED, Opt, declarations

    assert inspect.isfunction(func) and func.__doc__, name
    whole: Any = get_command(app)
    cmd = whole
    for word in name.split():
        cmd = cmd.commands[word]
    shown = {p.name: p for p in cmd.params}
    assert [d.name for d in declarations(func)] == list(inspect.signature(func).parameters)
    for param, default, _hint, decl in declarations(func):
        assert decl is not None, f"{name}: {param} is not declared"
        got = shown[param]
        if isinstance(decl, Opt):
            assert [*got.opts, *got.secondary_opts] == list(decl.decls), name
        assert got.required == (default is REQUIRED), (name, param)
        if default is not REQUIRED and not got.multiple and got.nargs == 1:
            assert got.default == default, (name, param)
        if decl.metavar:
            assert got.metavar == decl.metavar, (name, param)


def _fast_commands() -> list[tuple[list[str], Any]]:
    """Each fast-path command: the words naming it (and what it needs) and its function."""
    from imagenet_cli.cli import fastpath
    from imagenet_cli.cli.commands import GROUPS, TOP, target

    found = [
        ([group, name], target(path))
        for group, g in GROUPS.items()
        for name, path in g.commands.items()
        if group in fastpath.FAST_GROUPS or (group, name) in fastpath.FAST_COMMANDS
    ]
    found += [([name, need], target(TOP[name])) for name, need in fastpath.FAST_TOP.items()]
    assert len(found) == 12
    return found


# Values tried for each option, by type: good ones, edge ones and bad ones.
SAMPLES: dict[Any, list[str]] = {
    int: ["3", "0", "-1", "1", "x", "\uff13", " 2", "2.5"],
    float: ["0.5", "0", "-1", "nan", "1e3", "abc"],
    str: ["abc", "-", ""],
}


def _argv_samples(words: list[str], func: Any) -> list[list[str]]:
    """Command lines for ``func``: every option with values of its type, and odd ones."""
    from enum import Enum

    from imagenet_cli.cli.fastpath import specs

    params = specs(func)
    assert params is not None, words
    base = ["dog"] if words[1] == "search" else []
    if words[0] == "fetch":
        base = ["--wnid", "n01440764"]
    lines = [base, [*base, "--help"], [*base, "--bogus"], [*base, "--", "-x"], [], ["a", "b"]]
    for p in params:
        if p.decl.decls:
            flag = p.decl.decls[-1]
            if p.flag:
                lines += [[*base, flag], [*base, f"{flag}=1"]]
                continue
            values = SAMPLES.get(p.type)
            if isinstance(p.type, type) and issubclass(p.type, Enum):
                first = next(iter(p.type)).value
                values = [first, first.upper(), "bogus"]
            for v in values or ["abc"]:
                lines += [[*base, flag, v], [*base, f"{flag}={v}"]]
            lines += [[*base, flag], [*base, flag, "a", flag, "b"]]
        else:
            lines += [[*base, "n02084071", "dog.n.01"], [*base, "-"], [*base, "\u0663"]]
    return [line for line in lines if not words[1].startswith("-") or line != []] + [
        [words[1], *line] for line in lines if words[1].startswith("-")
    ]


@pytest.mark.parametrize(
    ("words", "func"), _fast_commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_fast_path_parses_as_typer_does(words: list[str], func: Any) -> None:
    """What the fast path takes, Typer takes too and reads the same (the same keyword
    arguments); anything else the fast path leaves to Typer."""
    import contextlib
    import io

    import typer

    from imagenet_cli.cli import fastpath
    from imagenet_cli.cli.build import command

    got: list[dict[str, Any]] = []
    one = typer.Typer()
    one.command()(command(func, call=lambda **kw: got.append(kw) or 0))
    cli = get_command(one)
    checked = 0
    for argv in _argv_samples(words, func):
        got.clear()
        with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
            cli.main(args=list(argv), standalone_mode=False)
        fast = fastpath.parse(func, list(argv))
        if fast is not None:
            assert got == [fast], (words, argv)
            checked += 1
    assert checked >= 5, words


@pytest.mark.parametrize(
    "args",
    [
        ["synset", "search", "dog", "--limit", "3"],
        ["synset", "search", "Dogs", "-n3", "--release=ilsvrc2012", "-f", "jsonl"],
        ["synset", "show", "n02084071", "n99999999"],
        ["synset", "descendants", "n02085374", "--leaves", "-f", "csv", "--no-header"],
        ["synset", "descendants", "n02085374", "--include-self", "-f", "ids"],
        ["synset", "tree", "n02084071", "-d", "1"],
        ["synset", "map", "--ilsvrc-index", "5", "--", "7"],
        ["synset", "lca", "n02084071", "n02121808", "-f", "ids"],
        ["synset", "releases"],
        ["synset", "releases", "--all", "-f", "ids"],
    ],
)
def test_fast_path_matches_typer(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    same_on_fast_path(args, capsys)


@pytest.mark.parametrize(
    "args",
    [
        ["synset", "search"],
        ["synset", "search", "dog", "--help"],
        ["synset", "search", "dog", "--limit", "zero"],
        ["synset", "search", "dog", "--limit", "0"],
        ["synset", "search", "dog", "--limit", "\uff13"],  # a fullwidth 3: int() takes it
        ["synset", "search", "dog", "-n", "\u0663"],
        ["synset", "tree", "n02084071", "-d", "\u0661"],
        ["synset", "search", "dog", "--bogus"],
        ["synset", "search", "dog", "-f", "xml"],
        ["synset", "nosuch"],
        ["cache", "path"],
        ["bbox", "stats", "x.xml"],
        ["subset", "presets"],
        ["urls", "index", "list.txt"],
        ["fetch", "--wnid", "n01440764"],
        ["fetch", "--wnid", "n01440764", "--urls-only", "--help"],
    ],
)
def test_fast_path_leaves_the_rest_to_typer(args: list[str]) -> None:
    assert fastpath.try_run(args) is None


def test_version_on_the_fast_path_prints_what_typer_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fastpath.try_run(["--version"]) == 0
    fast = capsys.readouterr().out
    from typer.testing import CliRunner

    typer_out = CliRunner().invoke(app, ["--version"]).stdout
    assert fast == typer_out and fast.startswith("imagenet-cli ")
    quiet = (
        "import contextlib, io\nfrom imagenet_cli.cli.fastpath import try_run\n"
        "with contextlib.redirect_stdout(io.StringIO()): try_run(['--version'])"
    )
    assert _loaded_after(quiet, ("typer", "click", "rich")) == []


def _loaded_after(statement: str, heavy: tuple[str, ...]) -> list[str]:
    """Which of ``heavy`` a fresh interpreter has loaded after ``statement``."""
    code = f"import sys\n{statement}\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_core_imports_neither_typer_nor_rich() -> None:
    core = (
        "import imagenet_cli.hierarchy, imagenet_cli.releases, imagenet_cli.cache, "
        "imagenet_cli.config, imagenet_cli.ids, imagenet_cli.synset_index"
    )
    heavy = ("typer", "rich", "click", "httpx", "PIL", "lxml", "nltk")
    assert _loaded_after(core, heavy) == []


def test_startup_imports_no_heavy_module() -> None:
    heavy = ("httpx", "PIL", "lxml", "nltk", "dask", "numpy")
    assert _loaded_after("from imagenet_cli.cli.app import app", heavy) == []


def test_fetch_imports_its_network_stack_only_when_it_downloads() -> None:
    # `fetch --urls-only --offline` answers from the cache: it must not pay for
    # httpx, pycurl, certifi, Pillow or urllib.request (which pulls in http.client and email).
    parts = ("local", "download", "transport")
    modules = "import " + ", ".join(f"imagenet_cli.fetch.{m}" for m in parts)
    heavy = ("httpx", "pycurl", "certifi", "PIL", "urllib.request", "http.client")
    assert _loaded_after(modules, heavy) == []


def _imagenet() -> list[str]:
    exe = shutil.which("imagenet", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "imagenet_cli"]


def _sh(cmd: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=full_env
    )


def test_real_process_pipe_into_head_has_no_traceback() -> None:
    exe = " ".join(_imagenet())
    res = _sh(f"{exe} synset descendants n00001740 | head -1")
    assert res.stdout == "wnid\tname\tilsvrc\tlemmas\tdefinition\tof\n"
    assert "Traceback" not in res.stderr and res.stderr == ""
    res = _sh(f"{exe} synset search dog -f tsv | head -2")
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("n02084071\t")
    res = _sh(f"{exe} synset tree -f json | head -c 100")
    assert res.stdout.startswith('{"wnid":"n00001740"') and res.stderr == ""


def test_real_process_exit_codes_and_messages() -> None:
    base = _imagenet()
    res = subprocess.run([*base, "synset", "show", "n99999999"], capture_output=True, text=True)
    assert res.returncode == 3 and res.stdout == ""
    assert res.stderr == "imagenet: error: n99999999: no WordNet 3.0 noun synset has this id\n"
    res = subprocess.run(
        [*base, "synset", "search", "dog", "--limit", "x"], capture_output=True, text=True
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = subprocess.run([*base, "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("imagenet-cli ")
    res = subprocess.run(
        [sys.executable, "-m", "imagenet_cli", "synset", "show", "dog.n.01", "-f", "ids"],
        capture_output=True,
        text=True,
    )
    assert res.stdout == "n02084071\n"


_FULL = "imagenet: error: cannot write to stdout: No space left on device\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ["subset", "presets"],
        ["subset", "show", "imagenet21k", "-f", "csv"],
        ["subset", "show", "imagenet21k", "-f", "CSV"],  # not on the fast path: Typer's
        ["synset", "descendants", "n00001740"],
        ["synset", "show", "dog.n.01", "-f", "json"],
        ["synset", "show", "dog.n.01", "-f", "table"],
        ["synset", "tree", "n02084071"],
        ["synset", "tree", "n02084071", "-f", "table"],
        ["bbox", "convert", "{xml}"],
        ["bbox", "convert", "{xml}", "--with-names"],
        ["cache", "path"],
        ["--version"],
    ],
    ids=" ".join,
)
def test_real_process_full_stdout_is_one_error_line(args: list[str], tmp_path: Path) -> None:
    xml = tmp_path / "a.xml"
    xml.write_text(
        "<annotation><filename>n01440764_18</filename><size><width>50</width>"
        "<height>40</height><depth>3</depth></size><object><name>n01440764</name><bndbox>"
        "<xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>20</ymax></bndbox></object>"
        "</annotation>"
    )
    argv = [a.format(xml=xml) for a in args]
    with open("/dev/full", "w") as full:
        res = subprocess.run([*_imagenet(), *argv], stdout=full, stderr=subprocess.PIPE, text=True)
    assert (res.returncode, res.stderr) == (1, _FULL)


_XML = (
    "<annotation><filename>n01440764_18</filename><size><width>50</width><height>40</height>"
    "<depth>3</depth></size><object><name>n01440764</name><bndbox><xmin>1</xmin><ymin>2</ymin>"
    "<xmax>30</xmax><ymax>20</ymax></bndbox></object></annotation>"
)
_TERMS = ["--accept-terms", "--name", "A", "--email", "a@example.edu", "--organization", "O"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["subset", "show", "nosuch"], 3),
        (["subset", "show", "dogs", "-f", "json"], 3),
        (["synset", "show", "n99999999"], 3),
        (["synset", "descendants", "nosuch.n.01", "-f", "csv"], 3),
        (["synset", "search", "zzzqqqx"], 3),
        (["synset", "search", "zzzqqqx", "-f", "table"], 3),
        (["bbox", "convert", "{xml}", "--under", "foo"], 3),
        (["bbox", "convert", "{xml}", "--release", "nope", "-f", "json"], 3),
        (["bbox", "convert", "{xml}", "--wnid", "n99999999", "-f", "loc"], 3),
        (["fetch", "--wnid", "n01440764", "--urls-only", "--offline", *_TERMS], 3),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_a_command_failing_before_its_first_row_writes_nothing_to_stdout(
    args: list[str], code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.xml").write_text(_XML)
    argv = [a.format(xml=tmp_path / "a.xml") for a in args]
    res = run(argv, expect=code)
    assert res.stdout == "" and "imagenet: error: " in res.stderr
    if argv[0] in ("synset", "fetch"):  # the commands the fast path serves
        same_on_fast_path(argv, capsys)


def test_an_empty_answer_keeps_its_header() -> None:
    assert run(["synset", "children", "n01440764", "-f", "tsv"]).stdout.startswith("wnid\t")
    assert run(["synset", "children", "n01440764", "-f", "json"]).stdout == "[]\n"
    res = run(["synset", "children", "n01440764", "n99999999", "-f", "csv"], expect=3)
    assert res.stdout == ""  # nothing to show, and a failure: no header either


def test_no_color_when_piped_or_no_color_set() -> None:
    base = _imagenet()
    res = subprocess.run([*base, "synset", "show", "nosuch.n.01"], capture_output=True, text=True)
    assert "\x1b[" not in res.stderr
    res = subprocess.run(
        [*base, "synset", "search", "tench", "-f", "table"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color"},
    )
    assert "\x1b[" not in res.stdout and "n01440764" in res.stdout


def test_one_command_apps_match_the_whole_app() -> None:
    from imagenet_cli.cli.app import for_command

    whole: Any = get_command(app)
    for name, command in whole.commands.items():
        alone: Any = get_command(for_command(name))
        assert name in alone.commands
        assert len(alone.commands) < len(whole.commands)
        got = alone.commands[name]
        assert [p.opts for p in got.params] == [p.opts for p in command.params], name
        assert sorted(getattr(got, "commands", {})) == sorted(getattr(command, "commands", {}))
    assert get_command(for_command("--help")).commands.keys() == whole.commands.keys()


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["fetch", "--help"], "Downloads in flight at once [config fetch.concurrency: 64]."),
        (["bbox", "draw", "--help"], "[default: beside the image, or under --annotations]"),
        (["subset", "extract", "--help"], "Items per task sent to a worker [default: 64 on a"),
    ],
)
def test_help_shows_bracketed_text(args: list[str], shown: str) -> None:
    # Help is plain text: '[default: ...]' is information, not markup to drop.
    out = run(args).stdout
    assert shown in " ".join(out.split())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_ctrl_c_at_a_prompt_exits_130(tmp_path: Path) -> None:
    import pty
    import select
    import time

    env = {
        **os.environ,
        "IMAGENET_CONFIG": str(tmp_path / "config"),
        "IMAGENET_CACHE": str(tmp_path / "cache"),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: `imagenet terms accept` on a terminal, which asks
        os.execve(sys.executable, [sys.executable, "-m", "imagenet_cli", "terms", "accept"], env)
    seen = b""
    deadline = time.monotonic() + 60
    while b"Full name" not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 1)[0]:
            seen += os.read(fd, 65536)
    os.write(fd, b"\x03")  # Ctrl-C, as the terminal sends it
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130, seen[-300:]
    assert b"interrupted" in seen and b"Traceback" not in seen


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "typer"])
def test_ctrl_c_while_reading_stdin_says_interrupted_on_both_paths(fast: bool) -> None:
    import signal

    args = ["synset", "show", "-", "-f", "ids"]
    if not fast:  # the Typer app, as the entry point runs it, without the fast path
        code = (
            "import sys; from typer.main import get_command; "
            "from imagenet_cli.cli.app import for_command; "
            "get_command(for_command('synset')).main(args=sys.argv[1:], prog_name='imagenet')"
        )
        argv = [sys.executable, "-c", code, *args]
    else:
        argv = [sys.executable, "-m", "imagenet_cli", *args]
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin and proc.stderr
    proc.stdin.write(b"nosuch\n")
    proc.stdin.flush()
    first = proc.stderr.readline()  # the id was read: now it waits for the next line
    assert first.startswith(b"imagenet: error: nosuch: not a synset id")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, b"imagenet: error: interrupted\n")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("command", [["synset", "show"], ["synset", "map"], ["synset", "parents"]])
def test_no_ids_at_a_terminal_is_a_usage_error_not_a_wait(
    command: list[str], tmp_path: Path
) -> None:
    import subprocess

    env = {**os.environ, "IMAGENET_CACHE": os.environ["IMAGENET_CACHE"]}
    main, terminal = os.openpty()
    try:
        res = subprocess.run(
            [sys.executable, "-m", "imagenet_cli", *command],
            stdin=terminal,
            capture_output=True,
            env=env,
            timeout=60,  # a wait for typed input would end here, and fail the test
        )
    finally:
        os.close(main)
        os.close(terminal)
    assert res.returncode == 2
    assert res.stdout == b""
    assert res.stderr == (
        b"imagenet: error: no ids given: name one or more (wnid, offset or name), or pipe them in\n"
    )
