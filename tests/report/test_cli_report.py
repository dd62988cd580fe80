"""`benchbench report` on a run folder writes Markdown and HTML."""

from __future__ import annotations

from benchbench.cli import main
from benchbench.core.schema import write


def test_report_cli_on_a_run_folder(small_run, tmp_path):
    write(tmp_path / "results.json", small_run)
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").read_text().startswith("# benchbench run")
    assert (
        main(
            ["report", str(tmp_path / "results.json"), "--format", "html", "--out", str(tmp_path / "r.html")]
        )
        == 0
    )
    assert '<section id="roofline">' in (tmp_path / "r.html").read_text()


def test_report_cli_missing_file(tmp_path):
    assert main(["report", str(tmp_path / "nope")]) == 2
