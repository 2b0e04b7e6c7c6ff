"""The package's layout is its architecture: each layer imports only from the layers below it,
the three subpackages do not import one another, and no module imports itself back in a circle
(the package docstring and the README's package table describe the same layers)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "transformer_book"
# Lowest first: a module may import from its own layer and the ones before it.
LAYERS = [
    {"_checks", "_files"},
    {"runtime", "masks", "positional", "attention", "layers", "model", "torch_parity", "protocols",
     "text", "figures"},
    {"models"},
    {"batching", "schedule", "decoding", "checkpoints", "resuming", "loops", "training",
     "averaging", "scoring"},
    {"_cli", "_train_eval", "_train_corpus", "_train_settings", "train", "translate", "evaluate"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
SUBPACKAGES = {"text", "figures", "models"}


def import_graph() -> dict[str, set[str]]:
    """Module (dotted, relative to the package) -> the package modules it imports."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        module = ".".join(p for p in parts if p != "__init__")
        package = list(parts[:-1])
        imports = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    imports.add(".".join([*base, *node.module.split(".")]))
                else:
                    imports.update(".".join([*base, alias.name]) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "transformer_book."):
                imports.add(node.module.removeprefix("transformer_book."))
        graph[module] = imports
    return graph


def test_every_module_has_a_layer_and_imports_only_downwards():
    problems = []
    for module, imports in import_graph().items():
        if not module:  # the package's __init__ gathers the core names for users
            continue
        top = module.split(".")[0]
        assert top in LAYER, f"{module} is in no layer: add it to LAYERS and the docstring"
        for target in imports:
            other = target.split(".")[0]
            if other not in LAYER:
                problems.append(f"{module} imports {target}, which is in no layer")
            elif LAYER[other] > LAYER[top]:
                problems.append(f"{module} (layer {LAYER[top]}) imports {target} (layer "
                                f"{LAYER[other]})")
            elif {top, other} <= SUBPACKAGES and top != other:
                problems.append(f"{module} imports {target}, from another subpackage")
    assert not problems, "\n".join(problems)


def test_no_import_circle():
    graph = import_graph()
    state: dict[str, int] = {}

    def circle_from(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return [*path[path.index(target):], target] if target in path else [module,
                                                                                       target]
            if target not in state and (found := circle_from(target, [*path, target])):
                return found
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := circle_from(module, [module])):
            raise AssertionError(" -> ".join(found))


def test_the_readme_and_the_package_docstring_name_every_module():
    """A reader finds every module of the package in the README's package table and in the
    package's docstring."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8")))
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        if f"`{path.name}`" not in readme:
            missing.append(f"README: {path.relative_to(PACKAGE)}")
        if f"``{path.stem}``" not in docstring:
            missing.append(f"docstring: {path.relative_to(PACKAGE)}")
    assert not missing, missing
