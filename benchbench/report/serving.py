"""Serving in reports and cards: what `benchbench serve` measured, on the device it ran on, kept apart from the
roofline estimates for table devices (which are labelled "estimated" where they appear)."""

from __future__ import annotations

from benchbench.report.document import Block, Plot, Table, literal
from benchbench.report.plots import load_curve_svg
from benchbench.serve.records import ServeResult


def _ci(ci: list[float | None] | None) -> str:
    if not ci:
        return "—"
    return "[" + ", ".join("—" if v is None else f"{v:.3g}" for v in ci) + "]"


def measured_cost_table(r: ServeResult) -> Table:
    """Per backend: the measured rate, where it came from, the price and its source, and $ per 1M queries."""
    rows = []
    for b in r.backends:
        if b.skipped is not None:
            rows.append([b.backend, f"skipped: {b.skipped}", "—", "—", "—"])
            continue
        c = b.cost
        if c is None:
            rows.append([b.backend, "no rate", "—", "—", "—"])
            continue
        p99 = ""
        if b.search is not None and b.search.at is not None:
            p99 = f"; p99 {b.search.at.latency.p99_ms:.3g} ms {_ci(b.search.at.latency.p99_ci95_ms)}"
        rows.append([b.backend, ("—" if c.qps is None else f"{c.qps:,.1f}/s") + f" ({c.qps_source}{p99})",
                     "—" if c.price_per_hour is None else f"${c.price_per_hour:g}/h", c.price_source,
                     "no price" if c.cost_per_million_usd is None else f"${c.cost_per_million_usd:,.4g}"])  # fmt: skip
    return Table(["backend", "measured rate", "price", "price source", "$ per 1M queries (measured)"], rows)


def probe_table(r: ServeResult) -> Table | None:
    rows = []
    for b in r.backends:
        probes = []
        if b.search is not None:
            probes = [*b.search.probes, *([b.search.above] if b.search.above else [])]
        if b.server is not None:
            probes.append(b.server)
        for p in sorted(probes, key=lambda p: p.target_qps):
            rows.append([b.backend, f"{p.target_qps:,.1f}", f"{p.achieved_qps:,.1f}", f"{p.latency.p50_ms:.3g}",
                         f"{p.latency.p90_ms:.3g}", f"{p.latency.p99_ms:.3g} {_ci(p.latency.p99_ci95_ms)}",
                         f"{p.mean_batch:.2f}", f"{p.answered}/{p.queries}", p.stop_reason,
                         "—" if p.within_budget is None else ("yes" if p.within_budget else "no")])  # fmt: skip
    if not rows:
        return None
    return Table(["backend", "offered QPS", "answered/s", "p50 ms", "p90 ms", "p99 ms [95% CI]", "mean batch",
                  "answered", "stop", "within p99 budget"], rows)  # fmt: skip


def how(r: ServeResult) -> str:
    """How the scenario ran, in a phrase: the batching of a server, the batch sizes of offline."""
    s = r.settings
    if s.scenario == "offline":
        return "batch sizes " + ", ".join(map(str, s.batch_sizes))
    if s.scenario == "single":
        return "one query at a time"
    return f"dynamic batching max batch {s.max_batch}, max delay {s.max_delay_ms:g} ms"


def serving_blocks(r: ServeResult, plot_name: str) -> list[Block]:
    s = r.settings
    blocks: list[Block] = [
        f"**Measured on {literal(r.measured_on)}** (`benchbench serve`, scenario {s.scenario}; {how(r)}; "
        f"{s.threads} threads). Cost per 1M queries = "
        "price per hour / (measured rate × 3600) × 1e6; no price is assumed where none is known.",
        measured_cost_table(r),
    ]
    probes = probe_table(r)
    if probes is not None:
        blocks.append(probes)
    svg = load_curve_svg(r)
    if svg is not None:
        blocks.append(Plot(plot_name, f"{r.model}: latency percentiles vs offered load", svg))
    return blocks
