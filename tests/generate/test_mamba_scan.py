"""The chunked selective scan (the eager default) against the step-by-step loop (the oracle): equal within the
dtype's tolerance on awkward lengths, the same MACs counted, and the decode state equal to the loop's last state."""

import pytest
import torch

from benchbench.kernels.registry import route_kernels
from benchbench.kernels.selective_scan import selective_scan_loop, selective_scan_ref
from benchbench.measure.flops import dispatch_count
from benchbench.models.mamba import scan_final_state
from benchbench.models.registry import get_model_spec

TOL = {torch.float32: 2e-5, torch.bfloat16: 2e-2, torch.float16: 5e-3}


def _inputs(b, d, length, n, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(b, d, length, generator=g).to(dtype)
    delta = torch.randn(b, d, length, generator=g).to(dtype)
    A = -torch.rand(d, n, generator=g) * 8 - 0.1  # fast and slow decays
    B, C = (torch.randn(b, n, length, generator=g).to(dtype) for _ in range(2))
    kw = {"D": torch.randn(d, generator=g), "z": torch.randn(b, d, length, generator=g).to(dtype),
          "delta_bias": torch.randn(d, generator=g), "delta_softplus": True}  # fmt: skip
    return (u, delta, A, B, C), kw


@pytest.mark.parametrize("length", [1, 2, 3, 5, 17, 63, 64, 65, 130, 257])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_chunked_scan_equals_the_loop(length, dtype):
    args, kw = _inputs(2, 3, length, 5, dtype, seed=length)
    y, oracle = selective_scan_ref(*args, **kw), selective_scan_loop(*args, **kw)
    assert y.dtype == dtype and y.shape == oracle.shape == (2, 3, length)
    assert torch.isfinite(y).all()
    scale = max(1.0, oracle.float().abs().max().item())
    tol = TOL[dtype]
    torch.testing.assert_close(y.float(), oracle.float(), atol=tol * scale, rtol=tol)


def test_chunked_scan_without_optional_inputs():
    (u, delta, A, B, C), _ = _inputs(1, 4, 40, 3, torch.float32, seed=1)
    args = (u, delta.abs(), A, B, C)  # Δ > 0, as after the softplus
    torch.testing.assert_close(selective_scan_ref(*args), selective_scan_loop(*args), atol=1e-5, rtol=1e-5)


def test_final_state_equals_the_loops_last_state():
    (u, delta, A, B, _), _ = _inputs(2, 3, 37, 4, torch.float32, seed=2)
    delta = torch.nn.functional.softplus(delta)
    h = torch.zeros(2, 3, 4)
    for t in range(u.shape[-1]):
        h = (
            torch.exp(delta[:, :, t, None] * A) * h
            + (delta[:, :, t] * u[:, :, t])[..., None] * B[:, None, :, t]
        )
    torch.testing.assert_close(scan_final_state(u, delta, A, B), h, atol=1e-5, rtol=1e-5)


def test_mamba_forward_and_macs_unchanged_by_the_chunked_scan():
    spec = get_model_spec("mamba")
    torch.manual_seed(0)
    model = spec.build("tiny").eval()
    (ids,) = spec.example_inputs("tiny", 2, 45, seed=0)
    with torch.no_grad():
        chunked = model(ids)
        with route_kernels(selective_scan=selective_scan_loop):
            looped = model(ids)
    torch.testing.assert_close(chunked, looped, atol=1e-4, rtol=1e-4)
    counted = dispatch_count(model, (ids,))  # the scan counted as a unit, whatever form runs inside
    assert sum(counted.own_macs.values()) == spec.analytic_macs(spec.config("tiny"), 2, 45)
    scan = counted.macs_by_op["selective_scan"]
    cfg = spec.config("tiny")
    assert scan == cfg.layers * 2 * 2 * cfg.d_inner * 45 * cfg.d_state  # 2·B·D·L·N per layer


@pytest.mark.parametrize("step", [30, 30_000], ids=["channel-blocks-3-3-1", "8-chunks-of-5"])
@pytest.mark.parametrize("autograd", [False, True], ids=["buffers", "out-of-place"])
def test_every_plan_of_the_scan_equals_the_loop(monkeypatch, step, autograd):
    """Batch 2, 7 channels, state 5, a length (37) no chunk or block divides: the scan in blocks of channels (3, 3,
    1) over the whole length, or in 8 chunks of 5 steps; both forms of the steps (buffers reused under no_grad, as
    the op runs, and out of place, as autograd runs)."""
    from benchbench.kernels import selective_scan

    monkeypatch.setattr(selective_scan, "STEP_ELEMENTS", step)
    size, block = selective_scan._scan_plan(2, 7, 37, 5)
    assert (size, block) == ((37, 3) if step == 30 else (5, 7))
    (u, delta, A, B, C), _ = _inputs(2, 7, 37, 5, torch.float32, seed=3)
    delta = torch.nn.functional.softplus(delta)
    with torch.no_grad():
        y = selective_scan._chunked_scan(u, delta, A, B, C, autograd=autograd)
    oracle = selective_scan_loop(u, delta, A, B, C)
    scale = max(1.0, oracle.abs().max().item())
    torch.testing.assert_close(y, oracle, atol=TOL[torch.float32] * scale, rtol=TOL[torch.float32])


def test_chunked_scan_at_extreme_decays_and_empty_length():
    """Δ from softplus(±40): steps that forget everything (exp(ΔA) underflows to 0) and steps that keep it all;
    no NaN or inf from the chunk ends' decays; a NaN input carried forward as the loop carries it; a length of 0."""
    (u, delta, A, B, C), kw = _inputs(2, 4, 50, 16, torch.float32, seed=4)
    delta = 40 * torch.sign(delta)
    A = A * 2  # down to -16
    y, oracle = selective_scan_ref(u, delta, A, B, C, **kw), selective_scan_loop(u, delta, A, B, C, **kw)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y, oracle, atol=TOL[torch.float32] * oracle.abs().max().item(), rtol=1e-5)
    u[1, 2, 20] = float("nan")  # NaN is carried from where it enters, as by the loop, never hidden
    y, oracle = selective_scan_ref(u, delta, A, B, C, **kw), selective_scan_loop(u, delta, A, B, C, **kw)
    assert torch.isnan(y[1, 2, 20:]).all() and torch.equal(torch.isnan(y), torch.isnan(oracle))
    empty, kw = _inputs(2, 3, 0, 4, torch.float32, seed=5)
    assert selective_scan_ref(*empty, **kw).shape == selective_scan_loop(*empty, **kw).shape == (2, 3, 0)


