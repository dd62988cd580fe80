"""The deployment matrix in reports, cards and the terminal: its table, the frontier plot (latency ratio against
quality drop, one point per row) and the card's "deployment" section (the fastest row within a stated quality
budget). Builders only: the lead registers `matrix_section` and `card_section` (or `deployment_card_section`) with the report and
card registries; `benchbench deploy` renders `matrix_table` in the terminal.
"""

from __future__ import annotations

from benchbench.core.stats import fmt_ratio
from benchbench.core.units import fmt_bytes
from benchbench.matrix.records import DeployMatrix, MatrixRow
from benchbench.record.run import RunResult
from benchbench.report.document import Plot, Section, Table, literal
from benchbench.report.plots import _svg, pyplot

# The card's stated budget when the matrix has none: a variant may disagree with eager fp32 on at most 1% of
# top-1 predictions or tokens (or be 1% off in relative error).
CARD_QUALITY_BUDGET = 0.01
HEADERS = ["runtime", "precision", "verdict", "parity", "quality drop [95% CI]", "latency × eager fp32 [95% CI]",
           "peak memory", "artifact", "build s", "what blocks it / warnings"]  # fmt: skip
USABLE = ("ready", "ready-with-warnings")


def _drop(r: MatrixRow) -> str:
    q = r.quality
    if q is None:
        return "—"
    ci = f" [{q.drop_ci95[0]:.3g}, {q.drop_ci95[1]:.3g}]" if q.drop_ci95 else ""
    extra = "; ".join(f"{k.replace('_', ' ')} {v[0]:.3g}" for k, v in q.extra.items())
    return f"{q.drop:.3g}{ci} ({q.proxy}" + (f"; {extra})" if extra else ")")


def _why(r: MatrixRow) -> str:
    parts = [r.reason] if r.reason else []
    parts += [f"blocked by {b}" for b in r.blockers]
    if r.graph_breaks is not None or r.recompiles is not None:
        parts.append(f"graph breaks {r.graph_breaks if r.graph_breaks is not None else '?'}, "
                     f"recompiles {r.recompiles if r.recompiles is not None else '?'}")  # fmt: skip
    parts += r.warnings
    return " | ".join(parts) or "—"


def _peak(r: MatrixRow) -> str:
    return "—" if r.peak_bytes is None else f"{fmt_bytes(r.peak_bytes)} ({r.peak_kind})"


def matrix_table(m: DeployMatrix) -> Table:
    """One line per runtime × precision (text from errors and models kept literal by the renderers)."""
    rows = []
    for r in m.rows:
        ratio = "1 (reference)" if (r.runtime, r.precision) == ("eager", "fp32") else \
            fmt_ratio(r.latency_ratio, r.latency_ratio_ci95)  # fmt: skip
        rows.append([r.runtime, r.precision, r.verdict, r.parity.verdict if r.parity else "—", _drop(r), ratio,
                     _peak(r), "—" if r.artifact_bytes is None else fmt_bytes(r.artifact_bytes),
                     "—" if r.build_s is None else f"{r.build_s:.2f}", _why(r)])  # fmt: skip
    return Table(list(HEADERS), rows)


