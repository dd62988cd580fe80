"""The run's `serving` stage on a model with a stable service time, and the gate's serving budgets reading it."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchbench.ci.budgets import parse_budgets
from benchbench.ci.gate import check_budgets
from benchbench.core.errors import BadInputError
from benchbench.core.schema import dump, load
from benchbench.core.stage import STAGES, StageContext
from benchbench.measure.profile import profile_target
from benchbench.measure.timing import TimingConfig
from benchbench.record.run import RunResult
from benchbench.report.run_report import build_sections
from benchbench.sources.target import load_target

SLEEPY = f"{Path(__file__).with_name('sleepy_model.py')}:make_model"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    target = load_target(SLEEPY, None, 1)
    result = profile_target(
        target, timing=TimingConfig(warmup=1, min_repeats=5, min_time_s=0.05), memory=False
    )
    result.serving = STAGES["serving"].run(
        target, result, StageContext(out_dir=tmp_path_factory.mktemp("s"), device="cpu")
    )
    return result


@pytest.mark.slow  # one max-QPS search (about 15 s)
def test_serving_stage_records_a_search_within_the_relative_budget(served):
    b = served.serving.backends[0]
    assert b.backend == "eager" and b.search is not None
    assert b.search.budget_ms >= 20.0  # 5 × a p50 of about 11 ms, or the 20 ms floor
    assert b.search.max_qps is not None and b.search.at.latency.p99_ms <= b.search.budget_ms
    assert b.cost is not None and b.cost.cost_per_million_usd is None and "no price" in b.cost.price_source
    run = RunResult(suite="t", device="cpu", profiles=[served])
    assert load(dump(run), "run.json") == run
    sections = {s.id: s for s in build_sections(run)}
    serving = sections["serving"]
    assert any(getattr(x, "name", "").startswith("serving") for x in serving.blocks)  # the load plot
    text = " ".join(x for x in sections["cost"].blocks if isinstance(x, str))
    assert "Measured on" in text and "Estimated for" in text


@pytest.mark.slow
def test_gate_reads_the_serving_budgets(served):
    s = served.serving.backends[0].search
    run = RunResult(suite="t", device="cpu", profiles=[served])
    budget = s.budget_ms
    tables = {"budget": [
        {"min_qps_at_p99": {"p99_ms": budget, "qps": s.max_qps}},
        {"min_qps_at_p99": {"p99_ms": budget, "qps": s.max_qps * 100}},
        {"max_p99_ms_at_qps": {"qps": s.max_qps, "p99_ms": budget}},
        {"max_p99_ms_at_qps": {"qps": s.max_qps * 1000, "p99_ms": budget}},
    ]}  # fmt: skip
    checks = check_budgets(run, parse_budgets(tables, "b.toml"))
    assert [c.passed for c in checks] == [True, False, True, False]
    assert checks[0].value == s.max_qps
    assert checks[2].value == s.at.latency.p99_ms
    assert checks[3].value is None and "not measured" in checks[3].note


@pytest.mark.parametrize("value", [{"qps": 0, "p99_ms": 5}, {"qps": 10}, {"qps": 10, "p99_ms": float("nan")},
                                   {"qps": 10, "p99_ms": 5, "x": 1}, 5, {"qps": True, "p99_ms": 5}])  # fmt: skip
def test_bad_serving_budget_is_one_line(value):
    with pytest.raises(BadInputError, match="max_p99_ms_at_qps"):
        parse_budgets({"budget": [{"max_p99_ms_at_qps": value}]}, "b.toml")
