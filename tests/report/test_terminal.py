"""One renderer: the terminal summaries of `serve`, `swap` and `gpu-check` are the report's own tables, rendered
a third time, so every figure is written by one function and reads the same on the terminal and in report.md."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchbench.core.parity import check_outputs
from benchbench.kernelbench.gpu_check_records import GpuCheck, GpuCheckStep, TimedCall
from benchbench.kernelbench.records import Campaign, CampaignSwap, GoalVerdict, SwapRun, SwapSpeed
from benchbench.kernels.swap_records import SiteCounts, SwapSite, SwapSummary
from benchbench.measure.records import LatencyStats, ProfileResult, TimerReading
from benchbench.record.run import RunResult
from benchbench.report.document import Section, Table
from benchbench.report.kernel_tables import gpu_check_sections, swap_sections
from benchbench.report.markdown import md_cell, render_markdown
from benchbench.report.run_report import build_sections
from benchbench.report.serving import serving_sections
from benchbench.report.terminal import inert, plain_lines, render_terminal
from benchbench.serve.records import (
    BackendServing,
    EndToEndLatency,
    MaxQpsSearch,
    Offline,
    OfflinePoint,
    ServeResult,
    ServerProbe,
    ServeSettings,
    ServingCost,
    SingleStream,
)

WIDE = 1000  # no table wraps: each cell is one unbroken string in the terminal text


def _probe(qps: float, scale: float, within: bool) -> ServerProbe:
    lat = EndToEndLatency.from_samples([scale * (1 + i / 400) for i in range(400)])
    return ServerProbe(qps, 400, 400, 0, lat, qps * 0.98, 3.21, scale / 2, 0.0123, 1.5, "done", 20.0, within)


@pytest.fixture
def served() -> ServeResult:
    ok, over = _probe(1234.5, 7.5, True), _probe(1481.4, 31.0, False)
    search = MaxQpsSearch(20.0, [_probe(617.25, 3.0, True), ok], 1234.5, ok, over, None, "resolved", 0.05, 10)
    offline = Offline([OfflinePoint(1, LatencyStats.from_samples([1.0, 1.1, 1.2]), 909.1, [833.3, 1000.0]),
                       OfflinePoint(8, LatencyStats.from_samples([4.0, 4.4, 4.8]), 1818.2, [1666.7, 2000.0])],
                      best_batch_size=8, best_throughput_per_s=1818.2, skipped_batches={"64": "does not fit"})  # fmt: skip
    eager = BackendServing(
        "eager", single=SingleStream(EndToEndLatency.from_samples([0.5 + i / 100 for i in range(60)]), 1.0),
        offline=offline, search=search, notes=["warm-up 3 s"],
        cost=ServingCost("local CPU", 1234.5, "max QPS with p99 <= 20 ms", 0.5, "--price-per-hour", 0.1125),
    )  # fmt: skip
    settings = ServeSettings("server", 8, 2.0, 400, 1.0, 30.0, 0, 1, p99_budget_ms=20.0)
    return ServeResult("mlp_[x]", "tiny", "cpu", "local CPU", settings,
                       [eager, BackendServing("compile", skipped="no C++ compiler")])  # fmt: skip


@pytest.fixture
def swapped() -> SwapRun:
    site = SwapSite("attention", "enc.0.attn: attention()", "dispatch", "triton", calls=2, swapped_calls=2)
    summary = SwapSummary(["attention"], {"attention": "triton"}, 1, {"attention": SiteCounts(1, 1, 0, 0, 2, 2)},
                          [site])  # fmt: skip
    want = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)
    parity = check_outputs([want * (1 + 2e-6)], [want])
    speed = SwapSpeed("timed", 2.0, 1.6, 1.25, [1.1, 1.4], samples=24, note="interleaved")
    return SwapRun("bert", "tiny", "cpu", "float32", 1, ["attention"], {"attention": "triton"}, summary, parity,
                   speed)  # fmt: skip


@pytest.fixture
def gpu_record() -> GpuCheck:
    goals = [GoalVerdict("fwd >= 1.1x flash", "attention", "fwd", "speedup_vs_flash", "B=1,H=8,T=1024", 1.1, 1.234,
                         True), GoalVerdict("bwd >= 0.5 of matmul", "attention", "bwd", "matmul_fraction", "T=4096",
                                            0.5, None, None, note="not on a CPU")]  # fmt: skip
    timing = TimedCall("attention", "triton", "T=1024", "fwd", "bfloat16", "timed", ok=True,
                       timers=[TimerReading("events", 0.51234), TimerReading("batched", 0.4987)], tflops=123.456,
                       gbps=1234.56, disagree=False, backend="flash")  # fmt: skip
    return GpuCheck("cuda", 300.0, status="done", device_name="NVIDIA H200", steps=[GpuCheckStep("env", "done", 0.0, 0.4)],
                    timings=[timing], goals=goals, notes=["clocks locked"], elapsed_s=42.0)  # fmt: skip


def _tables(sections: list[Section]) -> list[Table]:
    return [b for s in sections for b in s.blocks if isinstance(b, Table)]


def _shown_alike(table: Table, terminal: str, markdown: str) -> None:
    """Every cell of `table` is in the terminal text as it is, and in the Markdown as its Markdown cell."""
    for row in [table.headers, *table.rows]:
        for cell in row:
            assert inert(cell) in terminal, cell
            assert md_cell(cell) in markdown, cell


def test_serve_prints_the_report_serving_tables(served):
    run = RunResult(
        "t", "cpu", [ProfileResult("mlp_[x]", "mlp", "tiny", 1, "cpu", "float32", stages={"serving": served})]
    )
    report = [s for s in build_sections(run) if s.id == "serving"]
    terminal_sections = serving_sections(served)
    shared = _tables(terminal_sections)
    assert shared and shared == _tables(report)  # the same Table objects' contents: one builder
    terminal, markdown = render_terminal(terminal_sections, width=WIDE), render_markdown("r", report)
    for table in shared:
        _shown_alike(table, terminal, markdown)
    for figure in ("1,234.5", "$0.1125", "$0.5/h", "909.1 [833.3, 1,000.0]", "max QPS with p99 <= 20 ms",
                   "skipped: no C++ compiler", "skipped: does not fit"):  # fmt: skip
        assert figure in terminal and md_cell(figure) in markdown, figure


def test_swap_prints_the_report_swap_row(swapped):
    run = RunResult(
        "t", "cpu", [], campaign=Campaign(swaps=[CampaignSwap("bert", "tiny", 1, "timed", run=swapped)])
    )
    report = [s for s in build_sections(run) if s.id == "kernels"]
    terminal_sections = swap_sections(swapped)
    (row_table,) = [t for t in _tables(terminal_sections) if t.headers[0] == "model"]
    assert row_table in _tables(report)
    terminal, markdown = render_terminal(terminal_sections, width=WIDE), render_markdown("r", report)
    _shown_alike(row_table, terminal, markdown)
    assert "1.25× [1.1, 1.4]" in terminal and md_cell("1.25× [1.1, 1.4]") in markdown
    assert (
        "PASS" in terminal
        and "verdict: ok" in terminal
        and "attention: 1 of 1 call sites swapped" in terminal
    )


def test_gpu_check_prints_the_report_goals_table(gpu_record):
    from benchbench.cli.gpu_check import summary_lines

    run = RunResult("t", "cuda", [], campaign=Campaign(goals=gpu_record.goals))
    report = [s for s in build_sections(run) if s.id == "kernels"]
    terminal_sections = gpu_check_sections(gpu_record)
    (goals,) = [t for t in _tables(terminal_sections) if t.headers[:2] == ["shape", "goal"]]
    assert goals in _tables(report)
    terminal, markdown = render_terminal(terminal_sections, width=WIDE), render_markdown("r", report)
    _shown_alike(goals, terminal, markdown)
    assert "1.23" in terminal and "not measured" in terminal and "MISSED" not in terminal
    lines = summary_lines(gpu_record)
    assert lines[0] == "gpu-check on NVIDIA H200: done in 42 s"
    assert any("0.5123" in line and "0.4987" in line and "123" in line and "flash" in line for line in lines)


def test_without_rich_the_same_cells_come_out_as_plain_columns(gpu_record, monkeypatch):
    monkeypatch.setitem(sys.modules, "rich.console", None)  # a lent GPU machine with only torch and triton
    sections = gpu_check_sections(gpu_record)
    text = render_terminal(sections)
    assert text.splitlines() == plain_lines(sections) and "┃" not in text
    for table in _tables(sections):
        for cell in [c for row in [table.headers, *table.rows] for c in row]:
            assert cell in text, cell


def test_strings_from_outside_are_inert_on_the_terminal(served):
    served.model = "evil[bold]x[/bold]\x1b[2J"
    served.backends[0].notes = ["[red]note\x07"]
    text = render_terminal(serving_sections(served), width=WIDE)
    assert "evil[bold]x[/bold]\\x1b[2J" in text and "[red]note\\x07" in text
    assert "\x1b" not in text and "\x07" not in text


def test_gpu_check_summary_needs_neither_rich_nor_numpy():
    """The lent GPU machine has torch and triton only: the summary renders there as plain columns."""
    import subprocess

    blocked = ("rich", "numpy", "matplotlib", "pydantic", "scipy", "onnx", "fvcore")
    code = (f"import sys; [sys.modules.__setitem__(m, None) for m in {blocked!r}]; "
            "from benchbench.cli.gpu_check import summary_lines; from benchbench.kernelbench.gpu_check_records import GpuCheck, GpuCheckStep; "
            "print('\\n'.join(summary_lines(GpuCheck('cuda', 1.0, status='done', steps=[GpuCheckStep('env', 'done', 0.0, 0.25)]))))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.splitlines()[:4] == ["gpu-check on cuda: done in 0 s", "step  status  seconds  note",
                                    "----  ------  -------  ----", "env   done    0.2"]  # fmt: skip
