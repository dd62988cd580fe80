"""Kernel results as document tables: performance goals, swaps and the GPU check.

The run report's kernel section and the terminal summaries of `benchbench swap` and `benchbench gpu-check` build
their tables here, so a goal's value or a swap's speed-up is written by one function wherever it appears.
This module imports no rich, numpy or matplotlib: `gpu-check` runs where only torch and triton are installed.
"""

from __future__ import annotations

from benchbench.core.results import Parity
from benchbench.core.stats import fmt_ratio, ratio_verdict
from benchbench.core.units import fmt_met, fmt_num
from benchbench.kernelbench.gpu_check_records import GpuCheck, TimedCall
from benchbench.kernelbench.records import CampaignSwap, GoalVerdict, SwapRun
from benchbench.report.document import Block, Section, Table, literal

PARITY_WORDS = {"ok": "PASS", "inconclusive": "INCONCLUSIVE"}  # any other verdict: FAIL
SWAP_VERDICT_WORDS = {
    "ok": "PASS",
    "fail": "FAIL",
    "inconclusive": "INCONCLUSIVE",
    "nothing-swapped": "nothing swapped",
}


def goals_table(goals: list[GoalVerdict]) -> Table:
    """The fused kernels' performance goals: per shape, the yardstick, the value (with its 95% CI where it is a
    speed-up) against its threshold, and the verdict."""
    return Table(["shape", "goal", "yardstick", "value [95% CI]", "threshold", "verdict", "note"],
                 [[g.shape, g.goal, g.yardstick or "—", fmt_ratio(g.value, g.value_ci95), f"{g.threshold:g}",
                   fmt_met(g.met), g.note] for g in goals])  # fmt: skip


def speedup_cell(run: SwapRun) -> str:
    """A swap's speed-up (before / after) with its 95% CI: '1.23× [1.10, 1.37]'; '—' when not timed."""
    return fmt_ratio(run.speed.speedup, run.speed.ratio_ci95, unit="×")


def swap_summary_table(swaps: list[CampaignSwap]) -> Table:
    """One row per swapped model: the speed status, the verdict, the sites swapped, the speed-up."""
    rows = []
    for s in swaps:
        r = s.run
        rows.append([s.model, s.size, s.status, "—" if r is None else SWAP_VERDICT_WORDS[r.verdict],
                     "—" if r is None else f"{r.swap.swapped_sites} of {len(r.swap.sites)}",
                     "—" if r is None else speedup_cell(r), s.note])  # fmt: skip
    return Table(["model", "size", "status", "verdict", "swapped sites", "speed-up [95% CI]", "note"], rows)


def _worst_rel(p: Parity) -> float | None:
    return max((o.rel_err for o in p.outputs if o.rel_err is not None), default=None)


def parity_table(r: SwapRun) -> Table:
    """The swapped model's outputs (and each swapped site's output) against the original's."""
    tol = r.parity.outputs[0].tol if r.parity.outputs else None
    bound = f"‖out − ref‖/‖ref‖ <= {tol.rel:g} for {r.dtype}" if tol and tol.rel is not None else r.dtype
    checks = [("model outputs", r.parity)] + (
        [("swapped sites' outputs", r.site_parity)] if r.site_parity else []
    )
    return Table(["compared", "tensors", "rel err", "max abs err", "tolerance", "parity", "reason"],
                 [[what, str(len(p.outputs)), fmt_num(_worst_rel(p)), fmt_num(p.max_abs), bound,
                   PARITY_WORDS.get(p.verdict, "FAIL"), p.reason or ""] for what, p in checks])  # fmt: skip


def speed_block(r: SwapRun) -> Block:
    """The swap's speed: before and after p50 and the speed-up with its verdict, or why it was not timed."""
    s = r.speed
    if s.status != "timed":
        return f"speed: {literal(s.status)} ({literal(s.note)})"
    verdict = ratio_verdict(s.ratio_ci95, above="the swap is faster", below="the swap is slower")
    return Table(["p50 ms before", "p50 ms after", "speed-up [95% CI]", "verdict", "samples", "note"],
                 [[f"{s.before_p50_ms:.3f}", f"{s.after_p50_ms:.3f}", speedup_cell(r), verdict, str(s.samples),
                   s.note]])  # fmt: skip


