"""The one correctness check: tolerance by dtype, shape and count mismatches, and no pass for NaN."""

import numpy as np
import pytest
import torch

from benchbench.core.parity import TOLERANCES, check_outputs, check_tensor, merge_cases


@pytest.fixture
def ref():
    return np.linspace(-1, 1, 100, dtype=np.float32).reshape(10, 10)


def test_tolerance_is_per_dtype_and_the_worst_elements_are_reported(ref):
    off = ref.copy()
    off[3, 4] += 5e-4  # outside the fp32 strict bound, inside the loose one
    strict = check_tensor(off, ref)
    assert not strict.ok and strict.ok_loose and strict.n_bad == 1
    assert strict.worst[0].index == [3, 4] and strict.max_abs == pytest.approx(5e-4, rel=1e-3)
    assert "1 of 100 elements outside" in strict.reason
    assert check_tensor(off, ref, dtype="float16").ok
    assert strict.tol == TOLERANCES["float32"][0]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_a_non_finite_value_where_the_reference_is_finite_fails_with_its_reason(ref, bad, dtype):
    got = torch.from_numpy(ref.copy()).to(dtype)
    got[7, 2] = bad
    r = check_tensor(got, torch.from_numpy(ref), name="output 0")
    assert not r.ok and not r.ok_loose
    word = "NaN" if bad != bad else "infinity"
    assert r.reason.startswith(f"{word} in output 0") and r.worst[0].index == [7, 2]


def test_nan_where_the_reference_has_nan_agrees_and_a_number_there_does_not(ref):
    want = ref.copy()
    want[0, 0] = np.nan
    assert check_tensor(want.copy(), want).ok
    got = want.copy()
    got[0, 0] = 1.0
    assert "finite where the reference is NaN" in check_tensor(got, want).reason


def test_an_all_nan_output_fails_even_with_huge_tolerances(ref):
    from benchbench.core.results import Tolerance

    r = check_tensor(np.full_like(ref, np.nan), ref, tol=Tolerance(1e30, 1e30))
    assert not r.ok and r.reason.startswith("NaN")


def test_shape_and_count_mismatches_fail(ref):
    r = check_tensor(ref[:5], ref)
    assert not r.ok and "shape (5, 10) != reference (10, 10)" in r.reason
    p = check_outputs([ref], [ref, ref])
    assert not p.ok and "1 outputs where the reference has 2" in p.reason


def test_integer_outputs_must_be_equal():
    want = np.arange(6)
    assert check_tensor(want.copy(), want).ok
    got = want.copy()
    got[2] += 1
    assert not check_tensor(got, want).ok


def test_merging_cases_keeps_the_failing_case(ref):
    good = check_outputs([ref], [ref], names=["y"], case={"batch_size": 1})
    bad = check_outputs([ref + 1], [ref], names=["y"], case={"batch_size": 5})
    merged = merge_cases([good, bad])
    assert not merged.ok and merged.outputs[0].case == {"batch_size": 5}
    assert merged.cases == [{"batch_size": 1}, {"batch_size": 5}]
