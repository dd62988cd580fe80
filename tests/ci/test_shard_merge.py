"""Scale-out: shards 1/2 and 2/2 cover the suite exactly once, and `merge` recombines them (or refuses)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from benchbench.ci.merge import merge_runs
from benchbench.cli import main
from benchbench.core.results import Shard
from benchbench.record.run import load_run
from benchbench.runs.jobs import plan_jobs
from benchbench.runs.suite import shard_of

from .conftest import MINI


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_shard_of_partitions_any_list(n: int) -> None:
    items = list(range(11))
    parts = [shard_of(items, Shard.parse(f"{i}/{n}")) for i in range(1, n + 1)]
    assert sorted(x for p in parts for x in p) == items


def test_two_shards_cover_the_suite_exactly_once(shard_runs) -> None:
    a, b = (load_run(s) for s in shard_runs)
    assert (a.shard, b.shard) == ("1/2", "2/2")
    seen = Counter((p.model, p.size) for p in a.profiles + b.profiles)
    assert seen == Counter((j.model, j.size) for j in plan_jobs(MINI.settings()))
    assert all(v == 1 for v in seen.values())
    assert all(p.ok for p in a.profiles + b.profiles)


def test_merge_recombines(merged_run, shard_runs) -> None:
    merged = load_run(merged_run)
    assert merged.shard is None and merged.suite == "mini"
    assert sorted(p.model for p in merged.profiles) == sorted(j.model for j in plan_jobs(MINI.settings()))
    assert (
        sorted(j.key for j in merged.jobs) == sorted(j.key for j in plan_jobs(MINI.settings()))
        and not merged.missing
    )
    assert (merged_run / "report.md").is_file()
    assert merged.env["merged_from"] == [load_run(s).run_id for s in shard_runs]


def test_merge_cli(shard_runs, tmp_path, capsys) -> None:
    assert main(["merge", *map(str, shard_runs), "--out", str(tmp_path / "m")]) == 0
    assert "3 profiles" in capsys.readouterr().out
    assert main(["merge", *map(str, shard_runs), "--out", str(tmp_path / "m")]) == 2  # will not overwrite


def test_merge_rejects_overlap_duplicates_missing_and_mismatch(shard_runs, tmp_path, capsys) -> None:
    a = load_run(shard_runs[0])
    with pytest.raises(ValueError, match=r"shard 1/2 given twice"):
        merge_runs([a, a], ["x", "y"])
    with pytest.raises(ValueError, match=r"missing shard\(s\) 2/2"):
        merge_runs([a], ["x"])
    b_overlap = load_run(shard_runs[1])
    b_overlap.profiles.append(a.profiles[0])
    with pytest.raises(ValueError, match=rf"shards overlap: {a.profiles[0].model}"):
        merge_runs([a, b_overlap], ["x", "y"])
    b_other = load_run(shard_runs[1])
    b_other.device = "cuda"
    with pytest.raises(ValueError, match="device 'cuda' differs"):
        merge_runs([a, b_other], ["x", "y"])
    b_split = load_run(shard_runs[1])
    b_split.shard = "2/3"
    with pytest.raises(ValueError, match="split the suite differently"):
        merge_runs([a, b_split], ["x", "y"])
    dup = tmp_path / "dup"
    shutil.copytree(shard_runs[0], dup)
    assert main(["merge", str(shard_runs[0]), str(dup), "--out", str(tmp_path / "m")]) == 2
    assert "given twice" in capsys.readouterr().err


def test_compare_runs(write_run, capsys) -> None:
    base = write_run("a", {"mlp": (2.0, 0.02), "cnn": (5.0, 0.02)}, seed=1)
    new = write_run("b", {"mlp": (2.4, 0.02), "cnn": (5.0, 0.02)}, seed=2)
    assert main(["compare", str(base), str(new)]) == 0
    out = capsys.readouterr().out
    (mlp,) = [line for line in out.splitlines() if "│ mlp" in line]
    (cnn,) = [line for line in out.splitlines() if "│ cnn" in line]
    assert "slower" in mlp and "1.2" in mlp
    assert "no significant change" in cnn


def test_compare_disjoint_runs_exit_2(write_run) -> None:
    assert (
        main(["compare", str(write_run("a", {"mlp": (2.0, 0.02)})), str(write_run("b", {"x": (2.0, 0.02)}))])
        == 2
    )
