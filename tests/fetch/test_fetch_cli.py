"""The fetch family of commands end to end: terms gate, credentials, lists, fetch, bbox."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from imagenet_cli.fetch import terms
from tests.conftest import run, same_on_fast_path

from .conftest import DOG, FISH
from .server import ImageServer

IDENTITY = ["--name", "Ada Lovelace", "--email", "ada@example.edu", "--organization", "AE Lab"]
IMAGENET = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))), ".venv", "bin", "imagenet"
)


def fish_list(server: ImageServer, names: list[str]) -> None:
    server.lists[FISH] = [(f"{FISH}_{i}", server.url(f"/img/{n}")) for i, n in enumerate(names, 1)]


# ------------------------------------------------------------------ terms


@pytest.mark.parametrize(
    "args",
    [
        ["fetch", "--wnid", FISH, "--out", "OUT"],
        ["fetch", "--wnid", FISH, "--urls-only"],
        ["bbox", "fetch", "--wnid", FISH],
        ["fetch", "--wnid", FISH, "--original", "--out", "OUT"],
    ],
)
def test_gate_refuses_without_terms(base_env: ImageServer, tmp_path: Path, args: list[str]) -> None:
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    fish_list(base_env, ["ok/a.jpg"])
    res = run(args, expect=4)
    assert "terms of access" in res.stderr and "imagenet terms accept" in res.stderr
    assert base_env.requests == []  # the server saw nothing


def test_urls_index_url_is_gated(server: ImageServer) -> None:
    res = run(["urls", "index", server.url("/fall11.txt")], expect=4)
    assert "--accept-terms" in res.stderr and server.requests == []


def test_accept_status_revoke() -> None:
    assert run(["terms", "status", "-f", "json"], expect=4).stdout.count('"accepted": false') == 1
    run(["terms", "accept", *IDENTITY], expect=2)  # no --yes, not a terminal
    run(
        [
            "terms",
            "accept",
            "--name",
            "A",
            "--email",
            "not-an-email",
            "--organization",
            "O",
            "--yes",
        ],
        expect=2,
    )
    run(["terms", "accept", *IDENTITY, "--yes"])
    doc = json.loads(run(["terms", "status", "-f", "json"]).stdout)
    assert doc[0]["accepted"] is True and doc[0]["name"] == "Ada Lovelace"
    assert doc[0]["version"] == terms.current().version
    record = json.loads(terms.record_path().read_text())
    assert record["organization"] == "AE Lab" and record["accepted_at"]
    run(["terms", "revoke"])
    run(["terms", "status"], expect=4)


def test_terms_status_rows_without_header() -> None:
    run(["terms", "accept", *IDENTITY, "--yes"])
    res = run(["terms", "status", "-f", "tsv", "--no-header"])
    (line,) = res.stdout.splitlines()
    assert line.startswith("true\t") and "Ada Lovelace" in line


def test_terms_show() -> None:
    res = run(["terms", "show"])
    version = terms.current().version
    assert f"Version {version}" in res.stdout
    for phrase in (
        "non-commercial research",
        "does not own",
        "No redistribution",
        "indemnify",
        "Princeton",
        "Stanford",
    ):
        assert phrase in res.stdout
    assert json.loads(run(["terms", "show", "-f", "json"]).stdout)["version"] == version


def test_new_version_needs_new_acceptance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_env: ImageServer
) -> None:
    run(["terms", "accept", *IDENTITY, "--yes"])
    newer = tmp_path / "terms.md"
    text = terms.current()
    newer.write_text(f"---\nversion: {text.version}.next\nsource: x\n---\n{text.text}")
    monkeypatch.setattr(terms, "_TERMS_PATH", newer)
    fish_list(base_env, ["ok/a.jpg"])
    res = run(["fetch", "--wnid", FISH, "--urls-only"], expect=4)
    assert "changed" in res.stderr and base_env.requests == []
    run(["terms", "accept", *IDENTITY, "--yes"])
    run(["fetch", "--wnid", FISH, "--urls-only"])


def test_accept_terms_in_the_same_run(base_env: ImageServer, tmp_path: Path) -> None:
    fish_list(base_env, ["ok/a.jpg"])
    run(["fetch", "--wnid", FISH, "--urls-only", "--accept-terms"], expect=2)  # identity missing
    res = run(["fetch", "--wnid", FISH, "--urls-only", "--accept-terms", *IDENTITY])
    assert res.lines[1].startswith(f"{FISH}\t{FISH}_1\t")
    assert terms.status().accepted


# ------------------------------------------------------------------ credentials


def test_login_mode_and_key_never_shown(
    server: ImageServer, tmp_path: Path, accepted: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = server.access_key
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", key)
    outputs = [run(["login", "--username", server.username])]
    monkeypatch.delenv("IMAGENET_ACCESS_KEY")
    path = Path(os.environ["IMAGENET_CONFIG"]) / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["access_key"] == key
    out = tmp_path / "orig"
    outputs.append(
        run(["fetch", "--wnid", FISH, "--original", "--out", str(out), "--base-url", server.base])
    )
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert sorted(p.name for p in (out / FISH).iterdir()) == [f"{FISH}_1.jpg", f"{FISH}_2.jpg"]
    assert not (out / "escape.jpg").exists() and not (tmp_path / "escape.JPEG").exists()
    assert server.seen("accesskey=") == 1
    # a wrong key: access denied, exit 4, key still hidden
    run(["logout"])
    monkeypatch.setenv("IMAGENET_USERNAME", server.username)
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", "wrong-key-9999")
    denied = run(  # into a new folder: the first one's archive is done, asked no more
        ["fetch", "--wnid", FISH, "--original", "--out", str(out) + "2", "--base-url", server.base],
        expect=4,
    )
    assert "access denied" in denied.stderr and "wrong-key-9999" not in denied.stderr
    outputs.append(denied)
    texts = [o.stdout + o.stderr for o in outputs] + [(out / "manifest.jsonl").read_text()]
    for text in texts:
        assert key not in text
    assert not path.exists()


@pytest.mark.parametrize("url", ["http://ada:s3cretPW@host", "https://t0kenvalue@host/x"])
def test_config_refuses_a_password_in_base_url(url: str) -> None:
    res = run(["config", "set", "base_url", url], expect=2)
    assert "imagenet login" in res.stderr and "IMAGENET_ACCESS_KEY" in res.stderr
    assert "s3cretPW" not in res.stderr and "t0kenvalue" not in res.stderr
    assert not (Path(os.environ["IMAGENET_CONFIG"]) / "config.toml").exists()
    run(["config", "set", "base_url", "http://mirror.example/imagenet"])


def test_an_access_key_in_the_environment_alone_beats_the_stored_one(
    server: ImageServer, tmp_path: Path, accepted: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", "stale-key-1234")
    run(["login", "--username", server.username])
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", server.access_key)  # with the stored username
    out = tmp_path / "orig"
    args = ["fetch", "--wnid", FISH, "--original", "--out", str(out), "--base-url", server.base]
    run(args)
    assert sorted(p.name for p in (out / FISH).iterdir()) == [f"{FISH}_1.jpg", f"{FISH}_2.jpg"]
    # the environment's username goes with it too; a key with no username anywhere is
    # one line, exit 4
    run(["logout"])
    monkeypatch.setenv("IMAGENET_USERNAME", server.username)
    run([*args[:-3], str(tmp_path / "again"), *args[-2:]])
    monkeypatch.delenv("IMAGENET_USERNAME")
    res = run([*args[:-3], str(tmp_path / "none"), *args[-2:]], expect=4)
    assert "IMAGENET_USERNAME" in res.stderr and server.access_key not in res.stderr


@pytest.mark.parametrize("where", ["/nowhere", ":1"])
def test_an_original_archive_that_cannot_be_had_is_an_error(
    server: ImageServer,
    tmp_path: Path,
    accepted: object,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    monkeypatch.setenv("IMAGENET_USERNAME", server.username)
    monkeypatch.setenv("IMAGENET_ACCESS_KEY", server.access_key)
    base = server.base + where if where.startswith("/") else "http://127.0.0.1" + where
    out = tmp_path / "orig"
    res = run(
        ["fetch", "--wnid", FISH, "--original", "--out", str(out), "--base-url", base], expect=1
    )
    lines = res.stderr.splitlines()
    assert len(lines) == 2, res.stderr
    error, summary = lines
    reason = "HTTP 404" if where == "/nowhere" else "Connection refused"
    assert error.startswith(f"imagenet: error: {FISH}: no archive of original images: ")
    assert reason in error and f"{base}/download/synset?wnid={FISH}" in error
    assert summary == f"imagenet: 0 original images written to {out} (0 refused)"
    assert server.access_key not in res.stderr + (out / "manifest.jsonl").read_text()
    # asked again: still one row for the archive's URL
    run(["fetch", "--wnid", FISH, "--original", "--out", str(out), "--base-url", base], expect=1)
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 1


def test_login_without_key_on_a_pipe() -> None:
    res = run(["login", "--username", "ada"], expect=2)
    assert "IMAGENET_ACCESS_KEY" in res.stderr


def test_redact_masks_keys_and_query() -> None:
    from imagenet_cli.fetch.credentials import Credentials, redact

    creds = Credentials("u", "abcd/efgh+ij")
    assert "abcd" not in repr(creds)
    assert redact("x abcd/efgh+ij y") == "x *** y"
    assert redact("http://h/d?accesskey=abcd%2Fefgh%2Bij&u=1") == "http://h/d?accesskey=***&u=1"
    assert redact("http://h/d?accesskey=other&x=1") == "http://h/d?accesskey=***&x=1"


def test_redact_masks_a_urls_password() -> None:
    from imagenet_cli.fetch.credentials import redact

    assert redact("http://ada:pw@h:1/x?y=1: HTTP 404") == "http://ada:***@h:1/x?y=1: HTTP 404"
    assert redact("'https://ada:p@ss@h/'") == "'https://ada:***@h/'"  # the last @ ends it
    assert redact("https://t0ken@h/x") == "https://***@h/x"  # a lone name may be a token
    assert redact("http://h/a@b?q=c@d mail a@b") == "http://h/a@b?q=c@d mail a@b"


def test_a_password_in_the_base_url_is_used_but_never_shown(
    server: ImageServer, accepted: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    pw = "s3cretPW"
    base = f"http://ada:{pw}@127.0.0.1:{server.port}"
    down = f"http://ada:{pw}@127.0.0.1:1"
    lost = f"{base}/nowhere"  # every path below it is a 404
    outputs = [
        run(["fetch", "--wnid", FISH, "--urls-only", "--base-url", lost], expect=1),
        run(
            ["fetch", "--wnid", FISH, "--urls-only", "--base-url", down, "--retries", "0"], expect=1
        ),
        run(["bbox", "fetch", "--wnid", FISH, "--base-url", lost], expect=1),
    ]
    assert all("ada:***@127.0.0.1" in o.stderr for o in outputs)
    fish_list(server, ["ok/a.jpg"])
    outputs.append(run(["fetch", "--wnid", FISH, "--urls-only", "--refresh", "--base-url", base]))
    # the request itself still carries the credentials
    sent = dict((k.lower(), v) for k, v in server.last_headers)
    assert sent["authorization"] == "Basic " + base64.b64encode(f"ada:{pw}".encode()).decode()
    server.fall11 = fall11(1)
    outputs.append(run(["urls", "index", f"{base}/fall11.txt"]))
    outputs.append(run(["urls", "info", "-f", "tsv"]))
    assert "ada:***@127.0.0.1" in outputs[-1].stdout
    outputs.append(run(["config", "set", "base_url", base], expect=2))  # never in the file
    monkeypatch.setenv("IMAGENET_BASE_URL", base)
    outputs.append(run(["config", "get", "base_url"]))
    assert outputs[-1].stdout == f"http://ada:***@127.0.0.1:{server.port}\n"
    outputs.append(run(["config", "list", "-f", "json"]))
    assert f"ada:***@127.0.0.1:{server.port}" in outputs[-1].stdout
    for o in outputs:
        assert pw not in o.stdout + o.stderr
    cache_dir = Path(os.environ["IMAGENET_CACHE"])
    stored = [p for p in cache_dir.rglob("*") if p.is_file() and "index" not in p.parts]
    assert any(p.suffix == ".json" for p in stored)
    for path in stored:
        assert pw.encode() not in path.read_bytes(), path
    # the list is found again under the same credentials
    run(["fetch", "--wnid", FISH, "--urls-only", "--offline", "--base-url", base])


# ------------------------------------------------------------------ lists


def test_urls_only_mapping_and_fallback(base_env: ImageServer, accepted: object) -> None:
    fish_list(base_env, ["ok/a.jpg", "ok/b.jpg"])
    res = run(["fetch", "--wnid", "tench.n.01", "--urls-only", "--no-header"])
    assert res.lines == [
        f"{FISH}\t{FISH}_1\t{base_env.url('/img/ok/a.jpg')}",
        f"{FISH}\t{FISH}_2\t{base_env.url('/img/ok/b.jpg')}",
    ]
    assert base_env.seen("getmapping") == 1
    # cached: no new request
    run(["fetch", "--wnid", FISH, "--urls-only"])
    assert len(base_env.requests) == 1
    # a server without the mapping: plain list, ids numbered
    base_env.no_mapping.add(FISH)
    res = run(["fetch", "--wnid", FISH, "--urls-only", "--refresh", "-f", "jsonl"])
    assert [json.loads(x)["image_id"] for x in res.lines] == [f"{FISH}_1", f"{FISH}_2"]


def test_offline_with_and_without_cache(base_env: ImageServer, accepted: object) -> None:
    res = run(["fetch", "--wnid", FISH, "--urls-only", "--offline"], expect=3)
    assert "no cached image list" in res.stderr and base_env.requests == []
    fish_list(base_env, ["ok/a.jpg"])
    run(["fetch", "--wnid", FISH, "--urls-only"])
    n = len(base_env.requests)
    res = run(["fetch", "--wnid", FISH, "--urls-only", "--offline", "--no-header"])
    assert len(res.lines) == 1 and len(base_env.requests) == n


def test_unknown_wnid_list(base_env: ImageServer, accepted: object) -> None:
    res = run(["fetch", "--wnid", DOG, "--urls-only"], expect=1)
    assert "no image list" in res.stderr


def test_bad_ids_are_all_named_before_any_request(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{FISH}\nfoo\n\nn99999999\n", encoding="utf-8")
    res = run(["fetch", "--wnids", str(ids), "--wnid", "dog.v.01", "--urls-only"], expect=3)
    not_id = (
        "not a synset id (give a wnid like n02084071, an offset like 02084071, "
        "or a name like dog.n.01; 'imagenet synset search' finds words)"
    )
    assert res.stderr.splitlines() == [
        "imagenet: error: dog.v.01: not a noun synset (ImageNet holds nouns only)",
        f"imagenet: error: {ids}: line 2: foo: {not_id}",
        f"imagenet: error: {ids}: line 4: n99999999: no WordNet 3.0 noun synset has this id",
    ]
    assert base_env.requests == []


def test_stdin_given_to_both_id_options_is_a_usage_error(
    base_env: ImageServer, accepted: object
) -> None:
    # The second '-' would read an empty stdin: its synsets would be missing without a word.
    res = run(["fetch", "--wnid", "-", "--wnids", "-", "--urls-only"], input=f"{FISH}\n", expect=2)
    assert res.stderr == (
        "imagenet: error: stdin ('-') can be read once: give '-' to one of --wnid, --wnids, once\n"
    )
    assert base_env.requests == []


def fall11(n_per: int = 3) -> bytes:
    lines = []
    for w in (FISH, "n01443537", DOG):
        lines += [f"{w}_{i}\thttp://img.example/{w}/{i}.jpg" for i in range(n_per)]
    lines.append("garbage line without id")
    lines += [f"{FISH}_{i}\thttp://img.example/{FISH}/{i}.jpg" for i in range(n_per, n_per + 2)]
    return ("\n".join(lines) + "\n").encode()


def test_urls_index_and_lookup(tmp_path: Path, accepted: object, server: ImageServer) -> None:
    import gzip

    src = tmp_path / "fall11.txt.gz"
    src.write_bytes(gzip.compress(fall11()))
    res = run(["urls", "index", str(src), "-f", "json"])
    info = json.loads(res.stdout)[0]
    assert (info["lines"], info["wnids"], info["skipped"]) == (11, 3, 1)
    assert run(["urls", "info", "--wnid", FISH, "--no-header"]).lines == [f"{FISH}\t5"]
    # fetch finds the wnid in the index without asking any server
    res = run(["fetch", "--wnid", FISH, "--urls-only", "--no-header", "--base-url", server.base])
    assert [line.split("\t")[1] for line in res.lines] == [f"{FISH}_{i}" for i in range(5)]
    # several wnids: each one's list, in the order asked
    args = ["--wnid", DOG, "--wnid", FISH, "--urls-only", "--no-header", "--base-url", server.base]
    res = run(["fetch", *args])
    assert [line.split("\t")[1] for line in res.lines] == [f"{DOG}_{i}" for i in range(3)] + [
        f"{FISH}_{i}" for i in range(5)
    ]
    assert server.requests == []
    assert run(["urls", "info", "-f", "tsv"]).lines[1].split("\t")[2] == "11"


def test_urls_info_counts_what_fetch_gets_and_index_names_what_it_skips(
    tmp_path: Path, accepted: object
) -> None:
    w = "n01560419"
    src = tmp_path / "count.txt"
    src.write_text(
        f"{w}_1\thttp://img.example/a.jpg\n"
        f"{w}_2\n"  # no URL
        f"{w}_3  http://img.example/c d.jpg\n"  # spaces, as some mirrors write it
        "\n"
        f"{w}_1\thttp://img.example/dup.jpg\n"  # an id listed before
        "garbage\n"
        f"{w}_4\t \r\n",  # nothing after the tab
        encoding="utf-8",
    )
    res = run(["urls", "index", str(src), "-f", "json"])
    info = json.loads(res.stdout)[0]
    assert (info["lines"], info["skipped"], info["wnids"]) == (2, 4, 1)
    assert res.stderr.splitlines() == [
        f"imagenet: warning: {src}: line 2: skipped: no URL after the image id ({w}_2)",
        f"imagenet: warning: {src}: line 5: skipped: image id {w}_1 already on line 1",
        f"imagenet: warning: {src}: line 6: skipped: no image id at the start (garbage)",
        f"imagenet: warning: {src}: line 7: skipped: no URL after the image id ({w}_4)",
    ]
    assert run(["urls", "info", "--wnid", w, "--no-header"]).lines == [f"{w}\t2"]
    got = run(["fetch", "--wnid", w, "--url-list", str(src), "--urls-only", "--no-header"])
    assert got.lines == [
        f"{w}\t{w}_1\thttp://img.example/a.jpg",
        f"{w}\t{w}_3\thttp://img.example/c d.jpg",
    ]
    # many bad lines: the first 20 named, then how many more
    many = tmp_path / "many.txt"
    many.write_text("".join(f"{w}_{i}\n" for i in range(25)), encoding="utf-8")
    res = run(["urls", "index", str(many), "--no-header"])
    lines = res.stderr.splitlines()
    assert len(lines) == 21 and lines[19].startswith(f"imagenet: warning: {many}: line 20: ")
    assert lines[20] == f"imagenet: warning: {many}: 5 more lines skipped"
    assert run(["urls", "index", str(many), "-q"]).stderr == ""


def test_url_lists_cut_into_chunks_index_as_one_list(
    tmp_path: Path, accepted: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagenet_cli.fetch.sources import listrows, urllist

    monkeypatch.setattr(listrows, "CHUNK", 64)  # a wnid's lines over many chunks
    w = "n01560419"
    rows = [f"{w}_{i}\thttp://img.example/{i}.jpg\n" for i in range(30)]
    rows[17] = f"{w}_3\thttp://img.example/again.jpg\n"  # a repeat, several chunks on
    src = tmp_path / "chunks.txt"
    src.write_text("".join(rows), encoding="utf-8")
    info = urllist.index(str(src))
    assert (info.lines, info.skipped) == (29, 1)
    assert info.skipped_lines == (urllist.SkippedLine(18, f"image id {w}_3 already on line 4"),)
    assert urllist.count(w) == len(urllist.lookup(w)) == 29


def test_url_list_over_http_with_etag(server: ImageServer, accepted: object) -> None:
    server.fall11 = fall11(2)
    url = server.url("/fall11.txt")
    res = run(["fetch", "--wnid", DOG, "--url-list", url, "--urls-only", "--no-header"])
    assert len(res.lines) == 2
    run(["fetch", "--wnid", DOG, "--url-list", url, "--urls-only"])
    assert server.seen("/fall11.txt") == 1  # indexed once
    run(["fetch", "--wnid", DOG, "--url-list", url, "--urls-only", "--refresh"])
    assert server.seen("/fall11.txt") == 2
    assert run(["fetch", "--wnid", DOG, "--url-list", url, "--urls-only", "--offline"]).code == 0


# ------------------------------------------------------------------ fetch


def test_summary_line_of_a_rerun_counts_what_was_done_before(
    base_env: ImageServer, tmp_path: Path, accepted: object
) -> None:
    fish_list(base_env, ["ok/a.jpg", "404/b.jpg", "html/c.jpg"])
    args = ["fetch", "--wnid", FISH, "--out", str(tmp_path / "out"), "--retries", "0", "-j", "1"]
    assert " over 1 synset; manifest " in run(args).stderr
    # a log has only this line: it says why nothing was fetched this time
    assert " over 0 synsets; 3 URLs done before; manifest " in run(args).stderr


def test_fetch_strict_and_summary(base_env: ImageServer, tmp_path: Path, accepted: object) -> None:
    fish_list(base_env, ["ok/a.jpg", "404/b.jpg", "html/c.jpg"])
    out = tmp_path / "out"
    res = run(["fetch", "--wnid", FISH, "--out", str(out), "--retries", "0", "-j", "1"])
    # the table is for a terminal; a log gets one line with the reasons
    assert "fetch summary" not in res.stderr
    assert "1 of 3 URLs kept (http_404 1, not_image 1) in " in res.stderr
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "http_404", "not_image"]
    res = run(["fetch", "--wnid", FISH, "--out", str(out), "--strict", "-q"], expect=1)
    assert res.stderr == ""
    out2 = tmp_path / "out2"
    run(["fetch", "--wnid", FISH, "--out", str(out2), "--strict", "--limit", "1", "-q", "-j", "1"])
    assert len((out2 / "manifest.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ('concurrency = "lots"', "fetch.concurrency takes an integer, not 'lots'"),
        ("timeout = -1", "fetch.timeout must be at least 0.01, not -1.0"),
    ],
)
def test_a_bad_config_value_stops_fetch_before_any_request(
    base_env: ImageServer, tmp_path: Path, accepted: object, setting: str, problem: str
) -> None:
    fish_list(base_env, ["ok/a.jpg"])
    path = Path(os.environ["IMAGENET_CONFIG"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[fetch]\n{setting}\n")
    res = run(["fetch", "--wnid", FISH, "--out", str(tmp_path / "out")], expect=2)
    assert res.stderr == f"imagenet: error: {path}: line 2: {problem}\n"
    assert base_env.requests == [] and not (tmp_path / "out").exists()


def test_fetch_csv_manifest_and_recursive_expansion(
    base_env: ImageServer, tmp_path: Path, accepted: object
) -> None:
    fish_list(base_env, ["ok/a.jpg"])
    res = run(
        ["fetch", "--wnid", "n01439121", "--recursive", "--urls-only", "--no-header"], expect=1
    )
    assert f"{FISH}\t{FISH}_1" in res.stdout  # tench under cyprinid
    manifest = tmp_path / "m.csv"
    run(
        [
            "fetch",
            "--wnid",
            FISH,
            "--out",
            str(tmp_path / "o"),
            "--manifest",
            str(manifest),
            "-q",
            "-j",
            "1",
        ]
    )
    assert manifest.read_text().splitlines()[1].startswith(f"{FISH},{FISH}_1,")


def test_bbox_fetch(base_env: ImageServer, accepted: object) -> None:
    res = run(["bbox", "fetch", "--wnid", FISH, "--no-header"])
    wnid, status, size, path = res.lines[0].split("\t")
    assert (wnid, status) == (FISH, "ok") and Path(path).read_bytes()[:2] == b"\x1f\x8b"
    assert int(size) == Path(path).stat().st_size
    assert run(["bbox", "fetch", "--wnid", FISH, "--no-header"]).lines[0].split("\t")[1] == "cached"
    assert base_env.seen("imagenet.bbox.synset") == 1


# ------------------------------------------------------------------ real processes


def test_subprocess_pipe_and_exit_codes(
    base_env: ImageServer, tmp_path: Path, accepted: object
) -> None:
    base_env.lists[FISH] = [(f"{FISH}_{i}", base_env.url(f"/img/seq/{i}.jpg")) for i in range(50)]
    env = dict(os.environ)
    proc = subprocess.run(
        f"{IMAGENET} fetch --wnid {FISH} --urls-only | head -3",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 3
    assert "Traceback" not in proc.stderr
    out = tmp_path / "out"
    proc = subprocess.run(
        [IMAGENET, "fetch", "--wnid", FISH, "--out", str(out), "--limit", "10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(list((out / FISH).glob("*.jpg"))) == 10
    env.pop("IMAGENET_CONFIG")
    env["IMAGENET_CONFIG"] = str(tmp_path / "empty-config")
    proc = subprocess.run(
        [IMAGENET, "fetch", "--wnid", FISH, "--urls-only"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 4 and "Traceback" not in proc.stderr


def test_ctrl_c_exits_130_and_the_rerun_finishes(
    base_env: ImageServer, tmp_path: Path, accepted: object
) -> None:
    import signal
    import time

    base_env.latency = 0.1
    base_env.lists[FISH] = [(f"{FISH}_{i}", base_env.url(f"/img/seq/{i}.jpg")) for i in range(48)]
    out = tmp_path / "out"
    cmd = [IMAGENET, "fetch", "--wnid", FISH, "--out", str(out), "--concurrency", "4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    manifest = out / "manifest.jsonl"
    for _ in range(600):
        if manifest.exists() and manifest.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    rows = manifest.read_text().splitlines()
    assert 3 <= len(rows) < 48
    for row in map(json.loads, rows):  # every recorded file is whole
        assert (out / row["path"]).stat().st_size == row["bytes"]
    base_env.latency = 0.0
    proc2 = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc2.returncode == 0, proc2.stderr
    ids = [json.loads(r)["image_id"] for r in manifest.read_text().splitlines()]
    assert ids == [f"{FISH}_{i}" for i in range(48)]
    assert len(list((out / FISH).glob("*.jpg"))) == 48
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def test_kill_9_then_the_same_command_gives_what_one_run_gives(
    base_env: ImageServer, tmp_path: Path, accepted: object
) -> None:
    import signal
    import time

    base_env.lists[FISH] = [(f"{FISH}_{i}", base_env.url(f"/img/seq/{i}.jpg")) for i in range(64)]

    def cmd(out: Path) -> list[str]:
        return [IMAGENET, "fetch", "--wnid", FISH, "--out", str(out), "--concurrency", "4"]

    whole = tmp_path / "whole"
    subprocess.run(cmd(whole), capture_output=True, timeout=120, check=True)

    base_env.latency = 0.05
    out = tmp_path / "out"
    # Its own session, so that kill -9 of the group also takes its worker processes.
    proc = subprocess.Popen(
        cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    manifest = out / "manifest.jsonl"
    for _ in range(1000):
        if len(list(out.glob(f"{FISH}/*.jpg"))) >= 8:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert manifest.read_text().count("\n") < 64  # stopped in the middle
    base_env.latency = 0.0
    subprocess.run(cmd(out), capture_output=True, timeout=120, check=True)

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and p.name != "manifest.jsonl" and not p.name.startswith(".")
        }

    assert files(out) == files(whole)
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    assert manifest.read_text() == (whole / "manifest.jsonl").read_text()


def test_fast_path_runs_fetch_as_typer_does(
    base_env: ImageServer, accepted: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagenet_cli.cli import fastpath

    fish_list(base_env, ["ok/a.jpg", "missing.jpg"])
    for args in (
        ["fetch", "--wnid", FISH, "--urls-only", "-f", "csv"],
        ["fetch", "--wnid", FISH, "--urls-only", "--offline", "--no-header"],
        ["fetch", "--wnid", "n99999999", "--urls-only"],
        ["fetch", "--wnid", FISH, "--release", "ilsvrc2012", "--urls-only"],
    ):
        same_on_fast_path(args, capsys)
    # A download runs for seconds at least: it goes through Typer.
    fetch = ["fetch", "--wnid", FISH, "--timeout", "5.5", "-q", "--retries", "0", "--out"]
    assert fastpath.try_run([*fetch, str(tmp_path / "fast")]) is None
    for bad in (["--timeout", "nan"], ["--timeout", "0"], ["--backoff", "-1"], ["--wnid"]):
        assert fastpath.try_run(["fetch", "--urls-only", *bad]) is None


def test_a_list_that_trickles_in_is_given_up(server: ImageServer, accepted: object) -> None:
    import time

    # Never idle for a whole --timeout, so no read times out: the rate floor ends it.
    started = time.monotonic()
    res = run(["urls", "index", server.url("/trickle.txt"), "--timeout", "1"], expect=1)
    assert time.monotonic() - started < 5  # not the 8 s the server would take
    assert "slower than 1,024 bytes/s for 1 s (a stalled server?)" in res.stderr
