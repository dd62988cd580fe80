"""Reports: a run's results rendered as one Markdown page. Every number comes from the results."""

from __future__ import annotations

from pathlib import Path

from benchbench.errors import unknown_name
from benchbench.results import RunResult, write_text

FORMATS = ("md",)


def fmt_count(n: float | None, unit: str = "") -> str:
    """1234567 → '1.23 M'; None → '—'."""
    if n is None:
        return "—"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    return f"{n:.0f} {unit}".rstrip()


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for scale, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}"
    return f"{n} B"


def fmt_ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def profile_table(run: RunResult) -> str:
    rows = [
        "| model | modality | size | batch | params | MACs (fvcore) | FLOPs (torch) | p50 ms | p90 ms | p99 ms | throughput /s | status |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in run.profiles:
        lat = p.latency or {}
        status = "ok" if p.ok else "failed: " + "; ".join(f"{e.stage}: {e.error}" for e in p.errors)
        rows.append(
            f"| {p.model} | {p.modality} | {p.size} | {p.batch_size} "
            f"| {fmt_count((p.params or {}).get('total'))} | {fmt_count((p.flops or {}).get('macs'))} "
            f"| {fmt_count((p.flops or {}).get('flops'))} | {fmt_ms(lat.get('p50_ms'))} | {fmt_ms(lat.get('p90_ms'))} "
            f"| {fmt_ms(lat.get('p99_ms'))} | {fmt_count(lat.get('throughput_per_s'))} | {status.replace('|', '/')} |"
        )
    return "\n".join(rows)


def render_markdown(run: RunResult) -> str:
    env = run.env
    failed = [p for p in run.profiles if not p.ok]
    lines = [
        f"# benchbench run `{run.run_id}`",
        "",
        f"Suite **{run.suite}** on **{run.device}** ({env.get('device_name') or env.get('cpu_model', '?')}, "
        f"{env.get('torch_threads', '?')} threads, torch {env.get('versions', {}).get('torch', '?')}), "
        f"{len(run.profiles)} models, {len(failed)} failed, {run.elapsed_s or 0:.1f} s.",
        "",
        "MACs are fvcore's count (one per multiply-add); FLOPs are torch FlopCounterMode's (two per multiply-add). "
        "Latency is per forward pass of one batch in eval mode, in milliseconds.",
        "",
        "## Models",
        "",
        profile_table(run),
        "",
    ]
    return "\n".join(lines)


def write_report(run: RunResult, path: str | Path, fmt: str = "md") -> Path:
    if fmt not in FORMATS:
        raise unknown_name("report format", fmt, FORMATS)
    return write_text(path, render_markdown(run))