def frontier_svg(m: DeployMatrix) -> str | None:
    """Latency ratio against quality drop, one point per measured row (CI bars both ways), log latency axis."""
    rows = [
        r for r in m.rows if r.latency_ratio and r.quality is not None and r.verdict in (*USABLE, "not-ready")
    ]
    if not rows:
        return None
    fig, ax = pyplot().subplots(figsize=(6.5, 4.0))
    for r in rows:
        q = r.quality
        lo, hi = r.latency_ratio_ci95 or (r.latency_ratio, r.latency_ratio)
        qlo, qhi = q.drop_ci95 or (q.drop, q.drop)
        ax.errorbar([q.drop], [r.latency_ratio], yerr=[[r.latency_ratio - lo], [hi - r.latency_ratio]],
                    xerr=[[q.drop - qlo], [qhi - q.drop]], fmt="o" if r.verdict in USABLE else "x", capsize=3,
                    markersize=5, label=f"{r.runtime} {r.precision}")  # fmt: skip
    if m.max_quality_drop is not None:
        ax.axvline(
            m.max_quality_drop, color="tab:red", linewidth=0.8, linestyle=":", label="max quality drop"
        )
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yscale("log")
    ax.set_xlabel(f"quality drop vs eager fp32 ({m.quality_proxy})")
    ax.set_ylabel("latency / eager fp32 (lower is faster)")
    ax.set_title(
        f"deployment frontier: {m.model} ({m.size}), batch {m.batch_size}, {m.threads} thread(s)", fontsize=9
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    return _svg(fig)


def best_row(m: DeployMatrix, budget: float) -> MatrixRow | None:
    """The usable row with the lowest latency ratio whose quality drop is within `budget`."""
    fits = [r for r in m.rows if r.verdict in USABLE and r.latency_ratio is not None and r.quality is not None
            and r.quality.drop <= budget]  # fmt: skip
    return min(fits, key=lambda r: r.latency_ratio, default=None)


def _matrices(run: RunResult) -> list[DeployMatrix]:
    """The matrices the run's profiles hold (the stage's record, field `deploy_matrix`)."""
    found = [getattr(p, "deploy_matrix", None) for p in run.profiles]
    return [m for m in found if isinstance(m, DeployMatrix)]


def matrix_section(run: RunResult) -> Section | None:
    """The report's deployment-matrix section: a table and a frontier plot per model; None without a matrix."""
    found = _matrices(run)
    if not found:
        return None
    blocks: list = ["Every runtime × precision the deployment-matrix stage built, against eager fp32 on the same "
                    "inputs: parity on one draw, the quality drop over fresh draws (median, 95% CI), latency from "
                    "interleaved rounds (median of per-round ratios, 95% CI; *n.s.*: no significant difference)."]  # fmt: skip
    for m in found:
        blocks.append(f"**{literal(m.model)}** ({literal(m.size)}), batch {m.batch_size}, {m.threads} thread(s), "
                      f"{m.samples} draws, quality proxy: {m.quality_proxy}")  # fmt: skip
        blocks.append(matrix_table(m))
        svg = frontier_svg(m)
        if svg:
            blocks.append(Plot(f"frontier_{_stem(m.model)}_{_stem(m.size)}", f"frontier of {m.model}", svg))
    return Section("deploy_matrix", "Deployment matrix", blocks)


def _stem(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def deployment_card_section(matrix: DeployMatrix | None, budget: float | None = None) -> Section:
    """The card's "deployment" section: the fastest usable row within a stated quality budget."""
    budget = budget if budget is not None else (matrix.max_quality_drop if matrix and matrix.max_quality_drop
                                                is not None else CARD_QUALITY_BUDGET)  # fmt: skip
    if matrix is None:
        return Section(
            "deployment",
            "Deployment",
            [
                "Deployment matrix: not measured (run `benchbench deploy MODEL --json F` "
                "and pass `--deploy F`)."
            ],
        )
    best = best_row(matrix, budget)
    lines: list = [
        f"Quality budget: a drop of at most {budget:g} in {matrix.quality_proxy} against eager fp32."
    ]
    if best is None:
        lines.append("No runtime × precision measured here is both usable and within that budget.")
    else:
        lines.append(f"Best within budget: **{literal(best.runtime)} {literal(best.precision)}**, latency "
                     f"{fmt_ratio(best.latency_ratio, best.latency_ratio_ci95)} × eager fp32, quality drop "
                     f"{best.quality.drop:.3g}, artifact {fmt_bytes(best.artifact_bytes)}, verdict {best.verdict}.")  # fmt: skip
    lines.append(matrix_table(matrix))
    svg = frontier_svg(matrix)
    if svg:
        lines.append(Plot("deployment_frontier", "latency against quality drop", svg))
    return Section("deployment", "Deployment", lines)


def card_section(profile: object) -> Section:
    """The card's "deployment" section from a profile holding the stage's record (field `deploy_matrix`)."""
    matrix = getattr(profile, "deploy_matrix", None)
    return deployment_card_section(matrix if isinstance(matrix, DeployMatrix) else None)
