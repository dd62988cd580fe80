"""Plots for reports, drawn with matplotlib's Agg backend and returned as SVG text (self-contained, no network)."""

from __future__ import annotations

import io
from typing import Any

from benchbench.core.results import RunResult


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def sweep_series(run: RunResult) -> dict[str, list[dict[str, Any]]]:
    """Eval sweep records per 'model (size, dtype)', sorted by batch size; records lacking a p50 are dropped."""
    series: dict[str, list[dict[str, Any]]] = {}
    for p in run.profiles:
        for rec in p.sections.get("sweeps") or []:
            if not isinstance(rec, dict) or rec.get("p50_ms") is None or rec.get("batch_size") is None:
                continue
            if rec.get("mode", "eval") != "eval":
                continue
            label = f"{p.model} ({p.size}, {rec.get('dtype', p.dtype)}" + (
                f", T={rec['seq_len']})" if rec.get("seq_len") else ")"
            )
            series.setdefault(label, []).append(rec)
    return {k: sorted(v, key=lambda r: r["batch_size"]) for k, v in series.items()}


def _line_plot(run: RunResult, key: str, ylabel: str, title: str) -> str | None:
    series = sweep_series(run)
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for label, recs in series.items():
        xs = [r["batch_size"] for r in recs]
        ys = [r.get(key) if key != "p50_ms" else r["p50_ms"] for r in recs]
        pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if pts:
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title} on {run.device}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _svg(fig)


def latency_vs_batch_svg(run: RunResult) -> str | None:
    """p50 latency of one batch against batch size, per model; None without sweeps."""
    return _line_plot(run, "p50_ms", "p50 latency per batch (ms)", "latency vs batch size")


def throughput_svg(run: RunResult) -> str | None:
    """Samples per second against batch size, per model; None without sweeps."""
    return _line_plot(run, "throughput_per_s", "throughput (samples/s)", "throughput vs batch size")
