"""Hostile strings from a user factory (its file name, its exception) reach no sink raw: terminal, report.md,
report.html, every SVG (parsed as XML), the JUnit file, the gate summary, history and compare output."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from benchbench.record.run import load_run

HOSTILE_ERROR = "\x1b[2J\x1b[31mRED\x00\x07\u202eevil <script>alert(1)</script>"
# a file name with a newline and a heading after it, ESC and a bidi override
HOSTILE_FILE = "net\n# INJECTED\x1b[31m\u202e.py"
FACTORIES = """
import torch
from torch import nn


def make(batch_size: int = 2):
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), (torch.randn(batch_size, 4),)


def boom(batch_size: int = 2):
    raise RuntimeError({error!r})
"""
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # tab and newline allowed


def _clean(text: str, where: str) -> None:
    assert not RAW.search(text), (where, RAW.findall(text))
    for line in text.splitlines():
        assert "INJECTED" not in line or not line.lstrip().startswith("#"), (where, line)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, str]:
    from benchbench.cli import main

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "1000"  # rich wraps at spaces: a wide console shows each line whole

    tmp = tmp_path_factory.mktemp("hostile")
    source = tmp / HOSTILE_FILE
    source.write_text(FACTORIES.format(error=HOSTILE_ERROR))
    out = tmp / "out"
    import contextlib
    import io

    buf_out, buf_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        code = main(["run", "--suite", "smoke", "--models", f"{source}:make,{source}:boom", "--out", str(out),
                     "--no-history"])  # fmt: skip
    if columns is None:
        del os.environ["COLUMNS"]
    else:
        os.environ["COLUMNS"] = columns
    assert code == 1  # one model failed
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir, buf_out.getvalue() + buf_err.getvalue()


def test_the_run_terminal_output_and_its_reports_hold_no_raw_control_or_heading(hostile_run):
    run_dir, terminal = hostile_run
    assert "\\x1b[2J" in terminal  # the error is shown, as text
    _clean(terminal, "terminal")
    run = load_run(run_dir)
    assert any(p.errors or not p.ok for p in run.profiles)
    md = (run_dir / "report.md").read_text()
    _clean(md, "report.md")
    assert "\\# INJECTED" in md or "INJECTED" in md  # the name is there, shown as text
    html = (run_dir / "report.html").read_text()
    _clean(html, "report.html")
    assert "<script>alert" not in html
    svgs = list(run_dir.rglob("*.svg"))
    assert svgs
    for svg in svgs:
        _clean(svg.read_text(), svg.name)
        ET.parse(svg)  # well-formed XML
    for svg in re.findall(r"<svg.*?</svg>", html, re.DOTALL):
        ET.fromstring(svg)


def test_gate_junit_summary_history_and_compare_keep_them_inert(hostile_run, tmp_path, cli):
    run_dir, _ = hostile_run
    budgets = tmp_path / "b.toml"
    budgets.write_text("[[budget]]\np50_ms = 0.000001\n")  # every check fails, so the notes are printed
    junit, summary = tmp_path / "j.xml", tmp_path / "s.md"
    code, out, err = cli(["gate", str(run_dir), "--budgets", str(budgets), "--junit", str(junit),
                          "--summary", str(summary)])  # fmt: skip
    assert code == 1
    _clean(out + err, "gate terminal")
    _clean(junit.read_text(), "junit")
    ET.parse(junit)
    _clean(summary.read_text(), "summary")
    code, out, err = cli(["history", "add", str(run_dir)])
    assert code == 0, err
    code, out, err = cli(["history"])
    assert code == 0
    _clean(out + err, "history")
    code, out, err = cli(["compare", str(run_dir), str(run_dir)])
    _clean(out + err, "compare")


def test_the_one_line_error_is_inert(cli, tmp_path):
    code, _, err = cli(["profile", f"{tmp_path / 'no'}\x1b[2J\u202e.py:f"])
    assert code == 2
    _clean(err, "error line")


def test_plot_tick_labels_from_names_are_inert(recwarn):
    """Tick labels given as strings are drawn from a formatter, after the figure's texts were cleaned."""
    from benchbench.measure.records import LatencyStats, ProfileResult
    from benchbench.record.run import RunResult
    from benchbench.report.plots import latency_distribution_svg

    lat = LatencyStats.from_samples([1.0, 1.1, 1.2, 0.9, 1.0])
    names = [HOSTILE_FILE, "bad\x07name $x$"]
    run = RunResult(
        "t", "cpu", [ProfileResult(n, "image", "tiny", 1, "cpu", "float32", latency=lat) for n in names]
    )
    svg = latency_distribution_svg(run)
    ET.fromstring(svg)
    _clean(svg, "latency distribution")
    assert not [w for w in recwarn if "Glyph" in str(w.message)]  # no control character reached the font
