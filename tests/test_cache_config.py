"""The cache folder, atomic writes, locks, SQLite, and the config file."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest

from imagenet_cli import cache, config
from imagenet_cli.errors import UsageError

from .conftest import run


def test_cache_dir_follows_the_environment(isolated: Path) -> None:
    assert cache.cache_dir() == isolated / "cache"
    assert run(["cache", "path"]).stdout.strip() == str(isolated / "cache")


@pytest.mark.parametrize("xdg", [None, "", "  ", "/srv/xdg"])
@pytest.mark.parametrize("kind", ["cache", "config"])
def test_user_folders_are_where_platformdirs_puts_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str, xdg: str | None
) -> None:
    import platformdirs

    monkeypatch.setenv("HOME", str(tmp_path))
    var = "XDG_CACHE_HOME" if kind == "cache" else "XDG_CONFIG_HOME"
    if xdg is None:
        monkeypatch.delenv(var, raising=False)
    else:
        monkeypatch.setenv(var, xdg)
    find = platformdirs.user_cache_dir if kind == "cache" else platformdirs.user_config_dir
    assert cache.user_dir(kind) == Path(find("imagenet-cli", appauthor=False))  # type: ignore[arg-type]


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "a" / "file.txt"
    cache.write_text_atomic(target, "first")
    with pytest.raises(RuntimeError), cache.atomic_write(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_atomic_write_goes_through_a_link_and_keeps_permissions(tmp_path: Path) -> None:
    # as `>` would: `-o boxes.csv` where boxes.csv links into a dataset, or is private
    target = tmp_path / "data" / "boxes.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o600)
    link = tmp_path / "boxes.csv"
    link.symlink_to(target)
    with cache.atomic_write(link, "w") as fh:
        fh.write("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o600
    fresh = tmp_path / "fresh.csv"
    with cache.atomic_write(fresh, "w") as fh:
        fh.write("x\n")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask


def test_lean_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "w" / "a.jpg"
    cache.write_bytes_atomic(target, b"abc", fsync=False)
    cache.write_bytes_atomic(target, b"defg")
    assert target.read_bytes() == b"defg"
    assert [p.name for p in target.parent.iterdir()] == ["a.jpg"]
    with pytest.raises(IsADirectoryError):
        cache.write_bytes_atomic(tmp_path / "w", b"x")  # a folder in the way
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]
    name = os.path.basename(cache.temp_name(str(target)))
    assert name.startswith(".a.jpg.") and name.endswith(".part")
    assert cache.temp_name(str(target)) != cache.temp_name(str(target))


def _append_under_lock(args: tuple[str, str, int]) -> None:
    lock, path, n = args
    for _ in range(n):
        with cache.file_lock(lock):
            # Read-modify-write: loses updates unless the lock really excludes.
            current = int(Path(path).read_text()) if Path(path).exists() else 0
            cache.write_text_atomic(path, str(current + 1), fsync=False)


def test_lock_excludes_across_processes(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    args = (str(tmp_path / "lock"), str(counter), 200)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_append_under_lock, [args, args])
    assert counter.read_text() == "400"


def _writer(args: tuple[str, int, int]) -> None:
    path, who, n = args
    conn = cache.connect(path, MIGRATIONS)
    for i in range(n):
        conn.execute("INSERT INTO t VALUES (?, ?)", (who, i))
    conn.close()


MIGRATIONS = ["CREATE TABLE t(who INTEGER, i INTEGER)", "CREATE INDEX t_who ON t(who)"]


def test_sqlite_two_processes_write_at_once(tmp_path: Path) -> None:
    db = str(tmp_path / "db.sqlite")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_writer, [(db, 1, 300), (db, 2, 300)])
    conn = cache.connect(db, MIGRATIONS)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 600
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    ro = cache.connect(db, readonly=True)
    with pytest.raises(sqlite3.OperationalError):
        ro.execute("INSERT INTO t VALUES (3, 3)")


def test_migrations_run_once_in_order(tmp_path: Path) -> None:
    calls: list[int] = []
    steps: list[cache.Migration] = ["CREATE TABLE a(x)", lambda c: calls.append(1)]
    cache.connect(tmp_path / "m.sqlite", steps).close()
    cache.connect(tmp_path / "m.sqlite", steps).close()
    assert calls == [1]


def test_cache_info_and_clean(isolated: Path) -> None:
    (isolated / "cache" / "lists").mkdir()
    (isolated / "cache" / "lists" / "x.txt").write_text("12345")
    info = run(["cache", "info", "-f", "tsv"]).lines
    assert info[0] == "name\tfiles\tbytes\tpath"
    assert any(line.startswith("lists\t1\t5\t") for line in info)
    res = run(["cache", "clean", "nosuch"], expect=3)  # not found, as README's table says
    assert "not in the cache: nosuch" in res.stderr
    run(["cache", "clean", "lists", "--dry-run"])
    assert (isolated / "cache" / "lists").exists()
    res = run(["cache", "clean", "lists"])
    assert res.stderr == "imagenet: removed 1 item, 5 bytes\n"
    assert not (isolated / "cache" / "lists").exists()


def test_cache_clean_removes_only_what_imagenet_wrote(isolated: Path) -> None:
    root = isolated / "cache"
    (root / "lists" / "h-1").mkdir(parents=True)
    (root / "lists" / "h-1" / "n1.json").write_text("{}")
    (root / "mine").mkdir()
    (root / "mine" / "thesis.tex").write_text("x")
    (root / "notes.txt").write_text("y")
    res = run(["cache", "clean", "mine"], expect=2)
    assert res.stderr == f"imagenet: error: mine: not written by imagenet, left alone (in {root})\n"
    dry = run(["cache", "clean", "--dry-run"]).stderr
    assert dry.startswith("imagenet: would remove 2 items, ")  # the synset index and lists
    removed, left = run(["cache", "clean"]).stderr.splitlines()
    assert removed.startswith("imagenet: removed 2 items, ")
    assert left == (
        f"imagenet: warning: left 2 items imagenet did not write in {root}: mine, notes.txt"
    )
    assert sorted(p.name for p in root.iterdir()) == ["CACHEDIR.TAG", "mine", "notes.txt"]
    assert (root / "mine" / "thesis.tex").read_text() == "x"


def test_a_new_or_empty_cache_folder_is_tagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in (tmp_path / "new" / "cache", tmp_path / "empty"):
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.name == "empty":
            folder.mkdir()
        monkeypatch.setenv("IMAGENET_CACHE", str(folder))
        run(["cache", "path"])
        assert (
            (folder / "CACHEDIR.TAG")
            .read_bytes()
            .startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")
        )
        assert cache.is_tagged(folder)
        assert "CACHEDIR.TAG" not in run(["cache", "info", "-f", "tsv"]).stdout


def test_cache_clean_leaves_a_folder_that_held_other_files_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IMAGENET_CACHE=~/imagenet by mistake, where bbox/ and subset/ are the user's own
    data = tmp_path / "imagenet"
    (data / "bbox").mkdir(parents=True)
    (data / "bbox" / "n01440764_1.xml").write_text("<annotation/>")
    (data / "subset").mkdir()
    monkeypatch.setenv("IMAGENET_CACHE", str(data))
    run(["synset", "show", "n02084071", "-f", "ids"])  # imagenet writes its index there
    assert (data / "index").is_dir() and not (data / "CACHEDIR.TAG").exists()
    for args in (["cache", "clean"], ["cache", "clean", "bbox"], ["cache", "clean", "--dry-run"]):
        res = run(args, expect=2)
        assert res.stderr == (
            f"imagenet: error: {data} was not made for imagenet's cache (it held other files "
            "when imagenet first used it, and has no CACHEDIR.TAG): nothing removed; remove "
            "imagenet's items by hand, or set IMAGENET_CACHE to a folder of its own\n"
        )
    assert sorted(p.name for p in data.iterdir()) == ["bbox", "index", "subset"]
    assert (data / "bbox" / "n01440764_1.xml").read_text() == "<annotation/>"


def test_every_path_the_code_builds_in_the_cache_is_one_clean_knows() -> None:
    import re

    package = Path(cache.__file__).parent
    pattern = re.compile(r"cache_path\(\s*\"([^\"]+)\"|cache_dir\(\)\s*/\s*\"([^\"]+)\"")
    found = {a or b for src in package.rglob("*.py") for a, b in pattern.findall(src.read_text())}
    assert found and found <= cache.OWNED, found - cache.OWNED


def test_synset_index_is_built_on_first_use_with_an_empty_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagenet_cli.hierarchy import Hierarchy

    monkeypatch.setenv("IMAGENET_CACHE", str(tmp_path / "empty"))
    Hierarchy._default = None
    assert run(["synset", "show", "n02084071", "-f", "ids"]).stdout == "n02084071\n"
    assert list((tmp_path / "empty" / "index").glob("synsets-*.sqlite"))


@pytest.mark.parametrize("damage", ["empty", "cut short", "not a database"])
def test_a_damaged_synset_index_is_one_line_naming_it(isolated: Path, damage: str) -> None:
    from imagenet_cli import synset_index

    path = synset_index.index_path()
    whole = path.read_bytes()
    path.unlink()  # the test's copy may be a link to the session's index
    data = {"empty": b"", "cut short": whole[: len(whole) // 2], "not a database": b"x" * 4096}
    path.write_bytes(data[damage])
    res = run(["synset", "show", "n02084071"], expect=2)
    assert res.stdout == ""
    assert res.stderr.startswith(f"imagenet: error: {path}: the synset index in the cache is ")
    assert "imagenet cache clean index" in res.stderr and len(res.stderr.splitlines()) == 1
    run(["cache", "clean", "index"])
    assert run(["synset", "show", "n02084071", "-f", "ids"]).stdout == "n02084071\n"


def test_config_precedence_and_types(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.get("fetch.concurrency") == 64
    config.set_value("fetch.concurrency", "16")
    assert config.get("fetch.concurrency") == 16
    assert config.get("fetch.concurrency", option=4) == 4
    config.set_value("base_url", "http://mirror.example")
    monkeypatch.setenv("IMAGENET_BASE_URL", "http://127.0.0.1:1")
    assert config.get("base_url") == "http://127.0.0.1:1"
    with pytest.raises(UsageError):
        config.set_value("fetch.concurrency", "many")
    with pytest.raises(UsageError):
        config.get("no.such.key")
    assert config.unset("fetch.concurrency") and config.get("fetch.concurrency") == 64


def test_config_cli(isolated: Path) -> None:
    run(["config", "set", "fetch.retries", "5"])
    assert run(["config", "get", "fetch.retries"]).stdout == "5\n"
    listing = run(["config", "list", "-f", "tsv"]).lines
    assert "fetch.retries\t5\tconfig\t" in "\n".join(listing)
    assert (isolated / "config" / "config.toml").read_text().startswith("[fetch]")
    res = run(["config", "set", "fetch.retries", "x"], expect=2)
    assert "fetch.retries takes an integer, not 'x'" in res.stderr
    res = run(["config", "get", "nope"], expect=2)
    assert res.stderr.count("\n") == 1 and "known keys: base_url, fetch." in res.stderr


@pytest.mark.parametrize(
    "command", [["set", "concurency", "16"], ["get", "concurency"], ["unset", "fetch.concurency"]]
)
def test_an_unknown_config_key_is_a_usage_error_naming_the_nearest(
    isolated: Path, command: list[str]
) -> None:
    res = run(["config", *command], expect=2)
    assert res.stdout == ""
    assert res.stderr == (
        f"imagenet: error: unknown config key {command[1]!r} (did you mean fetch.concurrency?)\n"
    )
    assert not (isolated / "config" / "config.toml").exists()


@pytest.mark.parametrize(
    ("key", "low", "shown", "lowest"),
    [
        ("fetch.timeout", "-1", "-1.0", "0.01"),
        ("fetch.max_bytes", "0", "0", "1"),
        ("fetch.per_host", "0", "0", "1"),
        ("fetch.concurrency", "0", "0", "1"),
        ("fetch.retries", "-1", "-1", "0"),
        ("fetch.min_side", "-1", "-1", "0"),
        ("workers", "-1", "-1", "0"),
    ],
)
def test_config_set_holds_values_to_the_options_bounds(
    key: str, low: str, shown: str, lowest: str
) -> None:
    res = run(["config", "set", key, "--", low], expect=2)
    assert res.stderr == f"imagenet: error: {key} must be at least {lowest}, not {shown}\n"
    assert not config.config_file().exists()
    run(["config", "set", key, lowest])
    # `imagenet fetch`'s option of the same setting has the same bound, on both paths
    from imagenet_cli.cli.fastpath import specs
    from imagenet_cli.cli.fetch_actions import fetch

    option = "--workers" if key == "workers" else "--" + key.split(".")[1].replace("_", "-")
    (param,) = [p for p in specs(fetch) or [] if option in p.decl.decls]
    assert param.decl.min == config.minimum(key) == type(config.KEYS[key].default)(lowest)


def test_a_bad_value_in_the_file_is_one_line_when_a_command_uses_it(isolated: Path) -> None:
    (isolated / "config").mkdir()
    path = isolated / "config" / "config.toml"
    path.write_text('base_url = "http://mirror.example"\n[fetch]\nconcurrency = "lots"\n')
    line = f"imagenet: error: {path}: line 3: fetch.concurrency takes an integer, not 'lots'\n"
    assert run(["config", "get", "fetch.concurrency"], expect=2).stderr == line
    assert run(["config", "get", "base_url"]).stdout == "http://mirror.example\n"
    listed = run(["config", "list", "-f", "tsv"], expect=2)
    assert "fetch.concurrency\tlots\tconfig\t" in listed.stdout and listed.stderr == line
    path.write_text("[fetch]\ntimeout = -1\nretries = true\nmax_bytes = 2.5\n")
    assert config.get("fetch.min_side") == 0  # a key the file leaves alone still answers
    for key, problem in [
        ("fetch.timeout", "line 2: fetch.timeout must be at least 0.01, not -1.0"),
        ("fetch.retries", "line 3: fetch.retries takes an integer, not True"),
        ("fetch.max_bytes", "line 4: fetch.max_bytes takes an integer, not 2.5"),
    ]:
        with pytest.raises(UsageError, match=f"^{path}: {problem}$"):
            config.get(key)
    path.write_text("[fetch]\ntimeout = 5\n")
    assert config.get("fetch.timeout") == 5.0  # TOML's 5 for 5.0


def test_a_config_file_with_a_byte_order_mark_is_read(isolated: Path) -> None:
    (isolated / "config").mkdir()
    path = isolated / "config" / "config.toml"
    path.write_bytes(b"\xef\xbb\xbfworkers = 2\n[fetch]\nretries = 5\n")
    assert run(["config", "get", "workers"]).stdout == "2\n"
    path.write_bytes(b"\xef\xbb\xbfworkers = -3\n")
    res = run(["config", "get", "workers"], expect=2)
    assert res.stderr == f"imagenet: error: {path}: line 1: workers must be at least 0, not -3\n"
    run(["config", "set", "fetch.retries", "4"])
    assert config.get("fetch.retries") == 4 and path.read_bytes().startswith(b"workers")


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e999"])
def test_config_timeout_is_finite(isolated: Path, text: str) -> None:
    res = run(["config", "set", "fetch.timeout", "--", text], expect=2)
    assert res.stderr.startswith("imagenet: error: fetch.timeout takes a finite number, not ")
    assert not config.config_file().exists()
    (isolated / "config").mkdir()
    path = isolated / "config" / "config.toml"
    path.write_text(f"[fetch]\ntimeout = {text.replace('1e999', 'inf')}\n")
    listed = run(["config", "list", "-f", "tsv", "--no-header"], expect=2)
    assert "\nfetch.timeout\t" in "\n" + listed.stdout and "Traceback" not in listed.stderr
    assert listed.stderr.startswith(f"imagenet: error: {path}: line 2: fetch.timeout takes a ")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("fetch = 3\n", "fetch and fetch.concurrency "),
        ("[fetch.concurrency]\nx = 1\n", "fetch.concurrency and fetch.concurrency.x "),
    ],
)
def test_config_set_under_a_key_that_holds_a_value_is_one_line(
    isolated: Path, text: str, names: str
) -> None:
    (isolated / "config").mkdir()
    path = isolated / "config" / "config.toml"
    path.write_text(text)
    res = run(["config", "set", "fetch.concurrency", "16"], expect=2)
    assert res.stderr.startswith(f"imagenet: error: {path}: {names}")
    assert "cannot both be set" in res.stderr and len(res.stderr.splitlines()) == 1
    assert path.read_text() == text


def test_broken_config_is_one_clear_line(isolated: Path) -> None:
    (isolated / "config").mkdir()
    (isolated / "config" / "config.toml").write_text("[fetch\n")
    res = run(["config", "get", "base_url"], expect=2)  # as a bad value in it is
    assert "invalid TOML" in res.stderr and "config.toml" in res.stderr
    assert "Traceback" not in res.stderr


def test_umask_respected(tmp_path: Path) -> None:
    cache.write_text_atomic(tmp_path / "f", "x")
    mode = os.stat(tmp_path / "f").st_mode & 0o777
    assert mode == 0o666 & ~cache._umask()


def test_atomic_write_writes_a_fifo_in_place(tmp_path: Path) -> None:
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    with cache.atomic_write(fifo, "w") as fh:
        fh.write("rows\n")
    reader.join(10)
    assert got == [b"rows\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe, not a file in its place


def test_a_cache_folder_that_cannot_be_made_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("IMAGENET_CACHE", str(tmp_path / "file" / "cache"))
    res = run(["cache", "path"], expect=2)
    assert res.stderr == (
        f"imagenet: error: cannot create cache folder {tmp_path / 'file' / 'cache'}: "
        "Not a directory\n"
    )


def test_config_list_names_a_key_no_setting_has(isolated: Path) -> None:
    (isolated / "config").mkdir()
    path = isolated / "config" / "config.toml"
    path.write_text("[fetch]\nconcurency = 8\ntimeout = 10.0\n")  # a typo: nothing reads it
    res = run(["config", "list", "-f", "tsv"])
    assert "fetch.timeout\t10.0\tconfig\t" in res.stdout
    assert res.stderr.startswith(
        f"imagenet: warning: {path}: line 2: unknown key 'fetch.concurency', ignored (known keys: "
    )
    assert len(res.stderr.splitlines()) == 1
