"""X-Robots-Tag: images whose host says noai, noimageai, noindex or noimageindex (for
every agent, or for ours) are not kept, never retried, and --ignore-robots-tag keeps them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imagenet_cli.fetch.robots import refusal
from tests.conftest import run

from .conftest import FISH
from .server import ImageServer

# key: (X-Robots-Tag headers sent, whether the image is refused)
CASES: dict[str, tuple[list[str], bool]] = {
    "noai": (["noai"], True),
    "noimageai": (["noimageai"], True),
    "noindex": (["noindex"], True),
    "noimageindex": (["noimageindex"], True),
    "case": (["NoImageAI"], True),
    "list": (["nofollow, noarchive,NOINDEX"], True),
    "ours": (["imagenet-cli: noai"], True),
    "ours-upper": (["ImageNet-CLI: NoImageIndex"], True),
    "several": (["googlebot: noindex", "noimageai"], True),  # not one merged header
    "several-first": (["noimageai", "googlebot: noindex"], True),  # not the last alone
    "agents-in-one": (["googlebot: nofollow, imagenet-cli: noindex"], True),
    "dated": (["noindex, unavailable_after: 25 Jun 2010 15:00:00 PST"], True),
    "googlebot": (["googlebot: noindex"], False),
    "otherbot": (["otherbot: noai, noimageai"], False),
    "others-each": (["googlebot: noindex", "otherbot: noai, noimageai"], False),
    "harmless": (["nofollow", "noarchive, max-image-preview:large"], False),
    "empty": ([""], False),
}


@pytest.mark.parametrize(("key", "case"), CASES.items())
def test_refusal_reads_the_header_as_img2dataset_does(
    key: str, case: tuple[list[str], bool]
) -> None:
    headers, refused = case
    assert bool(refusal("\n".join(headers))) is refused, key


def robots_list(server: ImageServer) -> list[str]:
    server.robots_tags = {key: headers for key, (headers, _) in CASES.items()}
    keys = list(CASES)
    server.lists[FISH] = [(f"{FISH}_{k}", server.url(f"/img/robots/{k}/x.jpg")) for k in keys]
    return keys


def statuses(manifest: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    return {r["image_id"].split("_", 1)[1]: r["status"] for r in rows}


def test_fetch_refuses_what_the_tag_forbids_and_never_retries_it(
    base_env: ImageServer, accepted: object, tmp_path: Path
) -> None:
    keys = robots_list(base_env)
    out = tmp_path / "out"
    args = ["fetch", "--wnid", FISH, "--out", str(out), "-j", "1"]
    res = run(args)
    want = {k: "robots_disallowed" if CASES[k][1] else "ok" for k in keys}
    assert statuses(out / "manifest.jsonl") == want
    refused = sum(CASES[k][1] for k in keys)
    assert f"{len(keys) - refused} of {len(keys)} URLs kept (robots_disallowed {refused}) in" in (
        res.stderr
    )
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    by_id = {r["image_id"]: r for r in rows}
    assert by_id[f"{FISH}_ours"]["error"] == "X-Robots-Tag: noai"
    assert by_id[f"{FISH}_ours"]["path"] == "" and by_id[f"{FISH}_ours"]["bytes"] is None
    kept = sorted(p.name for p in (out / FISH).iterdir())
    assert kept == sorted(f"{FISH}_{k}.jpg" for k in keys if not CASES[k][1])
    asked = len(base_env.requests)
    # a final status: neither a rerun nor --retry-failed asks again
    run(args)
    run([*args, "--retry-failed"])
    assert len(base_env.requests) == asked
    # a run that keeps such images now fetches them
    res = run([*args, "--ignore-robots-tag"])
    assert len(base_env.requests) == asked + refused
    assert set(statuses(out / "manifest.jsonl").values()) == {"ok"}
    assert len(list((out / FISH).iterdir())) == len(keys)


@pytest.mark.parametrize("how", ["option", "config"])
def test_ignore_robots_tag_keeps_them(
    base_env: ImageServer, accepted: object, tmp_path: Path, how: str
) -> None:
    keys = robots_list(base_env)
    out = tmp_path / "out"
    args = ["fetch", "--wnid", FISH, "--out", str(out), "-j", "1"]
    if how == "option":
        args.append("--ignore-robots-tag")
    else:
        run(["config", "set", "fetch.ignore_robots_tag", "true"])
        assert Path(os.environ["IMAGENET_CONFIG"], "config.toml").exists()
    run(args)
    assert statuses(out / "manifest.jsonl") == dict.fromkeys(keys, "ok")
