"""User models given as `pkg.module:factory` or `file.py:factory`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from benchbench.cli import main
from benchbench.core.errors import BadInputError
from benchbench.measure.profile import profile
from benchbench.measure.sweep import sweep
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import load_target, make_inputs

HERE = Path(__file__).parent
FILE = HERE / "user_model.py"
FAST = TimingConfig(warmup=1, min_repeats=2, min_time_s=0)
MACS_PER_ROW = 12 * 24 + 24 * 5


@pytest.fixture
def on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


@pytest.mark.parametrize("spec", ["user_model:make_model", f"{FILE}:make_model"])
def test_model_with_example_inputs(spec, on_path):
    t = load_target(spec, batch_size=4)
    assert t.size == "user" and t.batch_size == 4 and t.inputs[0].shape == (4, 12)
    assert make_inputs(t, 7)[0].shape == (7, 12)


def test_pair_factory_keeps_its_batch_unless_asked_and_repeats_its_inputs_for_others(on_path):
    t = load_target("user_model:make_pair", batch_size=None)
    assert t.batch_size == 3 and t.fixed_batch == 3  # no batch asked: the factory's inputs decide
    t = load_target("user_model:make_pair", batch_size=5)  # asked: made by repeating the 3 rows along axis 0
    assert t.batch_size == 5 and t.fixed_batch == 3 and "repeating its inputs along axis 0" in t.notes[0]
    assert torch.equal(t.inputs[0][3:], t.inputs[0][:2])
    assert make_inputs(t, 8)[0].shape == (8, 12)


def test_factory_taking_batch_size_sweeps(on_path):
    t = load_target("user_model:make_sized", batch_size=6)
    assert t.batch_size == 6
    recs = sweep(t, batch_sizes=[1, 2], timing=FAST)
    assert [r.batch_size for r in recs] == [1, 2]


def test_profile_of_a_user_model_counts_its_macs(on_path):
    r = profile("user_model:make_model", batch_size=2, timing=FAST)
    assert r.ok, r.errors
    assert r.model == "user_model:make_model" and r.modality == "user"
    assert r.flops.macs == 2 * MACS_PER_ROW
    assert r.memory.activation_bytes_train == 2 * (12 + 24) * 4
    assert [row.name for row in r.layers] == ["", "fc1", "act", "fc2"]


def test_cli_with_a_file_path(tmp_path, capsys):
    assert (
        main(["profile", f"{FILE}:make_model", "--batch-size", "1,2", "--json", str(tmp_path / "u.json")])
        == 0
    )
    assert "latency sweep" in capsys.readouterr().out


@pytest.mark.parametrize("spec,message", [
    ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
    ("user_model:nope", "unknown factory in user_model: 'nope'"),
    ("user_model:NOT_CALLABLE", "is a int, not a callable factory"),
    ("user_model:make_nothing", "must return (model, inputs) or a model with example_inputs"),
    ("user_model:", "pkg.module:factory"),
    ("missing_file.py:make", "no such file"),
])  # fmt: skip
def test_bad_user_models(spec, message, on_path):
    with pytest.raises(BadInputError) as exc:
        load_target(spec)
    assert message in str(exc.value)


def test_example_inputs_are_reproducible(on_path):
    a = load_target("user_model:make_model", batch_size=2).inputs[0]
    b = load_target("user_model:make_model", batch_size=2).inputs[0]
    assert torch.equal(a, b)
