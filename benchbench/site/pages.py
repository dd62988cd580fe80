"""The site's HTML pages: the index, one page per model, the device table and the kernel leaderboard.

Every string that came from a run (model and device names, commits, suites) is made inert before it reaches a
page: control and bidirectional-override characters are dropped and the rest is HTML-escaped; data for the
plots is embedded as JSON with `<`, `>` and `&` escaped, so no run can close a script or add markup.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from benchbench.core import inert
from benchbench.core.units import fmt_num
from benchbench.report.html import CSS as REPORT_CSS
from benchbench.site.data import KernelRow, ProfileRow, RunRow, SiteData
from benchbench.site.trends import Series

SITE_CSS = (
    REPORT_CSS
    + """
.muted{color:#666;font-size:.85em}.bad{color:#b00020;font-weight:600}.plot{width:100%;height:340px}
nav{margin-bottom:1em}nav a{font-weight:600}td.num,th.num{text-align:right}
"""
)


def text(value: object) -> str:
    """`value` as inert HTML text on one line (`core.inert`: control and bidi characters shown as escapes)."""
    return html.escape(inert.one_line(value))


def script_json(data: object) -> str:
    """JSON that is safe inside a <script> element."""
    raw = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt_ci(lo: float | None, hi: float | None) -> str:
    """'[lo, hi]' in ms, or '' when there is no interval."""
    return "" if lo is None or hi is None else f" [{lo:.3g}, {hi:.3g}]"


def fmt_mib(v: int | None) -> str:
    """Bytes as MiB with one decimal, '—' when unknown."""
    return "—" if v is None else f"{v / 2**20:.1f}"


@dataclass
class Cell:
    """A table cell: its text (made inert when rendered), an optional link and CSS class."""

    value: str
    href: str | None = None
    cls: str = ""


def table(headers: Iterable[str], rows: Iterable[Iterable[Cell | str]], num_from: int = 99) -> str:
    """An HTML table; columns from `num_from` on are numbers (right-aligned)."""
    head = "".join(
        f'<th class="{"num" if i >= num_from else ""}">{text(h)}</th>' for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            c = c if isinstance(c, Cell) else Cell(str(c))
            cls = " ".join(x for x in (c.cls, "num" if i >= num_from else "") if x)
            inner = f'<a href="{html.escape(c.href)}">{text(c.value)}</a>' if c.href else text(c.value)
            cells.append(f'<td class="{cls}">{inner}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def page(title: str, body: str, depth: int = 0, plots: bool = False) -> str:
    """A whole page; `depth` is how many folders below the site root it lies (for relative links)."""
    up = "../" * depth
    nav = (f'<nav><a href="{up}index.html">index</a> <a href="{up}devices.html">devices</a> '
           f'<a href="{up}kernels.html">kernels</a></nav>')  # fmt: skip
    lib = f'<script src="{up}assets/plotly.min.js"></script>' if plots else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{text(title)}</title>'
            f'<link rel="stylesheet" href="{up}assets/site.css">{lib}</head><body><h1>{text(title)}</h1>{nav}\n'
            f"{body}\n</body></html>\n")  # fmt: skip


def model_slug(model: str) -> str:
    """A file name for a model's page: readable, safe, and distinct for distinct names."""
    import hashlib

    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._")[:60] or "model"
    return f"{stem}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


def report_href(run: RunRow, site_dir: Path, page_dir: Path) -> str | None:
    """A relative link from a page to the run's report.html, when the run's folder is known and has one."""
    if not run.results_path:
        return None
    report = Path(run.results_path) / "report.html"
    if not report.is_file():
        return None
    return quote(os.path.relpath(report, page_dir).replace(os.sep, "/"))


def short_commit(run: RunRow) -> str:
    """The first 10 characters of the run's commit, '+' when the tree had changes; '—' when unknown."""
    if not run.commit:
        return "—"
    return run.commit[:10] + ("+" if run.dirty else "")


# ---- the model page ------------------------------------------------------------------------------------


def series_figures(series: list[Series]) -> dict:
    """Plotly traces and layouts for a model's p50 (with its CI band and regressions), p99 and peak memory."""
    p50, p99, mem = [], [], []
    for i, s in enumerate(series):
        pts = [p for p in s.points if p.profile.p50_ms is not None]
        x = [p.run.created_at for p in pts]
        hover = [f"{short_commit(p.run)} · {p.run.run_id}" for p in pts]
        group = f"s{i}"
        band = [(p.profile.ci_lo, p.profile.ci_hi) for p in pts]
        if any(lo is not None for lo, _ in band):
            p50.append(
                {
                    "x": x,
                    "y": [hi for _, hi in band],
                    "mode": "lines",
                    "line": {"width": 0},
                    "legendgroup": group,
                    "showlegend": False,
                    "hoverinfo": "skip",
                }
            )
            p50.append({"x": x, "y": [lo for lo, _ in band], "mode": "lines", "line": {"width": 0},
                        "fill": "tonexty", "fillcolor": "rgba(31,119,180,0.18)", "legendgroup": group,
                        "name": f"{s.label} 95% CI", "hoverinfo": "skip"})  # fmt: skip
        p50.append({"x": x, "y": [p.profile.p50_ms for p in pts], "text": hover, "mode": "lines+markers",
                    "name": s.label, "legendgroup": group})  # fmt: skip
        bad = [p for p in pts if p.regression]
        if bad:
            p50.append({"x": [p.run.created_at for p in bad], "y": [p.profile.p50_ms for p in bad],
                        "text": [p.regression for p in bad], "mode": "markers", "name": f"{s.label} regression",
                        "marker": {"symbol": "x", "size": 12, "color": "#b00020"}})  # fmt: skip
        p99.append({"x": x, "y": [p.profile.p99_ms for p in pts], "text": hover, "mode": "lines+markers",
                    "name": s.label})  # fmt: skip
        m = [p for p in s.points if p.profile.peak_memory_bytes is not None]
        mem.append({"x": [p.run.created_at for p in m], "y": [p.profile.peak_memory_bytes / 2**20 for p in m],
                    "mode": "lines+markers", "name": s.label})  # fmt: skip

    def layout(title: str, unit: str) -> dict:
        return {"title": {"text": title}, "xaxis": {"title": {"text": "run (time)"}},
                "yaxis": {"title": {"text": unit}, "rangemode": "tozero"}, "margin": {"t": 40, "r": 10},
                "legend": {"orientation": "h"}}  # fmt: skip

    return {
        "p50": {
            "traces": p50,
            "layout": layout("p50 latency with its 95% CI; × = a regression the gate fails", "ms"),
        },
        "p99": {"traces": p99, "layout": layout("p99 latency", "ms")},
        "memory": {"traces": mem, "layout": layout("peak inference memory", "MiB")},
    }


PLOTTED = {"p50": "p50 latency", "p99": "p99 latency", "memory": "peak inference memory"}


def model_page(model: str, series: list[Series], site_dir: Path) -> tuple[str, dict]:
    """The page of one model and the data it embeds."""
    figures = series_figures(series)
    page_dir = site_dir / "models"
    rows, regressions = [], []
    for s in series:
        for p in reversed(s.points):
            rows.append([p.run.created_at, short_commit(p.run), s.label, p.profile.status,
                         fmt_num(p.profile.p50_ms) + fmt_ci(p.profile.ci_lo, p.profile.ci_hi),
                         fmt_num(p.profile.p99_ms), fmt_mib(p.profile.peak_memory_bytes),
                         Cell("report", report_href(p.run, site_dir, page_dir)) if report_href(p.run, site_dir, page_dir) else "—"])  # fmt: skip
            if p.regression:
                regressions.append(
                    [p.run.created_at, short_commit(p.run), s.label, Cell(p.regression, cls="bad")]
                )
    divs = "".join(f'<div class="plot" id="plot-{k}"></div>' for k in figures)
    missing = [name for k, name in PLOTTED.items() if k not in figures]
    if missing:
        divs += f'<p class="muted">Not recorded in these runs: {", ".join(missing)}.</p>'
    draw = "".join(
        f"Plotly.newPlot('plot-{k}',FIGS.{k}.traces,FIGS.{k}.layout,{{responsive:true}});" for k in figures
    )
    body = [f'<p class="muted">{len(series)} configurations, {sum(len(s.points) for s in series)} measurements. '
            f'Data: <a href="../data/models/{model_slug(model)}.json">JSON</a>.</p>', divs]  # fmt: skip
    body.append("<h2>Regressions</h2>")
    body.append(table(["run", "commit", "configuration", "what the gate says"], regressions) if regressions
                else "<p>None: no run is slower than the run before it by more than the threshold with significance.</p>")  # fmt: skip
    body.append("<h2>Runs</h2>")
    body.append(table(["run", "commit", "configuration", "status", "p50 ms [95% CI]", "p99 ms", "peak MiB", "report"],
                      rows[:500], num_from=4))  # fmt: skip
    if len(rows) > 500:
        body.append(f'<p class="muted">The latest 500 of {len(rows)} measurements; all are in the JSON.</p>')
    body.append(f"<script>const FIGS={script_json(figures)};{draw}</script>")
    return page(f"{model}", "\n".join(body), depth=1, plots=True), figures


# ---- the index, the devices and the kernels -------------------------------------------------------------


def index_page(data: SiteData, models: dict[str, list[Series]], site_dir: Path) -> str:
    """Models with their latest figures and regressions, the devices, and the latest runs."""
    devices = sorted({r.device for r in data.runs.values()})
    rows = []
    for model, series in models.items():
        for s in series:
            last = s.points[-1]
            rows.append([Cell(model, f"models/{model_slug(model)}.html"), s.label, str(len(s.points)),
                         fmt_num(last.profile.p50_ms) + fmt_ci(last.profile.ci_lo, last.profile.ci_hi),
                         Cell(str(len(s.regressions)), cls="bad" if s.regressions else ""), short_commit(last.run)])  # fmt: skip
    runs = sorted(data.runs.values(), key=lambda r: (r.created_at, r.run_id), reverse=True)
    run_rows = []
    for r in runs[:30]:
        href = report_href(r, site_dir, site_dir)
        run_rows.append(
            [r.created_at, short_commit(r), r.suite, r.device, Cell(r.run_id, href) if href else r.run_id]
        )
    ops = sorted({k.op for k in data.kernels})
    body = [
        f'<p>{len(data.runs)} runs, {len(models)} models, {len(devices)} devices ({text(", ".join(devices))}), '
        f'{len(ops)} kernel ops. <a href="data/index.json">Data as JSON</a>.</p>',
        "<h2>Models</h2>",
        table(["model", "configuration", "runs", "latest p50 ms [95% CI]", "regressions", "latest commit"], rows, 2),
        "<h2>Devices</h2>",
        f'<p><a href="devices.html">Device against device</a>: the same model configuration on {len(devices)} devices.</p>',
        "<h2>Kernels</h2>",
        f'<p><a href="kernels.html">Leaderboard</a> per op and shape: {text(", ".join(ops)) or "no kernel timed yet"}.</p>',
        "<h2>Latest runs</h2>",
        table(["when", "commit", "suite", "device", "run (report)"], run_rows),
    ]  # fmt: skip
    return page("benchbench results", "\n".join(body))


def latest_by_device(
    profiles: list[ProfileRow], runs: dict[str, RunRow]
) -> dict[tuple, dict[str, ProfileRow]]:
    """(model, size, batch, dtype) → device → the latest profile with a p50."""
    out: dict[tuple, dict[str, tuple[str, ProfileRow]]] = {}
    for p in profiles:
        run = runs.get(p.run_id)
        if run is None or p.p50_ms is None:
            continue
        cell = out.setdefault((p.model, p.size, p.batch_size, p.dtype), {})
        stamp = (run.created_at, run.run_id)
        if p.device not in cell or cell[p.device][0] < stamp:
            cell[p.device] = (stamp, p)
    return {k: {d: p for d, (_, p) in v.items()} for k, v in out.items()}


def devices_page(data: SiteData) -> tuple[str, list[dict]]:
    """Where one configuration ran on several devices: each device's latest p50 and its ratio to the fastest."""
    latest = latest_by_device(data.profiles, data.runs)
    devices = sorted({d for cell in latest.values() for d in cell})
    rows, records = [], []
    for (model, size, batch, dtype), cell in sorted(latest.items()):
        if len(cell) < 2:
            continue
        fastest = min(p.p50_ms for p in cell.values())
        row = [Cell(model, f"models/{model_slug(model)}.html"), f"{size} · bs{batch} · {dtype}"]
        for d in devices:
            p = cell.get(d)
            row.append("—" if p is None else f"{fmt_num(p.p50_ms)}{fmt_ci(p.ci_lo, p.ci_hi)} (×{p.p50_ms / fastest:.3g})"
                       if fastest > 0 else fmt_num(p.p50_ms))  # fmt: skip
        rows.append(row)
        records.append({"model": model, "size": size, "batch_size": batch, "dtype": dtype,
                        "p50_ms": {d: p.p50_ms for d, p in cell.items()},
                        "ci95_ms": {d: [p.ci_lo, p.ci_hi] for d, p in cell.items()}})  # fmt: skip
    intro = ("<p>Each cell: the device's latest p50 in ms with its 95% CI, and (×) its ratio to the fastest device "
             "for that configuration. Only configurations measured on two devices or more are listed.</p>")  # fmt: skip
    body = intro + (table(["model", "configuration", *devices], rows, 2) if rows
                    else f"<p>No configuration has run on two devices yet (devices seen: {text(', '.join(devices))}).</p>")  # fmt: skip
    return page("Device against device", body), records


def kernels_page(kernels: list[KernelRow], runs: dict[str, RunRow]) -> tuple[str, list[dict]]:
    """Per op, shape, mode and dtype: every implementation's latest timing on each device, fastest first."""
    latest: dict[tuple, tuple[tuple, KernelRow]] = {}
    for k in kernels:
        run = runs.get(k.run_id)
        stamp = (run.created_at, k.run_id) if run else ("", k.run_id)
        key = (k.op, k.shape, k.mode, k.dtype, k.impl, k.device)
        if key not in latest or latest[key][0] < stamp:
            latest[key] = (stamp, k)
    boards: dict[tuple, list[KernelRow]] = {}
    for (op, shape, mode, dtype, _, _), (_, k) in latest.items():
        boards.setdefault((op, shape, mode, dtype), []).append(k)
    parts, records = [], []
    for (op, shape, mode, dtype), rows in sorted(boards.items()):
        rows.sort(key=lambda k: k.p50_ms)
        parts.append(f"<h2>{text(op)} · {text(mode)} · {text(dtype)} · {text(shape)}</h2>")
        parts.append(table(["rank", "impl", "device", "p50 ms [95% CI]", "TFLOP/s", "GB/s", "speed-up vs baseline"],
                           [[str(i + 1), k.impl + (" (baseline)" if k.baseline else ""), k.device,
                             fmt_num(k.p50_ms) + fmt_ci(k.ci_lo, k.ci_hi), fmt_num(k.tflops), fmt_num(k.gbps),
                             fmt_num(k.speedup)] for i, k in enumerate(rows)], 3))  # fmt: skip
        records.append({"op": op, "shape": shape, "mode": mode, "dtype": dtype,
                        "rows": [k.__dict__ for k in rows]})  # fmt: skip
    body = (
        "\n".join(parts)
        or "<p>No kernel timing in this history: kernels are timed on a GPU (`benchbench gpu-check`, `run --suite gpu`).</p>"
    )
    return page("Kernel leaderboard", body), records
