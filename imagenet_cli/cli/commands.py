"""Every command of ``imagenet``, named once: its group, its name and its function.

A function declares its options itself (``cli.params``); its docstring is its help.
The Typer app (``cli.app``) and the fast path (``cli.fastpath``) both read this table,
which names modules instead of importing them: a start-up imports only the one it runs.
"""

from __future__ import annotations

from typing import NamedTuple


class Group(NamedTuple):
    """A command group: its help, its example and its commands (name: ``module:function``)."""

    help: str
    epilog: str
    commands: dict[str, str]


_SYNSET = "imagenet_cli.cli.synset_actions"
GROUPS = {
    "synset": Group(
        "Look up synsets and browse the WordNet noun hierarchy, offline.",
        "Example: imagenet synset search dog",
        {
            name: f"{_SYNSET}:{func}"
            for name, func in [
                ("search", "search"),
                ("show", "show"),
                ("tree", "tree"),
                ("parents", "parents"),
                ("children", "children"),
                ("ancestors", "ancestors"),
                ("descendants", "descendants"),
                ("lca", "lca"),
                ("releases", "releases_"),
                ("map", "map_ids"),
            ]
        },
    ),
    "cache": Group(
        "Show and clean the local cache (indexes, image lists, archives).",
        "Example: imagenet cache info",
        {
            "path": "imagenet_cli.cli.cache_cmd:path",
            "info": "imagenet_cli.cli.cache_cmd:info",
            "clean": "imagenet_cli.cli.cache_cmd:clean",
        },
    ),
    "config": Group(
        "Read and change settings (options beat environment beat this file).",
        "Example: imagenet config set fetch.concurrency 16",
        {
            "get": "imagenet_cli.cli.config_cmd:get",
            "set": "imagenet_cli.cli.config_cmd:set_",
            "unset": "imagenet_cli.cli.config_cmd:unset",
            "list": "imagenet_cli.cli.config_cmd:list_",
            "path": "imagenet_cli.cli.config_cmd:path",
        },
    ),
    "terms": Group(
        "ImageNet's terms of access: show, accept, status, revoke.",
        "Example: imagenet terms show",
        {
            "show": "imagenet_cli.cli.terms:show",
            "accept": "imagenet_cli.cli.terms:accept",
            "status": "imagenet_cli.cli.terms:status",
            "revoke": "imagenet_cli.cli.terms:revoke",
        },
    ),
    "urls": Group(
        "Index fall11-style image URL lists for instant lookups.",
        "Example: imagenet urls index fall11_urls.txt",
        {"index": "imagenet_cli.cli.urls:index", "info": "imagenet_cli.cli.urls:info"},
    ),
    "subset": Group(
        "Carve class subsets (Imagenette, dogs, K random classes) out of a local ImageNet copy.",
        "Example: imagenet subset extract --from train/ --to nette --preset imagenette",
        {
            "extract": "imagenet_cli.cli.subset_actions:extract",
            "presets": "imagenet_cli.cli.subset_actions:presets",
            "show": "imagenet_cli.cli.subset_actions:show",
        },
    ),
    "bbox": Group(
        "Bounding boxes: convert ImageNet's XML files, count, draw, crop; score localisation.",
        "Example: imagenet bbox convert Annotation/ -f csv -o boxes.csv",
        {
            "convert": "imagenet_cli.cli.bbox_actions:convert",
            "stats": "imagenet_cli.cli.bbox_actions:stats",
            "draw": "imagenet_cli.cli.bbox_actions:draw",
            "crop": "imagenet_cli.cli.bbox_actions:crop",
            "fetch": "imagenet_cli.cli.bbox_fetch:bbox_fetch",
            "eval": "imagenet_cli.cli.bbox_eval:bbox_eval",
        },
    ),
}

# Commands with no group, in the order the help lists them among the groups.
TOP = {
    "eval": "imagenet_cli.cli.eval_actions:eval_",
    "fetch": "imagenet_cli.cli.fetch_actions:fetch",
    "login": "imagenet_cli.cli.login:login",
    "logout": "imagenet_cli.cli.login:logout",
}

# The order of ``imagenet --help``.
ORDER = (
    "synset",
    "cache",
    "config",
    "fetch",
    "login",
    "logout",
    "terms",
    "urls",
    "subset",
    "bbox",
    "eval",
)


def target(path: str) -> object:
    """The function ``module:function`` names."""
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
