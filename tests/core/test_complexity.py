"""No function in benchbench/, models/ or kernels/ above radon's grade D (cyclomatic complexity above 30).

Functions, methods and closures are scored by radon exactly as `radon cc -s -n E benchbench models kernels`
(closures as `outer.inner`, as `--show-closures` names them); a class's own score (its methods' mean) is not a
function's and is left out. A function above the limit is split into named steps that each do one thing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

radon_complexity = pytest.importorskip(
    "radon.complexity", reason="radon is in the test extra: pip install radon"
)

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("benchbench", "models", "kernels")
LIMIT = 30  # the top of radon's grade D (21-30); E starts at 31


def scores(source: str) -> dict[str, int]:
    """{function name: cyclomatic complexity} for every function, method (`Class.method`) and closure of a module."""
    blocks = radon_complexity.add_inner_blocks(radon_complexity.cc_visit(source))
    out: dict[str, int] = {}
    for b in blocks:
        if not hasattr(b, "is_method"):  # a Class block (its score is its methods' mean), not a function
            continue
        name = f"{b.classname}.{b.name}" if b.is_method else b.name
        out[name] = max(out.get(name, 0), b.complexity)  # two functions of one name: the worse counts
    return out


def offenders(root: Path = ROOT) -> list[str]:
    """'file:function:score' for every function of the checked folders above the limit, worst first."""
    found = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for name, score in scores(path.read_text(encoding="utf-8")).items():
                if score > LIMIT:
                    found.append((score, f"{rel}:{name}"))
    return [f"{where}:{score}" for score, where in sorted(found, reverse=True)]


def test_no_function_is_above_radon_grade_d():
    over = [o for o in offenders()]
    assert not over, (
        f"{len(over)} function(s) above radon grade D (complexity > {LIMIT}); split them:\n" + "\n".join(over)
    )


def test_the_check_scores_branches_methods_and_closures():
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(LIMIT))
    source = (
        f"def flat(x):\n{branches}    return -1\n\n"
        f"class Holder:\n    def method(self, x):\n{branches.replace('    ', '        ')}        return -1\n\n"
        f"def outer():\n    def inner(x):\n{branches.replace('    ', '        ')}        return -1\n    return inner\n"
    )
    got = scores(source)
    assert got["flat"] == got["Holder.method"] == got["outer.inner"] == LIMIT + 1
    assert got["outer"] == 1  # a closure's branches are its own, not its parent's
