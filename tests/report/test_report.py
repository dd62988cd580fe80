"""Reports: every section and plot is in the HTML; missing data says 'not measured'; Markdown keeps its tables."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from benchbench.core.errors import BadInputError
from benchbench.core.units import fmt_ms
from benchbench.report.run_report import section_ids, write_report


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.plots: list[str] = []
        self.svgs = 0
        self.diagrams = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "figure" and a.get("class") == "plot":
            self.plots.append(a.get("id"))
        if tag == "figure" and a.get("class") == "diagram":
            self.diagrams += 1
        if tag == "svg":
            self.svgs += 1
        if tag in ("script", "link", "img") or (a.get("src") or "").startswith("http"):
            self.external.append(tag)


def _parse(path) -> _Collect:
    c = _Collect()
    c.feed(path.read_text())
    return c


OPTIONAL_SECTIONS = {
    "deploy_matrix",
    "traces",
    "cost-per-token",
}  # left out of a run whose stages did not make them


def test_html_has_every_section_and_plot(small_run, tmp_path):
    out = write_report(small_run, tmp_path / "r.html", "html")
    c = _parse(out)
    assert c.sections == [s for s in section_ids() if s not in OPTIONAL_SECTIONS]
    assert set(c.plots) == {"plot-latency_vs_batch", "plot-throughput", "plot-roofline",
                            "plot-latency_distribution", "plot-ort_ratio"}  # fmt: skip
    assert c.svgs >= 5
    assert c.external == []  # self-contained
    diagrams = sum(1 for p in small_run.profiles if p.diagram)
    assert (
        diagrams >= 1 and c.diagrams == diagrams and c.svgs >= 5 + diagrams
    )  # architecture diagrams drawn as SVG
    assert "flowchart TD" not in out.read_text()  # not as raw Mermaid source
    text = out.read_text()
    for word in ("ready-with-warnings", "layernorm", "dropout-before-norm", "h100-sxm"):
        assert word in text


def test_uncertainty_is_shown_beside_every_figure(small_run, tmp_path):
    """The noise verdict comes first, each p50 has its CI beside it, each ratio its CI."""
    import dataclasses

    from benchbench.core.noise import run_noise

    run = dataclasses.replace(small_run, noise=run_noise(small_run))
    text = write_report(run, tmp_path / "r.md", "md").read_text()
    summary = text.split("## Summary", 1)[1]
    assert summary.lstrip().startswith(f"Measurement noise: **{run.noise.verdict}**")
    lat = run.profiles[0].latency
    assert f"{fmt_ms(lat.ci95_ms[0])}–{fmt_ms(lat.ci95_ms[1])}" in text  # the p50's CI in the models table
    # ORT/eager with its CI (brackets escaped in Markdown); no ratio is a finding in a run judged unusable
    untrusted = run.noise.verdict == "unusable"
    assert ("0.8 \\[0.7, 0.9\\]" in text) != untrusted and (
        "not trustworthy: noise verdict unusable" in text
    ) == untrusted


def test_missing_sections_say_not_measured(empty_run, tmp_path):
    out = write_report(empty_run, tmp_path / "r.html", "html")
    c = _parse(out)
    assert c.sections == [s for s in section_ids() if s not in OPTIONAL_SECTIONS]
    assert c.plots == []
    text = out.read_text()
    for sid in ("latency", "readiness", "kernels", "health"):
        body = text.split(f'<section id="{sid}">')[1].split("</section>")[0]
        assert "not measured" in body, sid


def test_markdown_links_plots_it_wrote(small_run, tmp_path):
    out = write_report(small_run, tmp_path / "report.md", "md")
    text = out.read_text()
    for heading in ("## Summary", "## Models", "## Roofline", "## Inference cost", "## Kernel comparison"):
        assert heading in text
    assert "| mlp | tabular | tiny |" in text
    for name in ("latency_vs_batch", "throughput", "roofline"):
        assert f"report_plots/{name}.svg" in text
        assert (tmp_path / "report_plots" / f"{name}.svg").read_text().startswith("<svg")


def test_bad_format_is_bad_input(small_run, tmp_path):
    with pytest.raises(BadInputError, match="allowed: html, md"):
        write_report(small_run, tmp_path / "r.pdf", "pdf")