@pytest.mark.parametrize("length", [1, 19])
def test_chunked_scan_gradients_equal_the_loops(length):
    """Autograd through the chunked scan (the zoo backward and the health probe use it) gives the loop's gradients
    for every input, batch 2, on a length no chunk divides."""
    args, kw = _inputs(2, 3, length, 4, torch.float32, seed=6 + length)
    inputs = [*args, kw["D"], kw["z"], kw["delta_bias"]]
    weight = torch.randn(2, 3, length, generator=torch.Generator().manual_seed(length))

    def grads(scan):
        leaves = [t.clone().requires_grad_() for t in inputs]
        u, delta, A, B, C, D, z, bias = leaves
        y = scan(u, delta, A, B, C, D, z=z, delta_bias=bias, delta_softplus=True)
        return torch.autograd.grad((y * weight).sum(), leaves, allow_unused=True, materialize_grads=True)

    for got, want in zip(grads(selective_scan_ref), grads(selective_scan_loop), strict=True):
        assert torch.isfinite(got).all()
        scale = max(1.0, want.abs().max().item())
        torch.testing.assert_close(got, want, atol=1e-4 * scale, rtol=1e-4)


def test_the_cross_check_counters_count_the_scan_as_before():
    """fvcore and FlopCounterMode count the zoo's Mamba as they did with the earlier chunked form (all elementwise
    ops): its projections and nothing of the scan, now one op (benchbench::chunked_scan) they have no formula for.
    So a model whose scan is a bare elementwise stand-in counts the same (it reads every input: fvcore drops the
    dead code of a trace). The profile's own MACs count the scan as a unit (test above)."""
    from benchbench.measure.flops import fvcore_macs, torch_flops

    spec = get_model_spec("mamba")
    torch.manual_seed(0)
    model = spec.build("tiny").eval()
    (ids,) = spec.example_inputs("tiny", 2, 45, seed=0)

    def stand_in(u, delta, A, B, C, D, z, delta_bias, delta_softplus):  # reads every input: no dead x_proj
        return u * delta * z + (B * C).sum(1, keepdim=True) + A.sum() + D.sum() + delta_bias.sum()

    (fv, unsupported), flops = fvcore_macs(model, (ids,)), torch_flops(model, (ids,))
    with route_kernels(selective_scan=stand_in):
        bare = fvcore_macs(model, (ids,))[0], torch_flops(model, (ids,))
    assert (fv, flops) == bare and min(bare) > 0
    assert (
        unsupported["benchbench::chunked_scan"] == spec.config("tiny").layers
        and "aten::addcmul" not in unsupported
    )
