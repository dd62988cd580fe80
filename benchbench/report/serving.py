"""Serving in reports, cards and the terminal: what `benchbench serve` measured, on the device it ran on, kept apart
from the roofline estimates for table devices (which are labelled "estimated" where they appear).

`serving_content` builds the tables once; the report (`serving_blocks`) and `benchbench serve`'s terminal summary
(`serving_sections`, rendered by `benchbench.report.terminal`) both show them, so a figure reads the same in both.
"""

from __future__ import annotations

from benchbench.core.units import fmt_bound_ci, fmt_price_per_hour, fmt_rate, fmt_usd_per_million
from benchbench.report.document import Block, Plot, Section, Table, literal
from benchbench.report.plots import load_curve_svg
from benchbench.serve.records import BackendServing, EndToEndLatency, MaxQpsSearch, ServeResult, ServerProbe


def _ms(value: float) -> str:
    return f"{value:.3g}"


def _ms_ci(value: float, ci: list[float | None] | None) -> str:
    """'12.3 [11.9, 13.0]': a latency percentile in ms with its 95% CI."""
    return f"{_ms(value)} {fmt_bound_ci(ci)}"


def _yes_no(x: bool | None) -> str:
    return "—" if x is None else ("yes" if x else "no")


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
            p99 = f"; p99 {b.search.at.latency.p99_ms:.3g} ms {fmt_bound_ci(b.search.at.latency.p99_ci95_ms)}"
        rows.append([b.backend, f"{fmt_rate(c.qps)} ({c.qps_source}{p99})", fmt_price_per_hour(c.price_per_hour),
                     c.price_source, fmt_usd_per_million(c.cost_per_million_usd)])  # fmt: skip
    return Table(["backend", "measured rate", "price", "price source", "$ per 1M queries (measured)"], rows)


def latency_table(r: ServeResult) -> Table | None:
    """One query at a time, per backend: p50, and the p90 and p99 with their 95% CIs."""
    rows = [[b.backend, *_latency_cells(b.single.latency)] for b in r.backends if b.single is not None]
    if not rows:
        return None
    return Table(["backend", "queries", "p50 ms", "p90 ms [95% CI]", "p99 ms [95% CI]"], rows)


def _latency_cells(lat: EndToEndLatency) -> list[str]:
    return [
        str(lat.n),
        _ms(lat.p50_ms),
        _ms_ci(lat.p90_ms, lat.p90_ci95_ms),
        _ms_ci(lat.p99_ms, lat.p99_ci95_ms),
    ]


def offline_table(r: ServeResult) -> Table | None:
    """Whole batches back to back, per backend and batch size: throughput with its 95% CI, and the best batch."""
    rows = []
    for b in r.backends:
        if b.offline is None:
            continue
        for pt in b.offline.points:
            ci = "" if pt.throughput_ci95 is None else f" [{fmt_rate(pt.throughput_ci95[0], '')}, " \
                                                       f"{fmt_rate(pt.throughput_ci95[1], '')}]"  # fmt: skip
            best = "best" if pt.batch_size == b.offline.best_batch_size else ""
            rows.append([b.backend, str(pt.batch_size), fmt_rate(pt.throughput_per_s, "") + ci,
                         _ms(pt.latency.p50_ms), best])  # fmt: skip
        rows += [
            [b.backend, str(batch), "—", "—", f"skipped: {why}"]
            for batch, why in b.offline.skipped_batches.items()
        ]
    if not rows:
        return None
    return Table(["backend", "batch", "samples/s [95% CI]", "batch p50 ms", "note"], rows)


def _probes(b: BackendServing) -> list[ServerProbe]:
    probes = []
    if b.search is not None:
        probes = [*b.search.probes, *([b.search.above] if b.search.above else [])]
    if b.server is not None:
        probes.append(b.server)
    return sorted(probes, key=lambda p: p.target_qps)


def probe_table(r: ServeResult) -> Table | None:
    """Every Poisson probe, per backend, by offered rate: the latency percentiles, batching and the verdict."""
    rows = []
    for b in r.backends:
        for p in _probes(b):
            rows.append([b.backend, fmt_rate(p.target_qps, ""), fmt_rate(p.achieved_qps, ""), _ms(p.latency.p50_ms),
                         _ms_ci(p.latency.p90_ms, p.latency.p90_ci95_ms), _ms_ci(p.latency.p99_ms, p.latency.p99_ci95_ms),
                         f"{p.mean_batch:.2f}", _ms(p.queue_p99_ms), _ms(p.issue_lag_p99_ms),
                         f"{p.answered}/{p.queries}", p.stop_reason, _yes_no(p.within_budget)])  # fmt: skip
    if not rows:
        return None
    return Table(["backend", "offered QPS", "answered/s", "p50 ms", "p90 ms [95% CI]", "p99 ms [95% CI]", "mean batch",
                  "queue p99 ms", "load-generator lag p99 ms", "answered", "stop", "within p99 budget"], rows)  # fmt: skip


