"""Generation in reports: the "cost per token" table, section (runs) and card section, and the plots of TPOT and
TTFT against context length and of cache bytes against context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchbench.core.files import write_text
from benchbench.generate.records import Estimate, GenerationRecord
from benchbench.generate.stage import generation_of
from benchbench.report.document import NOT_MEASURED, Plot, Section, Table, literal
from benchbench.report.plots import _svg, pyplot

TITLE = "Cost per token"


def fmt_estimate(e: Estimate | None, spec: str = ".3g") -> str:
    """`median [lo, hi] (n=N)`, or "not measured"."""
    if e is None:
        return NOT_MEASURED
    lo, hi = e.ci95
    cover = "" if e.coverage >= 0.95 else f", CI covers {e.coverage:.0%}"
    return f"{e.median:{spec}} [{lo:{spec}}, {hi:{spec}}] (n={e.n}{cover})"


def generation_table(record: GenerationRecord) -> Table:
    """One row per backend × batch × prompt length: TTFT, TPOT, tokens/s, end-to-end, peak memory (95% CIs)."""
    rows = [
        [p.backend, str(p.batch_size), str(p.prompt_len), str(p.gen_len), fmt_estimate(p.ttft_ms),
         fmt_estimate(p.tpot_ms), fmt_estimate(p.prefill_tokens_per_s, ".4g"), fmt_estimate(p.decode_tokens_per_s, ".4g"),
         fmt_estimate(p.e2e_ms), NOT_MEASURED if p.peak_bytes is None else f"{p.peak_bytes / 2**20:.2f} MiB"]
        for p in record.points
    ]  # fmt: skip
    headers = ["backend", "batch", "prompt", "generated", "TTFT ms", "TPOT ms", "prefill tok/s", "decode tok/s",
               "end-to-end ms", "peak memory"]  # fmt: skip
    return Table(headers, rows)


def cache_line(record: GenerationRecord) -> str:
    """The cache of one sequence: analytic formula and whether the tensors held agree within 1%."""
    c = record.cache
    if c is None:
        return f"KV cache bytes: {NOT_MEASURED} (the config names no known decoder family)."
    verdict = "agree with" if c.agrees else "DISAGREE with"
    return (
        f"Cache per sequence: {literal(c.formula)}; the tensors held {verdict} it within 1% at contexts "
        + ", ".join(f"{ctx} ({held:,} B)" for ctx, held in c.measured)
        + "."
    )


def record_blocks(record: GenerationRecord) -> list[Any]:
    """The blocks describing one decoder's generation figures (shared by the run report and the card)."""
    blocks: list[Any] = [
        f"`{literal(record.model)}` ({literal(record.size)}), {record.dtype} on {record.device}, decoder interface "
        f"{record.decoder}; cache check {'passed' if record.cache_check_ok else 'FAILED'}. Medians with 95% CIs "
        "and sample counts; TTFT is the prefill plus the first token, TPOT one later token.",
        generation_table(record),
        cache_line(record),
    ]
    blocks += [f"{literal(b)}: skipped ({literal(why)})." for b, why in record.skipped.items()]
    return blocks


def cost_per_token_section(run: Any) -> Section | None:
    """The run report's "Cost per token" section over every profile with a generation record; None if none has."""
    blocks: list[Any] = []
    for profile in getattr(run, "profiles", []):
        record = generation_of(profile)
        if record is not None:
            blocks += record_blocks(record)
    return Section("cost-per-token", TITLE, blocks) if blocks else None


def card_cost_per_token_section(record: GenerationRecord | None) -> Section:
    """The model card's "Cost per token" section (measured here; planned figures are i28b's and labelled apart)."""
    if record is None:
        return Section(
            "cost-per-token", TITLE, [f"Cost per token: {NOT_MEASURED} (not a decoder, or not run)."]
        )
    return Section("cost-per-token", TITLE, ["Measured on this machine:", *record_blocks(record)])


# ---- plots ---------------------------------------------------------------------------------------------


def _series(record: GenerationRecord, key: str) -> dict[str, list[tuple[float, float, float, float]]]:
    out: dict[str, list[tuple[float, float, float, float]]] = {}
    for p in record.points:
        label = f"{p.backend}, batch {p.batch_size}"
        if key == "ttft":
            e = p.ttft_ms
            out.setdefault(label, []).append((p.prompt_len, e.median, *e.ci95))
        else:
            for pos in p.tpot_by_position:
                e = pos.tpot_ms
                out.setdefault(f"{label}, prompt {p.prompt_len}", []).append(
                    ((pos.start + pos.end) / 2, e.median, *e.ci95)
                )
    return out


def _line_svg(
    series: dict[str, list[tuple[float, float, float, float]]], xlabel: str, ylabel: str, title: str
) -> str | None:
    if not series:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, pts in series.items():
        pts = sorted(pts)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, marker="o", label=label)
        ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _svg(fig)


def generation_plots(record: GenerationRecord) -> list[Plot]:
    """TTFT against prompt length, TPOT against context position (shaded: 95% CI), cache bytes against context."""
    plots = []
    ttft = _line_svg(_series(record, "ttft"), "prompt length (tokens)", "TTFT (ms)", "Time to first token")
    if ttft:
        plots.append(Plot("ttft_vs_context", "TTFT against prompt length", ttft))
    tpot = _line_svg(
        _series(record, "tpot"), "context position (tokens)", "TPOT (ms)", "Time per output token"
    )
    if tpot:
        plots.append(Plot("tpot_vs_context", "TPOT against context position", tpot))
    if record.cache is not None and record.cache.measured:
        c = record.cache
        held = {"held (measured)": [(ctx, b, b, b) for ctx, b in c.measured],
                "analytic": [(ctx, c.bytes_per_token * ctx + c.state_bytes, 0, 0) for ctx, _ in c.measured]}  # fmt: skip
        held["analytic"] = [(x, y, y, y) for x, y, _, _ in held["analytic"]]
        svg = _line_svg(held, "context (tokens)", "bytes per sequence", "KV cache / state bytes")
        if svg:
            plots.append(Plot("kv_bytes_vs_context", "Cache bytes against context", svg))
    return plots


def write_generation_plots(record: GenerationRecord, folder: str | Path) -> list[Path]:
    """The plots as SVG files in `folder`; returns their paths."""
    return [write_text(Path(folder) / f"{p.name}.svg", p.svg) for p in generation_plots(record)]
