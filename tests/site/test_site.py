"""`benchbench site`: trends over commits with the gate's regressions, devices side by side, kernel boards."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from history_maker import SLOW_FROM, fake_run, make_history

from benchbench.core.schema import write
from benchbench.site.build import build_site
from benchbench.site.data import load_site_data
from benchbench.site.pages import model_slug

N_RUNS = 1000


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site built from a 1,000-run history: two devices, 500 commits, one injected 30% slowdown."""
    root = tmp_path_factory.mktemp("site")
    db = make_history(root / "history.sqlite", N_RUNS)
    start = time.perf_counter()
    summary = build_site(load_site_data(db, []), root / "site")
    elapsed = time.perf_counter() - start
    print(f"site of {N_RUNS} runs built in {elapsed:.2f} s")  # the figure; timing is not asserted
    return root / "site", summary


def test_a_thousand_runs_make_every_page(site):
    out, summary = site
    assert (summary.runs, summary.models) == (N_RUNS, 3)
    for page in ("index.html", "devices.html", "kernels.html", "assets/plotly.min.js", "assets/site.css"):
        assert (out / page).is_file(), page
    for model in ("mlp", "resnet18", "bert"):
        html = (out / "models" / f"{model_slug(model)}.html").read_text()
        assert "Plotly.newPlot('plot-p50'" in html and "../assets/plotly.min.js" in html
        data = json.loads((out / "data" / "models" / f"{model_slug(model)}.json").read_text())
        traces = data["figures"]["p50"]["traces"]
        lines = [t for t in traces if t.get("mode") == "lines+markers"]
        assert len(lines) == 2 and all(len(t["x"]) == N_RUNS // 2 for t in lines)  # one series per device
        assert any(t.get("fill") == "tonexty" for t in traces)  # the CI band
    index = json.loads((out / "data" / "index.json").read_text())
    assert len(index["runs"]) == N_RUNS


def test_the_gate_marks_exactly_the_injected_regression(site):
    out, summary = site
    assert summary.regressions == 1
    data = json.loads((out / "data" / "models" / f"{model_slug('resnet18')}.json").read_text())
    (marks,) = [t for t in data["figures"]["p50"]["traces"] if t.get("name", "").endswith("regression")]
    first_slow = f"run-{int(SLOW_FROM * N_RUNS):05d}"
    assert len(marks["x"]) == 1 and "Mann-Whitney" in marks["text"][0]
    html = (out / "models" / f"{model_slug('resnet18')}.html").read_text()
    assert first_slow in html and "p50 ×1.3" in html
    for model in ("mlp", "bert"):
        assert "None: no run is slower" in (out / "models" / f"{model_slug(model)}.html").read_text()


def test_devices_side_by_side_and_a_kernel_leaderboard(site):
    out, _ = site
    devices = json.loads((out / "data" / "devices.json").read_text())
    assert {d["model"] for d in devices} == {"mlp", "resnet18", "bert"}
    assert all(set(d["p50_ms"]) == {"cpu", "cuda:NVIDIA H100 80GB HBM3"} for d in devices)
    boards = json.loads((out / "data" / "kernels.json").read_text())
    attention = next(b for b in boards if b["op"] == "attention")
    assert [r["impl"] for r in attention["rows"]] == ["triton", "sdpa", "eager"]  # fastest first


def test_strings_from_runs_are_inert_in_every_page(tmp_path):
    run = fake_run(0, 1, __import__("random").Random(0))
    hostile = "<script>alert(1)</script>\x1b[2J\u202eRED\n# heading"
    for p in run.profiles:
        p.model = hostile + p.model
    run.device = hostile
    folder = tmp_path / "run"
    write(folder / "results.json", run)
    (folder / "report.html").write_text("<html></html>")
    build_site(load_site_data(None, [folder]), tmp_path / "site")
    for page in (tmp_path / "site").rglob("*.html"):
        text = page.read_text()
        assert "<script>alert" not in text and "\x1b" not in text and "\u202e" not in text, page
    index = (tmp_path / "site" / "index.html").read_text()
    assert "../run/report.html" in index.replace("%2F", "/") or "run/report.html" in index


def test_no_runs_and_a_file_as_out_are_one_line(cli, tmp_path):
    code, _, err = cli(["site", "--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "s")])
    assert code == 2 and "no history database" in err
    f = tmp_path / "f"
    f.write_text("x")
    code, _, err = cli(["site", "--no-history", "--results", str(f), "--out", str(f)])
    assert code == 2


def test_the_command_builds_from_a_history(cli, tmp_path):
    db = make_history(tmp_path / "h.sqlite", 6)
    code, out, _ = cli(
        ["site", "--db", str(db), "--out", str(tmp_path / "s"), "--json", str(tmp_path / "s.json")]
    )
    assert code == 0 and "6 runs" in out
    assert json.loads((tmp_path / "s.json").read_text())["runs"] == 6


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs headless Chromium (apt-get install chromium)"
)
def test_plots_render_in_headless_chromium(site):
    out, _ = site
    page = out / "models" / f"{model_slug('resnet18')}.html"
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    assert dom.count('class="main-svg"') >= 2  # Plotly drew the figures
