"""`benchbench serve`: bad input is one line and exit 2; the issue's command gives a max QPS, its p99, and a
1.2× probe over the budget."""

from __future__ import annotations

import json

import pytest

from benchbench.core.schema import read


@pytest.mark.parametrize("argv, says", [
    (["--qps", "0"], "--qps"),
    (["--qps", "nan"], "--qps"),
    (["--find-max-qps", "--p99-ms", "-5"], "--p99-ms"),
    (["--find-max-qps", "--p99-ms", "0"], "--p99-ms"),
    (["--find-max-qps"], "--p99-ms"),
    (["--scenario", "bogus"], "scenario"),
    (["--qps", "10", "--backend", "tensorrt"], "backend"),
    (["--qps", "10", "--queries", "100"], "368"),
    (["--scenario", "single", "--queries", "10"], "36"),
    (["--scenario", "offline", "--find-max-qps", "--p99-ms", "5"], "server"),
    (["--qps", "10", "--find-max-qps", "--p99-ms", "5"], "not both"),
    (["--qps", "10", "--max-probes", "1"], "max-probes"),
    (["--qps", "10", "--price-per-hour", "-1"], "--price-per-hour"),
    (["--scenario", "offline", "--batch-sizes", "1,x"], "batch-sizes"),
    ([], "--qps"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(cli, argv, says):
    code, _, err = cli(["serve", "mlp", *argv])
    assert code == 2 and says in err, err


@pytest.mark.slow  # a search of about ten probes on resnet18: a minute on two loaded cores
def test_find_max_qps_on_resnet18_brackets_the_knee(cli, tmp_path):
    """The issue's command, with its 20 ms budget unless this machine is too slow for it now: then the budget is
    the serving stage's own, 5× the batch-1 p50 timed here (a loaded machine must not fail the test by being
    slow). On a loaded 2-core machine the p99 of a real model moves with the load of others; the 1.2× probe is
    the command's own and, should it pass, it is re-probed (other seeds) at most twice: one of the three must
    exceed the budget."""
    from benchbench.sources.target import load_target
    from benchbench.stages.serving import serving_p99_budget_ms

    budget = max(20.0, round(serving_p99_budget_ms(load_target("resnet18", "tiny", 1))))
    out = tmp_path / "r18.json"
    code, text, _ = cli(["serve", "resnet18", "--size", "tiny", "--scenario", "server", "--find-max-qps",
                         "--p99-ms", f"{budget:g}", "--json", str(out)])  # fmt: skip
    assert code == 0, text
    data = json.loads(out.read_text())
    assert data["kind"] == "serve"
    r = read(out)
    s = r.backends[0].search
    assert s.max_qps and s.max_qps > 0 and s.at.latency.p99_ms <= budget
    assert f"max QPS with p99 <= {budget:g} ms" in text
    checks = [s.above]
    if s.above.within_budget:
        from benchbench.serve.backends import make_runner
        from benchbench.serve.scenarios import query_pool
        from benchbench.serve.server import Batching, serve_poisson

        target = load_target("resnet18", "tiny", 1)
        runner = make_runner("eager", target, tmp_path, 1)
        payloads = [runner.prepare(q) for q in query_pool(target)]
        for seed in (1, 2):
            checks.append(serve_poisson(runner, payloads, rate=1.2 * s.max_qps, queries=1024, budget_ms=budget,
                                        batching=Batching(8, 2.0), seed=seed))  # fmt: skip
            if not checks[-1].within_budget:
                break
    assert any(c.within_budget is False for c in checks), checks
