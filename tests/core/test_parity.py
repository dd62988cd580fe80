"""The one correctness check: relative error by dtype, shape and count mismatches, no pass for NaN, and no
verdict on a reference too small or too flat to show a wrong answer."""

import numpy as np
import pytest
import torch

from benchbench.core.parity import (
    TOLERANCES,
    check_outputs,
    check_tensor,
    floor_for,
    merge_cases,
    reinitialised,
)
from benchbench.core.results import Tolerance


@pytest.fixture
def ref():
    return np.linspace(-1, 1, 100, dtype=np.float32).reshape(10, 10)


def _off_by(ref: np.ndarray, rel: float) -> np.ndarray:
    """`ref` with one element moved so that ||got - ref|| / ||ref|| == rel."""
    off = ref.astype(np.float64)
    off[3, 4] += rel * np.linalg.norm(ref)
    return off


def test_tolerance_is_a_relative_error_per_dtype_and_the_worst_elements_are_reported(ref):
    off = _off_by(ref, 5e-4)  # outside the fp32 strict bound (1e-4), inside the loose one (1e-3)
    strict = check_tensor(off, ref, dtype="float32")
    assert not strict.ok and strict.ok_loose and strict.verdict == "loose" and strict.n_bad == 1
    assert strict.rel_err == pytest.approx(5e-4, rel=1e-6)
    assert strict.worst[0].index == [3, 4] and strict.max_abs == pytest.approx(5e-4 * np.linalg.norm(ref))
    assert "relative error 0.0005" in strict.reason and "above 0.0001 for float32" in strict.reason
    assert check_tensor(off, ref, dtype="float16").ok
    assert strict.tol == TOLERANCES["float32"][0]
    assert not check_tensor(_off_by(ref, 2e-3), ref, dtype="float32").ok_loose


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e9])
def test_the_verdict_does_not_depend_on_the_scale(ref, scale):
    """One relative error, one verdict, at any scale above the floor; an absolute tolerance could not do this."""
    want = ref.astype(np.float64) * scale
    assert check_tensor(_off_by(want, 5e-5), want, dtype="float32").verdict == "ok"
    assert check_tensor(_off_by(want, 5e-4), want, dtype="float32").verdict == "loose"
    assert check_tensor(_off_by(want, 5e-2), want, dtype="float32").verdict == "fail"


@pytest.mark.parametrize("got_is", ["equal", "close", "wrong"])
def test_a_numerically_zero_reference_is_inconclusive_never_ok(ref, got_is):
    want = (
        ref.astype(np.float64) * 1e-17
    )  # random-init outputs of torchvision's EfficientNet-B0 are about this
    got = {"equal": want, "close": want * (1 + 1e-6), "wrong": want * 3}[got_is]
    r = check_tensor(got, want, dtype="float32")
    assert not r.ok and not r.ok_loose and r.verdict == "inconclusive"
    assert "below the float32 floor" in r.inconclusive and r.reason == r.inconclusive
    assert r.ref_rms < floor_for("float32") < 1e-11
    assert check_outputs([got], [want], dtype="float32").verdict == "inconclusive"


def test_a_constant_reference_is_inconclusive_unless_the_output_misses_it():
    want = np.full((4, 5), 0.25)
    assert check_tensor(want.copy(), want, dtype="float32").verdict == "inconclusive"
    assert "constant (0.25 throughout)" in check_tensor(want.copy(), want, dtype="float32").reason
    assert check_tensor(want + 0.1, want, dtype="float32").verdict == "fail"  # an error at a real scale
    assert check_tensor(np.array([0.25]), np.array([0.25]), dtype="float32").verdict == "ok"  # one element


def test_failure_outranks_inconclusive_and_inconclusive_outranks_ok(ref):
    tiny = ref * 1e-20
    mixed = check_outputs([ref, tiny], [ref, tiny], names=["a", "b"], dtype="float32")
    assert mixed.verdict == "inconclusive" and not mixed.ok and mixed.reason.startswith("b: reference RMS")
    failing = check_outputs([ref + 1, tiny], [ref, tiny], names=["a", "b"], dtype="float32")
    assert failing.verdict == "fail" and failing.reason.startswith("a: relative error")
    merged = merge_cases(
        [check_outputs([ref], [ref], names=["y"]), check_outputs([tiny], [tiny], names=["y"])]
    )
    assert merged.verdict == "inconclusive"


def test_reinitialised_gives_unit_scale_weights_and_puts_the_originals_back():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, groups=8), torch.nn.Linear(5, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e-9)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with reinitialised(model) as n:
        assert n == 2  # the two weights; the biases are kept
        assert model[0].weight.std().item() == pytest.approx(
            1 / 3, rel=0.3
        )  # fan_in 1 x 3 x 3, not 8 x 3 x 3
        assert torch.equal(model[0].bias, before["0.bias"])
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


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


@pytest.mark.parametrize("want_bad", [float("inf"), float("nan")])
def test_an_infinity_where_the_reference_has_the_other_infinity_or_nan_fails_with_its_reason(ref, want_bad):
    want = ref.copy()
    want[3, 4] = want_bad
    got = ref.copy()
    got[3, 4] = -np.inf
    for tol in (None, Tolerance(1e-3, 1e-3)):  # the relative verdict and the elementwise one
        r = check_tensor(got, want, tol=tol)
        assert not r.ok and not r.ok_loose
        assert r.reason.startswith("infinity in output 0 (1 of 100 elements) where the reference is NaN or")
        assert r.worst[0].index == [3, 4]
