"""The package's layers import downward only (docs/architecture.md): every import of a
package module counts, at module level or inside a function; only `if TYPE_CHECKING:`
blocks are exempt.  A lazy import that reaches up would hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "surrogate"
#: bottom to top; a module may import its own layer and the ones listed before it
LAYERS = ["base", "declaration", "model", "checking", "training", "fitting", "persistence", "interface", "public"]
BASE = {"errors", "_version"}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]  # drop "surrogate"
    if not parts:
        return "public"
    if parts[0] in BASE:
        return "base"
    return parts[0] if parts[0] in LAYERS else "public"


def package_imports(path: Path):
    """(imported module, line) for each import of a `surrogate` module in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT.parent).with_suffix("").parts
    pkg = list(rel[:-1]) if path.name != "__init__.py" else list(rel[:-1])
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for sub in node.body for n in ast.walk(sub))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "surrogate":
                names = [f"{target}.{a.name}" for a in node.names]
                for n in names:
                    sub = ROOT.parent / (n.replace(".", "/"))
                    yield (n if sub.with_suffix(".py").exists() or sub.is_dir() else target), node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "surrogate":
                    yield a.name, node.lineno


def modules():
    return sorted(p for p in ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_imports_point_down(path):
    me = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
    mine = LAYERS.index(layer_of(me))
    up = [f"line {line}: {target} ({layer_of(target)})" for target, line in package_imports(path)
          if target != "surrogate" and LAYERS.index(layer_of(target)) > mine]
    assert not up, f"{me} ({layer_of(me)}) imports from a layer above it: " + "; ".join(up)


def test_every_subpackage_is_a_layer():
    subs = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert subs <= set(LAYERS), f"subpackages that are no layer: {sorted(subs - set(LAYERS))}"