def _site_blocks(r: SwapRun) -> list[Block]:
    """The call sites, the counts per op, what stayed eager and why."""
    sw = r.swap
    blocks: list[Block] = [Table(
        ["call site", "op", "impl", "status", "calls", "why not swapped"],
        [[s.site, s.op, s.impl, s.status, f"{s.swapped_calls}/{s.calls}",
          "; ".join(f"{reason} (×{n})" for reason, n in s.reasons.items())] for s in sw.sites])]  # fmt: skip
    blocks += [f"{literal(op)}: {c.swapped} of {c.sites} call sites swapped ({c.fallback} fell back, {c.not_called} not called)"
               for op, c in sw.counts.items()]  # fmt: skip
    if sw.unrouted:
        blocks += ["attention-like modules not routed (they ran eager):",
                   Table(["module", "type", "calls", "why"], [[u.module, u.type, str(u.calls), u.reason] for u in sw.unrouted])]  # fmt: skip
    if sw.uncovered_ops:
        seen = ", ".join(f"{op} ×{n}" for op, n in sw.uncovered_ops.items())
        blocks.append(f"attention-like ops that ran outside every route: {literal(seen)}")
    return blocks


def swap_sections(r: SwapRun) -> list[Section]:
    """`benchbench swap`'s terminal summary: the sites, the parity, the speed and the run's one summary row."""
    title = f"swap {r.model} ({r.size}), batch {r.batch_size}, {r.device}, {r.dtype}: {', '.join(r.ops)}"
    blocks = _site_blocks(r) + [f"note: {literal(n)}" for n in r.swap.notes]
    if r.verdict == "nothing-swapped":
        blocks.append("parity: not tested (no call site was swapped: the outputs are the original model's)")
    else:
        blocks.append(parity_table(r))
    blocks += [f"note: {literal(n)}" for n in r.notes]
    blocks.append(speed_block(r))
    blocks.append(swap_summary_table([CampaignSwap(r.model, r.size, r.batch_size, r.speed.status, run=r)]))
    tail = " (no call site was swapped: nothing was tested)" if r.verdict == "nothing-swapped" else ""
    blocks.append(f"verdict: {r.verdict}{tail}")
    return [Section("swap", title, blocks)]


def _timings_table(timed: list[TimedCall]) -> Table:
    """Each call's median ms per timer side by side, the rates (from the batched timer) and the SDPA backend."""
    timers = list(dict.fromkeys(r.timer for t in timed for r in t.timers))
    rows = []
    for t in timed:
        p50 = {r.timer: r.p50_ms for r in t.timers}
        rows.append([f"{t.op}/{t.impl}", t.mode, t.shape, *(fmt_num(p50.get(x) or None, ".4g") for x in timers),
                     fmt_num(t.tflops or None), fmt_num(t.gbps or None, ".4g"), "yes" if t.disagree else "",
                     t.backend])  # fmt: skip
    return Table(["call", "mode", "shape", *(f"{x} ms" for x in timers), "TFLOP/s", "GB/s",
                  "timers disagree > 10%", "ran"], rows)  # fmt: skip


def gpu_check_sections(record: GpuCheck) -> list[Section]:
    """`benchbench gpu-check`'s summary: the steps, the timings side by side, the goals, failures and notes."""
    title = f"gpu-check on {record.device_name or record.device}: {record.status} in {record.elapsed_s:.0f} s"
    blocks: list[Block] = [Table(["step", "status", "seconds", "note"],
                                 [[s.name, s.status, f"{s.elapsed_s:.1f}", s.note] for s in record.steps])]  # fmt: skip
    timed = [t for t in record.timings if t.timers]
    if timed:
        blocks += ["timings, median ms per timer (rates from batched):", _timings_table(timed)]
    if record.goals:
        blocks += ["goals:", goals_table(record.goals)]
    blocks += [f"FAILED: {literal(f)}" for f in record.failures]
    blocks += [f"note: {literal(n)}" for n in record.notes]
    return [Section("gpu_check", title, blocks)]
