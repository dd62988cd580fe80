"""Every public function, class and method of core/, runs/, report/ and cli/common.py says what it does.

Public: a name without a leading underscore, at module level, or a method of a public class. Read from the source
(an ast walk), so a module that cannot be imported here (no GPU, no Ray) is checked too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "benchbench"
CHECKED = [*(ROOT / "core").rglob("*.py"), *(ROOT / "runs").rglob("*.py"), *(ROOT / "report").rglob("*.py"),
           ROOT / "cli" / "common.py"]  # fmt: skip
# The records of core/results.py are moving into the roles that fill them (issue 26, helper i26a); the lead
# removes this entry once they have moved, and the records then get their docstrings where they live.

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def undocumented(source: str) -> list[str]:
    """The public functions, classes and public classes' methods of a module that have no docstring."""
    missing = []
    for node in ast.parse(source).body:
        if not isinstance(node, _DEFS) or node.name.startswith("_"):
            continue
        if ast.get_docstring(node) is None:
            missing.append(node.name)
        if isinstance(node, ast.ClassDef):
            missing += [f"{node.name}.{m.name}" for m in node.body if isinstance(m, _DEFS)
                        and not m.name.startswith("_") and ast.get_docstring(m) is None]  # fmt: skip
    return missing


def test_every_public_function_and_class_has_a_docstring():
    missing = [
        f"{path.relative_to(ROOT).as_posix()}:{name}"
        for path in sorted(CHECKED)
        for name in undocumented(path.read_text(encoding="utf-8"))
    ]
    assert not missing, f"{len(missing)} public definitions without a docstring:\n" + "\n".join(missing)


def test_the_check_sees_functions_classes_and_methods_but_not_private_ones():
    source = '''
def shown(): pass
def _hidden(): pass
class Record:
    """Documented."""
    def method(self): pass
    def _helper(self): pass
    @property
    def value(self):
        """Documented."""
class _Private:
    def method(self): pass
async def fetch(): pass
'''
    assert undocumented(source) == ["shown", "Record.method", "fetch"]
