"""A serve result in lines for people: per backend, what each scenario measured and what it costs."""

from __future__ import annotations

from benchbench.serve.records import BackendServing, EndToEndLatency, ServeResult, ServerProbe


def fmt_bound_ci(ci: list[float | None] | None) -> str:
    """'[26.8, 39.2]'; a side the sample cannot bound is '—' (a p99 from fewer than 368 queries)."""
    if not ci:
        return "—"
    return "[" + ", ".join("—" if v is None else f"{v:.3g}" for v in ci) + "]"


def fmt_latency(lat: EndToEndLatency) -> str:
    return (f"p50 {lat.p50_ms:.3g} ms, p90 {lat.p90_ms:.3g} ms {fmt_bound_ci(lat.p90_ci95_ms)}, "
            f"p99 {lat.p99_ms:.3g} ms {fmt_bound_ci(lat.p99_ci95_ms)} (95% CI; {lat.n} queries)")  # fmt: skip


def fmt_probe(p: ServerProbe) -> str:
    verdict = "" if p.within_budget is None else (" within budget" if p.within_budget else " OVER budget")
    tail = f", {p.unanswered} unanswered" if p.unanswered else ""
    return (f"{p.target_qps:,.1f} QPS offered, {p.achieved_qps:,.1f} answered/s: {fmt_latency(p.latency)}; mean batch "
            f"{p.mean_batch:.2f}, queue p99 {p.queue_p99_ms:.3g} ms, load-generator lag p99 {p.issue_lag_p99_ms:.3g} ms"
            f"{tail}, stop {p.stop_reason}{verdict}")  # fmt: skip


def backend_lines(b: BackendServing) -> list[str]:
    if b.skipped is not None:
        return [f"{b.backend}: skipped ({b.skipped})"]
    lines = [f"{b.backend}:" + (f" ({'; '.join(b.notes)})" if b.notes else "")]
    if b.single is not None:
        lines.append(f"  single stream: {fmt_latency(b.single.latency)}")
    if b.offline is not None:
        for pt in b.offline.points:
            ci = (
                ""
                if pt.throughput_ci95 is None
                else f" [{pt.throughput_ci95[0]:,.1f}, {pt.throughput_ci95[1]:,.1f}]"
            )
            best = "  <- best" if pt.batch_size == b.offline.best_batch_size else ""
            lines.append(f"  offline batch {pt.batch_size:>3}: {pt.throughput_per_s:,.1f} samples/s{ci} "
                         f"(batch p50 {pt.latency.p50_ms:.3g} ms){best}")  # fmt: skip
        for batch, why in b.offline.skipped_batches.items():
            lines.append(f"  offline batch {batch}: skipped ({why})")
    if b.server is not None:
        lines.append(f"  server: {fmt_probe(b.server)}")
    if b.search is not None:
        s = b.search
        for i, p in enumerate(s.probes, 1):
            lines.append(f"  probe {i}: {fmt_probe(p)}")
        if s.max_qps is None:
            lines.append(f"  max QPS with p99 <= {s.budget_ms:g} ms: none passed ({s.stop_reason})")
        else:
            assert s.at is not None
            lo, hi = s.at.latency.p99_ci95_ms
            near = " (the budget lies inside the p99's 95% CI: noise could move the answer)" if (
                (lo is None or lo <= s.budget_ms) and (hi is None or s.budget_ms <= hi)) else ""  # fmt: skip
            lines.append(f"  max QPS with p99 <= {s.budget_ms:g} ms: {s.max_qps:,.1f} (p99 {s.at.latency.p99_ms:.3g} ms "
                         f"{fmt_bound_ci(s.at.latency.p99_ci95_ms)}; search {s.stop_reason}, {len(s.probes)} probes){near}")  # fmt: skip
        if s.above is not None:
            lines.append(f"  check at {s.check_factor:g}x: {fmt_probe(s.above)}")
            lines.append("  knee bracketed: the check exceeds the budget" if s.above.within_budget is False else
                         f"  knee NOT bracketed: the {s.check_factor:g}x probe met the budget too, so the p99 does not "
                         "rise with load here beyond its noise (a budget near the machine's latency floor); the max "
                         "QPS is a lower bound")  # fmt: skip
    if b.cost is not None:
        c = b.cost
        cost = (
            "no price" if c.cost_per_million_usd is None else f"${c.cost_per_million_usd:,.4g} per 1M queries"
        )
        price = "" if c.price_per_hour is None else f" at ${c.price_per_hour:g}/h ({c.price_source})"
        rate = "—" if c.qps is None else f"{c.qps:,.1f}/s"
        lines.append(f"  cost, measured on {c.device}: {cost}{price}; rate {rate} = {c.qps_source}")
    return lines


def result_lines(r: ServeResult) -> list[str]:
    s = r.settings
    how = (f"dynamic batching max batch {s.max_batch}, max delay {s.max_delay_ms:g} ms" if s.scenario == "server"
           else "one query at a time" if s.scenario == "single" else "batch sizes " + ", ".join(map(str, s.batch_sizes)))  # fmt: skip
    head = f"{r.model} ({r.size}) serving, scenario {s.scenario}, measured on {r.measured_on}; {how}"
    return [head] + [line for b in r.backends for line in backend_lines(b)]
