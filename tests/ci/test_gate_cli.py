"""`benchbench gate` on a real (tiny) suite run and on synthetic runs: exit codes, table, JUnit, summary, retry."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from benchbench.ci.budgets import parse_budgets
from benchbench.ci.gate import evaluate, load_results
from benchbench.cli import main

GENEROUS = """
[[budget]]
p50_ms = 100000.0
p99_ms = 100000.0
peak_memory_mb = 100000
params_max = 10_000_000_000
macs_max = 10_000_000_000_000
"""

TIGHT = """
[[budget]]
p50_ms = 100000.0

[[budget]]
model = "resnet*"
params_max = 10
"""


def test_generous_budgets_pass_on_a_real_run(merged_run, tmp_path, capsys) -> None:
    f = tmp_path / "generous.toml"
    f.write_text(GENEROUS)
    junit, summary = tmp_path / "gate.xml", tmp_path / "gate.md"
    rc = main(
        ["gate", str(merged_run), "--budgets", str(f), "--junit", str(junit), "--summary", str(summary)]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "all 15 checks pass" in out  # 3 models x 5 limits
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "15" and suite.get("failures") == "0"
    assert "benchbench gate: passed (15/15" in summary.read_text()


def test_tight_budget_fails_naming_model_and_metric(merged_run, tmp_path, capsys) -> None:
    f = tmp_path / "tight.toml"
    f.write_text(TIGHT)
    junit, summary = tmp_path / "gate.xml", tmp_path / "gate.md"
    rc = main(
        ["gate", str(merged_run), "--budgets", str(f), "--junit", str(junit), "--summary", str(summary)]
    )
    out = capsys.readouterr().out
    assert rc == 1
    fail_rows = [line for line in out.splitlines() if "FAIL" in line]
    assert len(fail_rows) == 1 and "resnet18" in fail_rows[0] and "params_max" in fail_rows[0]
    assert "1 of 4 checks failed: resnet18 params_max" in out
    failures = ET.parse(junit).getroot().findall(".//failure")
    assert len(failures) == 1 and "params_max" in failures[0].get("message")
    assert "| resnet18 |" in summary.read_text() and "| FAIL |" in summary.read_text()


def test_gate_accepts_a_profile_json(merged_run, tmp_path, capsys) -> None:
    from benchbench.core.schema import write
    from benchbench.record.run import load_run

    profile = load_run(merged_run).profiles[0]
    write(tmp_path / "p.json", profile)
    f = tmp_path / "b.toml"
    f.write_text(f"[[budget]]\nmodel = '{profile.model}'\np50_ms = 0.000001\n")
    assert main(["gate", str(tmp_path / "p.json"), "--budgets", str(f)]) == 1
    assert profile.model in capsys.readouterr().out


def test_unreadable_results_exit_2(tmp_path) -> None:
    f = tmp_path / "b.toml"
    f.write_text(GENEROUS)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["gate", str(bad), "--budgets", str(f)]) == 2
    assert main(["gate", str(tmp_path / "missing"), "--budgets", str(f)]) == 2


@pytest.mark.parametrize("slowdown, expect", [(1.0, 0), (1.2, 1)])
def test_gate_against_baseline(write_run, tmp_path, capsys, slowdown: float, expect: int) -> None:
    base = write_run("base", {"mlp": (2.0, 0.02), "cnn": (5.0, 0.02)}, seed=1)
    new = write_run("new", {"mlp": (2.0 * slowdown, 0.02), "cnn": (5.0, 0.02)}, seed=2)
    f = tmp_path / "b.toml"
    f.write_text("[[budget]]\np50_ms = 1000.0\n")
    rc = main(["gate", str(new), "--budgets", str(f), "--baseline", str(base), "--max-regression", "10"])
    out = capsys.readouterr().out
    assert rc == expect
    rows = [line for line in out.splitlines() if "vs baseline │" in line]
    assert len(rows) == 2
    if expect:
        (bad,) = [r for r in rows if "FAIL" in r]
        assert "mlp" in bad and "significant" in bad


def test_retry_remeasures_a_failing_model(write_run) -> None:
    run = load_results(write_run("r", {"mlp": (2.0, 0.02), "cnn": (1.0, 0.02)}))
    budgets = parse_budgets({"budget": [{"p50_ms": 1.5}]}, "<test>")
    calls = []

    def remeasure(p):  # the second measurement is fast: the first was a noisy outlier
        calls.append(p.model)
        p.latency = dataclasses.replace(p.latency, p50_ms=1.0)
        return p

    assert not all(c.passed for c in evaluate(run, budgets, retry=0, remeasure=remeasure))
    checks = evaluate(run, budgets, retry=2, remeasure=remeasure)
    assert calls == ["mlp"]  # only the failing model, and only until it passes
    assert all(c.passed for c in checks)


def test_retry_keeps_verdict_when_still_failing(write_run) -> None:
    run = load_results(write_run("r", {"mlp": (2.0, 0.02)}))
    budgets = parse_budgets({"budget": [{"p50_ms": 1.5}]}, "<test>")
    calls = []
    checks = evaluate(run, budgets, retry=2, remeasure=lambda p: calls.append(p.model) or p)
    assert calls == ["mlp", "mlp"] and not checks[0].passed


def test_noisy_slowdown_over_threshold_but_not_significant_passes() -> None:
    from benchbench.ci.gate import check_regressions
    from benchbench.measure.records import LatencyStats, ProfileResult
    from benchbench.record.run import RunResult

    def run(samples: list[float]) -> RunResult:
        p = ProfileResult(model="mlp", modality="mlp", size="tiny", batch_size=1, device="cpu", dtype="float32",
                          latency=LatencyStats.from_samples(samples))  # fmt: skip
        return RunResult(suite="s", device="cpu", profiles=[p])

    base, new = [1.0, 1.5, 2.0, 2.5, 3.0], [1.0, 1.6, 2.4, 2.6, 3.1]  # median +20%, within the noise
    (c,) = check_regressions(run(new), run(base), max_regression_pct=10)
    assert c.value == pytest.approx(1.2) and "not significant" in c.note
    assert c.passed


def test_retry_via_cli_remeasures_with_profile(merged_run, tmp_path, capsys) -> None:
    f = tmp_path / "b.toml"
    f.write_text("[[budget]]\nmodel = 'mlp'\np50_ms = 0.000001\n")
    assert main(["gate", str(merged_run), "--budgets", str(f), "--retry", "1"]) == 1
    out = capsys.readouterr().out
    assert "retry 1/1: re-measuring mlp" in out and "cannot re-measure" not in out


def test_the_gate_says_when_a_verdict_rests_on_noise(write_run, tmp_path, capsys) -> None:
    """30% noise: the p50's CI spans about ±10%. A budget inside it is marked noisy, pass or fail; a budget far
    above passes unmarked; a budget far below fails, marked because the run's noise verdict is not quiet."""
    run = write_run("noisy", {"inside": (2.0, 0.3), "above": (2.0, 0.3), "below": (2.0, 0.3)}, n=40)
    p50 = {p.model: p.latency for p in load_results(run).profiles}
    lo, hi = p50["inside"].ci95_ms
    assert lo < 2.0 < hi
    f = tmp_path / "b.toml"
    f.write_text(f"[[budget]]\nmodel = 'inside'\np50_ms = {p50['inside'].p50_ms * 1.01}\n"
                 "[[budget]]\nmodel = 'above'\np50_ms = 100.0\n[[budget]]\nmodel = 'below'\np50_ms = 0.1\n")  # fmt: skip
    summary = tmp_path / "gate.md"
    assert main(["gate", str(run), "--budgets", str(f), "--summary", str(summary)]) == 1
    out = capsys.readouterr().out
    assert "measurement noise: " in out and "2 verdict(s) rest on a noisy measurement" in out
    text = summary.read_text()
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "pass (noisy)" in rows["inside"] and "budget inside the p50's 95% CI" in rows["inside"]
    assert "noisy" not in rows["above"]
    assert "FAIL (noisy)" in rows["below"] and "failed on a" in rows["below"]
    assert "Measurement noise: **" in text


def test_baseline_ratio_carries_its_ci(write_run, tmp_path, capsys) -> None:
    base = write_run("base", {"mlp": (2.0, 0.02)}, seed=1)
    new = write_run("new", {"mlp": (2.4, 0.02)}, seed=2)
    f = tmp_path / "b.toml"
    f.write_text("[[budget]]\np50_ms = 1000.0\n")
    summary = tmp_path / "gate.md"
    assert (
        main(["gate", str(new), "--budgets", str(f), "--baseline", str(base), "--summary", str(summary)]) == 1
    )
    (row,) = [line for line in summary.read_text().splitlines() if "vs baseline" in line]
    lo, hi = (float(x) for x in row.split("95% CI \\[")[1].split("\\]")[0].split(", "))  # Markdown-escaped
    assert 1.1 < lo < 1.2 < hi < 1.3
