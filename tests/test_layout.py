"""course_lib's layout: each part imports only the parts below it, no module cycles, no hidden imports.

core is the foundation; pruning, quantization, distillation, coding and lowrank build on it alone;
frameworks bridges them to torch/TensorFlow; checks (the exercise checkers) use any part except the
frameworks, so a student's check never loads torch or TensorFlow.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "course_lib"
TECHNIQUES = {"pruning", "quantization", "distillation", "coding", "lowrank"}
MAY_IMPORT = {"core": set(), **{t: {"core"} for t in TECHNIQUES},
              "frameworks": {"core"} | TECHNIQUES, "checks": {"core"} | TECHNIQUES}
# Imports inside functions, each with its reason; anything else belongs at the top of its module.
DEFERRED = {
    "frameworks/_imports.py": "the one loader of torch, TensorFlow and torchao: they take seconds to import "
                              "and a lesson loads them only where it shows a framework twin",
}
# Module-level LazyModule("course_lib....") references count as imports; one goes to a later part, with its reason.
UPWARD = {("core/transformer.py", "course_lib.frameworks.torch_transformer"):
          "TinyGPT.to_torch() is a contract method of the numpy model; the core must not import torch"}
MODULES = sorted(p for p in ROOT.rglob("*.py"))


def _name(path):
    return ".".join(("course_lib",) + path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _targets(path, node):
    """The course_lib modules an import statement names (absolute), or [] for a third-party import."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("course_lib")]
    if not node.level:
        return [node.module] if (node.module or "").startswith("course_lib") else []
    package = _name(path).split(".")[: None if path.name == "__init__.py" else -1]
    mod = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    return [f"{mod}.{a.name}" if _is_module(f"{mod}.{a.name}") else mod for a in node.names]


def _is_module(name):
    rel = Path(*name.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").exists() or (ROOT / rel / "__init__.py").exists()


def _lazy(path):
    """course_lib modules named by a module-level LazyModule("...") (imported on first use)."""
    return [c.args[0].value for n in ast.parse(path.read_text()).body if isinstance(n, ast.Assign)
            for c in ast.walk(n.value) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "LazyModule"
            and c.args and isinstance(c.args[0], ast.Constant) and str(c.args[0].value).startswith("course_lib")]


def _imports(path, top_level=True):
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level else [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                                         for n in ast.walk(f)]
    return [n for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))]


def _part(module):
    """The part of course_lib a module belongs to (core, pruning, ...), or None for course_lib itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (ROOT / parts[1]).is_dir() else None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_part_imports_only_the_parts_below_it(path):
    here = _part(_name(path))
    if here is None:
        return  # course_lib/__init__.py
    named = [t for n in _imports(path) for t in _targets(path, n)] + _lazy(path)
    rel = str(path.relative_to(ROOT))
    wrong = sorted({t for t in named if _part(t) not in (here, None) and _part(t) not in MAY_IMPORT[here]
                    and (rel, t) not in UPWARD})
    assert not wrong, f"{path.relative_to(ROOT)} ({here}) imports {wrong}; {here} may import {sorted(MAY_IMPORT[here])}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_hides_inside_a_function(path):
    rel = str(path.relative_to(ROOT))
    hidden = [f"line {n.lineno}" for n in _imports(path, top_level=False)]
    assert not hidden or rel in DEFERRED, f"{rel}: imports inside functions at {hidden}: move them to the top"


def test_every_deferred_import_is_still_needed():
    for rel in DEFERRED:
        assert _imports(ROOT / rel, top_level=False), f"{rel} no longer defers an import: remove it from DEFERRED"


def test_every_upward_reference_is_still_there():
    for rel, target in UPWARD:
        assert target in _lazy(ROOT / rel), f"{rel} no longer names {target}: remove it from UPWARD"


def test_no_module_cycle():
    graph = {_name(p): {t for n in _imports(p) for t in _targets(p, n) if _is_module(t)} for p in MODULES}

    def visit(m, stack):
        assert m not in stack, "import cycle: " + " -> ".join(stack[stack.index(m):] + [m])
        for t in graph.get(m, ()):
            if t != m and not t.startswith(m + "."):  # a package may import its own modules
                visit(t, stack + [m])
    for m in graph:
        visit(m, [])


def test_the_layout_check_finds_a_wrong_import(tmp_path, monkeypatch):
    core = tmp_path / "core"
    core.mkdir()
    bad = core / "bad.py"
    bad.write_text("from ..pruning import masks\n\ndef f():\n    import os\n")
    lazy = core / "lazy_bad.py"
    lazy.write_text('x = LazyModule("course_lib.pruning.masks")\n')
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "pruning").mkdir()
    (tmp_path / "pruning" / "masks.py").write_text("")
    with pytest.raises(AssertionError, match=r"imports \['course_lib.pruning.masks'\]"):
        test_a_part_imports_only_the_parts_below_it(bad)
    with pytest.raises(AssertionError, match=r"imports inside functions at \['line 4'\]"):
        test_no_import_hides_inside_a_function(bad)
    with pytest.raises(AssertionError, match=r"imports \['course_lib.pruning.masks'\]"):
        test_a_part_imports_only_the_parts_below_it(lazy)
