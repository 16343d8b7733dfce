"""The package keeps its shape: no import cycles, no module using another's private names,
the layers import downwards only, and all Cython sits in ``gtok/_lib``.

The layers, lowest first (a module may import from its own layer and the ones below):

    gtok.errors, gtok.scratch, gtok._lib  (exceptions; scratch buffers; compiled loops)
    gtok.io                            (file formats)
    gtok.columns, gtok.universe, gtok.tokenizer  (the tokenizer)
    gtok.batch, gtok.train, gtok.singlecell
    gtok.cli, gtok.example, gtok       (the command line, the facade)

Imports inside functions count too (a cycle hidden in a function is still a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "gtok"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names imported from it, line) for every gtok import, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "gtok" or node.module.startswith("gtok."):
                names = [a.name for a in node.names]
                # "from gtok.io import bgzf" imports the module gtok.io.bgzf
                subs = [n for n in names if f"{node.module}.{n}" in MODULES]
                found.append((node.module, [n for n in names if n not in subs], node.lineno))
                found.extend((f"{node.module}.{n}", [], node.lineno) for n in subs)
        elif isinstance(node, ast.Import):
            found.extend(
                (a.name, [], node.lineno)
                for a in node.names
                if a.name == "gtok" or a.name.startswith("gtok.")
            )
    return found


def _private_attribute_uses(path: Path) -> list[tuple[int, str]]:
    """``alias._name`` where ``alias`` is a gtok module imported into ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gtok"):
            aliases.update(
                a.asname or a.name for a in node.names if f"{node.module}.{a.name}" in MODULES
            )
        elif isinstance(node, ast.Import):
            aliases.update(
                a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("gtok")
            )
    bad = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            base = node.value
            if isinstance(base, ast.Name) and base.id in aliases:
                bad.append((node.lineno, f"{base.id}.{node.attr}"))
    return bad


def _target(module: str) -> str | None:
    """The gtok module an import resolves to (a package's names live in its __init__)."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        deps = set()
        for module, _, _ in _imports(path):
            target = _target(module)
            if target and target != name and target != "gtok":
                deps.add(target)
        graph[name] = deps
    return graph


LAYERS = [
    ("gtok.errors", "gtok.scratch", "gtok._lib"),
    ("gtok.io",),
    ("gtok.columns", "gtok.universe", "gtok.tokenizer"),
    ("gtok.batch", "gtok.train", "gtok.singlecell"),
    ("gtok.cli", "gtok.example", "gtok.__main__"),
]


def _layer(module: str) -> int:
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return len(LAYERS)  # the facade (gtok/__init__.py)


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_private_names_of_other_modules():
    bad = []
    for name, path in MODULES.items():
        for module, names, line in _imports(path):
            target = _target(module)
            if target == name or target is None:
                continue
            bad += [
                f"{name}:{line} imports {module}.{n}"
                for n in names
                if n.startswith("_") and not n.startswith("__")
            ]
        bad += [f"{name}:{line} uses {use}" for line, use in _private_attribute_uses(path)]
    assert not bad, "\n".join(bad)


def test_layers_import_downwards():
    bad = []
    for name, deps in _graph().items():
        bad += [
            f"{name} (layer {_layer(name)}) imports {dep} (layer {_layer(dep)})"
            for dep in sorted(deps)
            if _layer(dep) > _layer(name)
        ]
    assert not bad, "\n".join(bad)


def test_all_cython_in_lib():
    stray = [p for ext in ("*.pyx", "*.pxd") for p in ROOT.rglob(ext) if p.parent != ROOT / "_lib"]
    assert not stray


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_imports_resolve(name):
    for module, _, line in _imports(MODULES[name]):
        assert _target(module) is not None, f"{name}:{line}: {module} is not a gtok module"