def _knee(s: MaxQpsSearch) -> str:
    """Whether the check above the answer exceeded the budget (the knee is bracketed), in words."""
    if s.above is None:
        return "—"
    if s.above.within_budget is False:
        return f"bracketed: the {s.check_factor:g}x probe exceeds the budget"
    return (f"NOT bracketed: the {s.check_factor:g}x probe met the budget too, so the p99 does not rise with load "
            "here beyond its noise (a budget near the machine's latency floor); the max QPS is a lower bound")  # fmt: skip


def _budget_in_ci(s: MaxQpsSearch) -> str:
    """'yes' when the budget lies inside the p99's 95% CI at the answer: noise could move the answer."""
    if s.at is None:
        return "—"
    lo, hi = s.at.latency.p99_ci95_ms
    return _yes_no((lo is None or lo <= s.budget_ms) and (hi is None or s.budget_ms <= hi))


def search_table(r: ServeResult) -> Table | None:
    """The max-QPS search per backend: the answer, its p99 with CI, how the search stopped, the knee check."""
    searches = [(b.backend, b.search) for b in r.backends if b.search is not None]
    if not searches:
        return None
    rows = [[backend, "none passed" if s.max_qps is None else fmt_rate(s.max_qps, ""),
             "—" if s.at is None else _ms_ci(s.at.latency.p99_ms, s.at.latency.p99_ci95_ms), _budget_in_ci(s),
             s.stop_reason, str(len(s.probes)), _knee(s)] for backend, s in searches]  # fmt: skip
    return Table(["backend", "max QPS", "p99 ms there [95% CI]", "budget inside the p99's CI", "search stop",
                  "probes", "knee"], rows)  # fmt: skip


def serving_content(r: ServeResult) -> list[Block]:
    """Backend notes, then the cost, latency, offline, search and probe tables of what was measured."""
    blocks: list[Block] = [
        f"{literal(b.backend)}: {literal('; '.join(b.notes))}" for b in r.backends if b.notes
    ]
    blocks.append(measured_cost_table(r))
    for table in (latency_table(r), offline_table(r)):
        if table is not None:
            blocks.append(table)
    search = search_table(r)
    if search is not None:
        budget = next(b.search.budget_ms for b in r.backends if b.search is not None)
        blocks += [f"max QPS with p99 <= {budget:g} ms (Poisson arrivals; bracket, then bisect):", search]
    probes = probe_table(r)
    if probes is not None:
        blocks.append(probes)
    return blocks


def how(r: ServeResult) -> str:
    """How the scenario ran, in a phrase: the batching of a server, the batch sizes of offline."""
    s = r.settings
    if s.scenario == "offline":
        return "batch sizes " + ", ".join(map(str, s.batch_sizes))
    if s.scenario == "single":
        return "one query at a time"
    return f"dynamic batching max batch {s.max_batch}, max delay {s.max_delay_ms:g} ms"


def serving_blocks(r: ServeResult, plot_name: str) -> list[Block]:
    """The report's serving part for one model: how it was measured, the tables, the load curve."""
    s = r.settings
    blocks: list[Block] = [
        f"**Measured on {literal(r.measured_on)}** (`benchbench serve`, scenario {s.scenario}; {how(r)}; "
        f"{s.threads} threads). Cost per 1M queries = "
        "price per hour / (measured rate × 3600) × 1e6; no price is assumed where none is known.",
        *serving_content(r),
    ]
    svg = load_curve_svg(r)
    if svg is not None:
        blocks.append(Plot(plot_name, f"{r.model}: latency percentiles vs offered load", svg))
    return blocks


def serving_sections(r: ServeResult) -> list[Section]:
    """`benchbench serve`'s terminal summary: the report's serving tables under one heading."""
    title = (
        f"{r.model} ({r.size}) serving, scenario {r.settings.scenario}, measured on {r.measured_on}; {how(r)}"
    )
    return [Section("serving", title, serving_content(r))]
