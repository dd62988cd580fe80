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
def test_softmax_looped_variants_match(monkeypatch, n):
    """Force the looped kernels (online-statistics forward, two-pass backward) with a tiny block."""
    import benchbench.kernels.softmax as sm

    monkeypatch.setattr(sm, "LOOP_ABOVE", 16)
    g = torch.Generator().manual_seed(n)
    x = (5 * torch.randn(3, n, generator=g)).requires_grad_()
    dy = torch.randn(3, n, generator=g)
    y = sm.softmax_triton(x)
    (dx,) = torch.autograd.grad(y, (x,), dy)
    xr = x.detach().requires_grad_()
    yr = softmax_ref(xr)
    (dxr,) = torch.autograd.grad(yr, (xr,), dy)
    torch.testing.assert_close(y, yr, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(dx, dxr, atol=1e-6, rtol=1e-5)  # the looped backward (two passes per row)


@pytest.mark.gpu
@pytest.mark.slow
def test_softmax_rows_past_int32_offsets_cuda():
    """M·N > 2³¹: row offsets in int64 (the last rows are where int32 offsets would wrap)."""
    m, n = (2**31 // 4096) + 3, 4096
    x = torch.randn(m, n, device="cuda", dtype=torch.float16)
    y = softmax_triton(x)
    torch.testing.assert_close(y[-3:].float(), softmax_ref(x[-3:]).float(), atol=2e-3, rtol=2e-3)
