"""`python -m benchbench.core.imports`: prove that benchbench's imports have no cycle and respect its layers.

Every `import` and `from ... import` in every module is read from the source (function-level imports count,
since they run too). Two checks, exit 1 with one line per problem when either fails:
- no cycle: no module reaches itself through the imports of the modules it imports;
- layers: a role imports only from its own package and the roles below it (LAYERS), so measurement never
  depends on reports, and reports never on the runs that write them.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

# role → layer; a module may import from its own role and from roles of a lower layer only.
LAYERS = {
    "core": 0,
    "kernels": 1,
    "models": 2,
    "sources": 3,
    "measure": 4,
    "deploy": 5, "estimate": 5, "health": 5, "generate": 5,
    "kernelbench": 6, "serve": 6, "matrix": 6,
    "record": 6.5,  # the run's record (RunResult, RunSettings), assembled from every role's records
    "report": 7,
    "stages": 7.5,  # run stages: a measurement, its report section and budget keys (above report, below runs/ci)
    "runs": 8, "ci": 8,
    "site": 9,
    "cli": 10,
    "__main__": 11,
}  # fmt: skip
TOP = -1  # the `benchbench` package itself: its __init__ may import only core


def package_roots() -> dict[str, Path]:
    """benchbench and its mapped subpackages (models/ and kernels/ live outside benchbench/)."""
    roots = {}
    for name in ("benchbench", "benchbench.models", "benchbench.kernels"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"cannot find package {name}")
        roots[name] = Path(next(iter(spec.submodule_search_locations)))
    return roots


def modules() -> dict[str, Path]:
    """Every module of benchbench, by dotted name."""
    found: dict[str, Path] = {}
    roots = package_roots()
    for pkg, root in roots.items():
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if pkg == "benchbench" and parts and parts[0] in ("models", "kernels"):
                continue  # a stray copy: the mapped folders are the real ones
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The benchbench modules `name` imports (a `from pkg import name` of a submodule counts as that module)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if (
                t and t != name and not name.startswith(t + ".")
            ):  # a package's own __init__ is not a dependency
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    """{module: the benchbench modules it imports} for every module of the package."""
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def role(name: str) -> str | None:
    """The role (the folder under benchbench) of a dotted module name; None for the package itself."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_violations(g: dict[str, set[str]]) -> list[str]:
    """One line per import of a role from a higher layer than its own (see LAYERS)."""
    out = []
    for name, deps in sorted(g.items()):
        mine = role(name)
        level = LAYERS.get(mine, TOP) if mine else TOP
        for dep in sorted(deps):
            theirs = role(dep)
            if theirs == mine:
                continue
            their_level = LAYERS.get(theirs, TOP) if theirs else TOP
            if (level == TOP and their_level != LAYERS["core"]) or (level != TOP and their_level >= level):
                out.append(
                    f"{name} ({mine or 'top'}, layer {level}) imports {dep} ({theirs or 'top'}, layer {their_level})"
                )
    return out


def main() -> int:
    """Print every cycle and layer violation (or a one-line all-clear); return 1 if there is any, else 0."""
    g = graph()
    problems = [f"import cycle: {' <-> '.join(c)}" for c in cycles(g)] + layer_violations(g)
    for p in problems:
        print(p)
    if not problems:
        print(f"{len(g)} modules, {sum(len(d) for d in g.values())} imports: no cycle, every layer respected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
