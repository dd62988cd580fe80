"""The import graph: no cycle inside benchbench, every role importing only from below, and a light CLI shell."""

import subprocess
import sys

from benchbench.core import imports


def test_benchbench_has_no_import_cycle_and_respects_its_layers(capsys):
    assert imports.main() == 0, capsys.readouterr().out


def test_the_checker_finds_a_cycle_and_a_layer_violation():
    g = {"benchbench.measure.a": {"benchbench.measure.b"}, "benchbench.measure.b": {"benchbench.measure.a"},
         "benchbench.core.c": {"benchbench.report.d"}, "benchbench.report.d": set()}  # fmt: skip
    assert imports.cycles(g) == [["benchbench.measure.a", "benchbench.measure.b"]]
    (problem,) = imports.layer_violations(g)
    assert problem.startswith("benchbench.core.c (core, layer 0) imports benchbench.report.d")


def test_function_level_imports_count(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from benchbench.report import run_report\n")
    known = {"benchbench.core.m": mod, "benchbench.report.run_report": mod}
    assert imports.imports_of("benchbench.core.m", mod, known) == {"benchbench.report.run_report"}


def test_the_cli_parser_imports_no_heavy_library():
    code = ("import sys; from benchbench.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'matplotlib', 'triton', 'fvcore', 'numpy', 'scipy') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
