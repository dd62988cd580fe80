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
