"""Triton softmax vs the fp32 reference: forward and gradient, awkward shapes (interpreter on CPU)."""

import pytest
import torch

from benchbench.kernels.softmax import softmax_ref, softmax_triton

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 1e-5, torch.float16: 2e-3}


@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (1000, 17), (3, 4097)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_softmax_matches_reference(shape, dtype):
    g = torch.Generator().manual_seed(2)
    x = (3 * torch.randn(shape, generator=g)).to(dtype).requires_grad_()
    dy = torch.randn(shape, generator=g).to(dtype)
    y = softmax_triton(x)
    (dx,) = torch.autograd.grad(y, (x,), dy)
    xr = x.detach().float().requires_grad_()
    yr = softmax_ref(xr)
    (dxr,) = torch.autograd.grad(yr, (xr,), dy.float())
    tol = TOL[dtype]
    torch.testing.assert_close(y.float(), yr, atol=tol, rtol=tol)
    torch.testing.assert_close(dx.float(), dxr, atol=tol * 4, rtol=tol * 4)


@pytest.mark.gpu
def test_softmax_bf16_cuda():
    x = torch.randn(64, 8192, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(softmax_triton(x), softmax_ref(x), atol=1e-2, rtol=3e-2)


@pytest.mark.parametrize("n", [1, 17, 100])
def test_softmax_online_variant_matches(monkeypatch, n):
    """Force the looped single-pass-statistics forward with a tiny block."""
    import benchbench.kernels.softmax as sm

    monkeypatch.setattr(sm, "LOOP_ABOVE", 16)
    x = 5 * torch.randn(3, n, generator=torch.Generator().manual_seed(n))
    torch.testing.assert_close(sm.softmax_triton(x), softmax_ref(x), atol=1e-6, rtol=1e-5)
