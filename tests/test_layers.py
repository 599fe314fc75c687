"""The import graph of the package: no cycles, and no import runs back up from the core
to the face (``imagenet_cli.cli``)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "imagenet_cli"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _target(module: str, is_package: bool, node: ast.ImportFrom, name: str) -> list[str]:
    """The modules an ``from X import name`` may load: ``X`` and, when it is a
    submodule, ``X.name``."""
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        where = ".".join(base + ([node.module] if node.module else []))
    else:
        where = node.module or ""
    return [where, f"{where}.{name}"]


def _run_on_import(tree: ast.AST) -> list[ast.AST]:
    """The nodes that run when the module is imported: not a function's body (a lazy
    import), nor a TYPE_CHECKING block."""
    found: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _imports(path: Path, top_level_only: bool) -> set[str]:
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = _run_on_import(tree) if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                found.update(_target(module, path.name == "__init__.py", node, alias.name))
    return {m for m in found if m.startswith("imagenet_cli")}


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    names = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, top_level_only) & names - {_module_name(p)} for p in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (empty when there is none)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_at_module_level() -> None:
    assert _cycle(_graph(top_level_only=True)) == []


def test_the_core_never_imports_the_face() -> None:
    graph = _graph(top_level_only=False)
    back = {
        (m, i)
        for m, deps in graph.items()
        if not m.startswith(("imagenet_cli.cli", "imagenet_cli.__main__"))
        for i in deps
        if i.startswith("imagenet_cli.cli")
    }
    assert back == set()


def test_the_graph_sees_imports() -> None:
    """The checks above look at real edges (a relative import resolves)."""
    graph = _graph(top_level_only=True)
    assert "imagenet_cli.fetch.item" in graph["imagenet_cli.fetch.local"]
    assert "imagenet_cli.ids" in graph["imagenet_cli.subset.tars"]
    assert "imagenet_cli.errors" in graph["imagenet_cli.fetch.sources.urllist"]


# The floors of docs/architecture.md, bottom to top: a module imports its own floor and
# the floors below. Of the domain packages, subset imports bbox (for --bbox) and eval
# imports subset (its validation label readers).
FLOORS = {
    "ground": 0,
    "hierarchy": 1,
    "synset_index": 1,
    "drivers": 2,
    "shards": 2,
    "fetch": 3,
    "bbox": 3,
    "subset": 3,
    "eval": 3,
    "cli": 4,
    "__main__": 4,
}
DOMAIN_IMPORTS = {("subset", "bbox"), ("eval", "subset"), ("eval", "bbox")}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FLOORS else "ground"


def test_imports_go_down_the_floors() -> None:
    upward = set()
    for module, deps in _graph(top_level_only=False).items():
        here = _part(module)
        for dep in deps:
            there = _part(dep)
            across = FLOORS[there] == FLOORS[here] == 3 and here != there
            if FLOORS[there] > FLOORS[here] or (across and (here, there) not in DOMAIN_IMPORTS):
                upward.add((module, dep))
    assert upward == set()
