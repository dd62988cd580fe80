"""A stage is a plug-in: one file declares a toy stage and registers it once, and with no other edit it runs in a
real `benchbench run` (in its worker processes), lands in results.json, shows in report.md and report.html, and
its budget key is accepted by the budgets file and checked by `gate` (pass and fail)."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from benchbench.core.stage import STAGES

MODULE = "toy_nonzero_stage"

# The whole plug-in: its record, its measurement, its report section, its budget key, one registration.
TOY_STAGE = textwrap.dedent("""
    from dataclasses import dataclass

    from benchbench.core.stage import BudgetMetric, stage
    from benchbench.report.document import Section, Table


    @dataclass
    class NonzeroShare:
        share: float  # nonzero parameter elements / all parameter elements
        elements: int


    def toy_section(run):
        rows = [[p.model, f"{p.toy_nonzero.share:.3f}", str(p.toy_nonzero.elements)]
                for p in run.profiles if p.toy_nonzero is not None]
        return Section("toy_nonzero", "Toy: nonzero weights", [Table(["model", "nonzero share", "elements"], rows)])


    def _share(p):
        return p.toy_nonzero.share if p.toy_nonzero is not None else None


    @stage("toy_nonzero", record=NonzeroShare, section=toy_section, order=95,
           budgets={"toy_nonzero_share_min": BudgetMetric(_share, "min")})
    def toy_stage(target, result, ctx):
        params = list(target.model.parameters())
        total = sum(p.numel() for p in params)
        return NonzeroShare(share=sum(int((p != 0).sum()) for p in params) / total, elements=total)
""")


@pytest.fixture
def toy_plugin(tmp_path, monkeypatch):
    """The toy stage's file on the import path (the run's spawned workers inherit it); forgotten afterwards."""
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(TOY_STAGE)
    monkeypatch.syspath_prepend(str(folder))
    yield MODULE
    import benchbench.stages

    STAGES.remove("toy_nonzero")
    benchbench.stages._loaded.discard(MODULE)
    sys.modules.pop(MODULE, None)


def _budgets(path, body: str) -> str:
    path.write_text(f"[[budget]]\nmodel = 'mlp'\n{body}\n")
    return str(path)


def test_a_toy_stage_in_one_file_runs_reports_and_gates(toy_plugin, cli, tmp_path):
    suite = tmp_path / "toy.toml"
    suite.write_text('models = ["mlp"]\nstages = ["toy_nonzero"]\njob_timeout_s = 120\n'
                     "[timing]\nwarmup = 1\nmin_repeats = 3\nmax_repeats = 5\nmin_time_s = 0.0\n")  # fmt: skip
    code, _, err = cli(["--plugin", toy_plugin, "run", "--suite-file", str(suite), "--out", str(tmp_path / "out"),
                        "--no-history"])  # fmt: skip
    assert code == 0, err
    (run_dir,) = (tmp_path / "out").iterdir()

    profile = json.loads((run_dir / "results.json").read_text())["profiles"][0]
    assert profile["errors"] == []
    record = profile["toy_nonzero"]  # a top-level key of the profile, as the built-in stages' records are
    assert 0.5 < record["share"] <= 1.0 and record["elements"] > 0
    assert "export" not in profile and "health" not in profile  # only the stage asked for ran
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["settings"]["plugins"] == [toy_plugin]  # what each worker imported

    md, html = (run_dir / "report.md").read_text(), (run_dir / "report.html").read_text()
    share = f"{record['share']:.3f}"
    assert "Toy: nonzero weights" in md and share in md
    assert "Toy: nonzero weights" in html and share in html
    assert md.index("Inference cost") < md.index("Toy: nonzero weights") < md.index("Architecture diagrams")

    gate = ["--plugin", toy_plugin, "gate", str(run_dir), "--budgets"]
    passing = _budgets(tmp_path / "pass.toml", f"toy_nonzero_share_min = {record['share'] * 0.9}")
    code, out, err = cli([*gate, passing])
    assert code == 0, err
    assert "toy_nonzero_share_min" in out
    failing = _budgets(tmp_path / "fail.toml", "toy_nonzero_share_min = 1.5")
    code, out, err = cli([*gate, failing])
    assert code == 1, out + err

    typo = _budgets(tmp_path / "typo.toml", "toy_nonzero_shares_min = 0.5")
    code, _, err = cli([*gate, typo])
    assert code == 2 and "unknown key 'toy_nonzero_shares_min'" in err and "toy_nonzero_share_min" in err


def test_the_budgets_schema_takes_a_registered_stage_key_and_refuses_an_unknown_one(toy_plugin, tmp_path):
    from benchbench.ci.budgets import load_budgets
    from benchbench.core.errors import BadInputError
    from benchbench.stages import load_plugins

    load_plugins([toy_plugin])
    (b,) = load_budgets(_budgets(tmp_path / "b.toml", "toy_nonzero_share_min = 0.5"))
    assert b.limits == {"toy_nonzero_share_min": 0.5}
    with pytest.raises(BadInputError, match="key 'toy_nonzero_share_min' must be a finite number > 0"):
        load_budgets(_budgets(tmp_path / "neg.toml", "toy_nonzero_share_min = -1"))
    with pytest.raises(
        BadInputError, match=r"unknown key 'toy_nonzero_typo'; allowed: .*toy_nonzero_share_min"
    ):
        load_budgets(_budgets(tmp_path / "typo.toml", "toy_nonzero_typo = 1"))


def test_a_stage_name_or_budget_key_is_registered_once(toy_plugin):
    from benchbench.core.stage import BudgetMetric, stage
    from benchbench.stages import load_plugins

    load_plugins([toy_plugin])
    with pytest.raises(ValueError, match="registered twice"):
        stage("toy_nonzero", record=dict)(lambda target, result, ctx: {})
    with pytest.raises(ValueError, match="already another stage's"):
        stage("toy_other", record=dict, budgets={"toy_nonzero_share_min": BudgetMetric(lambda p: 1.0)})(len)
    assert "toy_other" not in STAGES
