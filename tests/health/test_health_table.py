"""The report's health table says what the probe found, and why it did not run or did not decide."""

from benchbench.health.records import GradientFlag, HealthReport, LrAttempt, ProbeResult
from benchbench.measure.records import LatencyStats, ProfileResult
from benchbench.record.run import RunResult
from benchbench.report.markdown import markdown_table
from benchbench.stages.health import health_section


def _profile(name: str, health: HealthReport) -> ProfileResult:
    p = ProfileResult(name, "image", "tiny", 1, "cpu", "float32", latency=LatencyStats.from_samples([1.0]))
    p.health = health
    return p


def _table(profiles: list[ProfileResult]) -> str:
    section = health_section(RunResult(suite="t", device="cpu", profiles=profiles))
    return markdown_table(next(b for b in section.blocks if hasattr(b, "rows")))


def test_the_table_gives_the_verdict_loss_rate_flags_and_the_reason_a_probe_did_not_run():
    healthy = ProbeResult(2.3, 1.9, True, {}, {}, loss="cross-entropy", ladder=[1e-3, 3e-3, 1e-2],
                          attempts=[LrAttempt(1e-3, [2.3, 1.9], True)], lr=1e-3, shrunk="batch 8 → 4")  # fmt: skip
    broken = ProbeResult(2.3, 2.3, False, {}, {}, vanishing=["0"], loss="cross-entropy",
                         flags=[GradientFlag("0", "vanishing", 0.0, "first")])  # fmt: skip
    short = ProbeResult(2.3, 2.3, False, {}, {}, complete=False, loss="mse",
                        notes=["the 10 s budget stopped lr 0.0001 after 3 of 30 steps (a step takes 3.10 s)"])  # fmt: skip
    text = _table([
        _profile("good", HealthReport(probe=healthy)),
        _profile("bad", HealthReport(probe=broken)),
        _profile("slow", HealthReport(probe=short)),
        _profile("big", HealthReport(probe_skipped="6 probe steps would take about 40.0 s, over the 10 s budget")),
    ])  # fmt: skip
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()[2:]}
    assert "healthy (probed at batch 8 → 4)" in rows["good (tiny)"] and "| 0.001 |" in rows["good (tiny)"]
    assert "unhealthy" in rows["bad (tiny)"] and "0 vanishing 0.0e+00" in rows["bad (tiny)"]
    assert "inconclusive: the 10 s budget stopped lr 0.0001" in rows["slow (tiny)"]
    assert "not run: 6 probe steps would take about 40.0 s" in rows["big (tiny)"]
