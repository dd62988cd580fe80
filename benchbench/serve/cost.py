"""What serving measured costs: the rate each backend sustained, priced on the device it was measured on.

The rate is the search's max QPS within the p99 budget (server), else the best offline throughput; single stream
gives 1000 / p50 (one query at a time). The formula and the price's origin are `estimate.cost`'s.
"""

from __future__ import annotations

from benchbench.estimate.cost import cost_per_million, device_price
from benchbench.serve.records import BackendServing, ServeResult, ServingCost


def measured_rate(b: BackendServing) -> tuple[float | None, str]:
    if b.search is not None:
        return b.search.max_qps, f"max QPS with p99 <= {b.search.budget_ms:g} ms (server, Poisson arrivals)"
    if b.offline is not None:
        return b.offline.best_throughput_per_s, f"best offline throughput (batch {b.offline.best_batch_size})"
    if b.server is not None:
        return b.server.achieved_qps, f"achieved QPS at {b.server.target_qps:g} offered (server)"
    if b.single is not None and b.single.latency.p50_ms > 0:
        return 1000.0 / b.single.latency.p50_ms, "1000 / p50 of one query at a time (single stream)"
    return None, "nothing measured"


def attach_costs(result: ServeResult, price_per_hour: float | None = None) -> ServeResult:
    """Set each backend's `cost` from its measured rate and the device's price (None: 'no price')."""
    price, source = device_price(result.device, price_per_hour)
    for b in result.backends:
        if b.skipped is not None:
            continue
        qps, qps_source = measured_rate(b)
        b.cost = ServingCost(device=result.measured_on, qps=qps, qps_source=qps_source, price_per_hour=price,
                             price_source=source, cost_per_million_usd=cost_per_million(price, qps))  # fmt: skip
    return result
