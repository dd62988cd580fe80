"""Write the site: pages, their data as JSON, the stylesheet and Plotly's script, each file atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from benchbench.core.errors import BadInputError
from benchbench.core.files import write_bytes, write_json, write_text
from benchbench.site.data import SiteData
from benchbench.site.pages import SITE_CSS, devices_page, index_page, kernels_page, model_page, model_slug
from benchbench.site.trends import DEFAULT_MAX_REGRESSION_PCT, model_series


@dataclass
class SiteSummary:
    """What a build wrote: how many runs, models and pages, the regressions marked, and how long it took."""

    out: str
    runs: int
    models: int
    pages: int
    regressions: int
    elapsed_s: float


def plotly_js() -> bytes:
    """The Plotly.js bundle shipped inside the `plotly` package (the `site` extra), or one line saying so."""
    try:
        return (files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise BadInputError(
            "benchbench site draws its plots with Plotly: pip install 'benchbench[site]'"
        ) from None


def build_site(
    data: SiteData, out: str | Path, max_regression_pct: float = DEFAULT_MAX_REGRESSION_PCT
) -> SiteSummary:
    """Write the whole site for `data` under `out`."""
    start = time.perf_counter()
    out = Path(out)
    js = plotly_js()
    models = model_series(data, max_regression_pct)
    write_bytes(out / "assets" / "plotly.min.js", js)
    write_text(out / "assets" / "site.css", SITE_CSS)
    pages = 0
    for model, series in models.items():
        html, figures = model_page(model, series, out)
        slug = model_slug(model)
        write_text(out / "models" / f"{slug}.html", html)
        write_json(out / "data" / "models" / f"{slug}.json", {"model": model, "figures": figures})
        pages += 1
    devices_html, devices = devices_page(data)
    kernels_html, kernels = kernels_page(data.kernels, data.runs)
    write_text(out / "devices.html", devices_html)
    write_text(out / "kernels.html", kernels_html)
    write_json(out / "data" / "devices.json", devices)
    write_json(out / "data" / "kernels.json", kernels)
    regressions = sum(len(s.regressions) for ss in models.values() for s in ss)
    write_json(out / "data" / "index.json", {
        "runs": [r.__dict__ for r in sorted(data.runs.values(), key=lambda r: (r.created_at, r.run_id))],
        "models": {m: {"page": f"models/{model_slug(m)}.html", "configurations": [s.label for s in ss],
                       "regressions": sum(len(s.regressions) for s in ss)} for m, ss in models.items()},
        "max_regression_pct": max_regression_pct,
    })  # fmt: skip
    write_text(out / "index.html", index_page(data, models, out))  # last: a site is whole once its index is
    return SiteSummary(
        str(out), len(data.runs), len(models), pages + 4, regressions, time.perf_counter() - start
    )
