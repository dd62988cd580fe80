"""Triton RMSNorm vs the fp32 reference: forward and both gradients, awkward shapes (interpreter on CPU)."""

import pytest
import torch

from benchbench.kernels.rms_norm import rms_norm_ref, rms_norm_triton

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 1e-4, torch.float16: 1e-2}


@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (1000, 17), (3, 4097)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_rms_norm_matches_reference(shape, dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g).to(dtype).requires_grad_()
    w = (1 + 0.1 * torch.randn(shape[-1], generator=g)).to(dtype).requires_grad_()
    dy = torch.randn(shape, generator=g).to(dtype)
    y = rms_norm_triton(x, w, 1e-6)
    grads = torch.autograd.grad(y, (x, w), dy)
    xr, wr = (t.detach().float().requires_grad_() for t in (x, w))
    yr = rms_norm_ref(xr, wr, 1e-6)
    grads_r = torch.autograd.grad(yr, (xr, wr), dy.float())
    tol = TOL[dtype]
    torch.testing.assert_close(y.float(), yr, atol=tol, rtol=tol)
    for got, ref in zip(grads, grads_r):
        scale = max(1.0, ref.abs().max().item())
        torch.testing.assert_close(got.float(), ref, atol=tol * scale * 4, rtol=tol * 4)


@pytest.mark.gpu
def test_rms_norm_bf16_cuda():
    x = torch.randn(64, 8192, device="cuda", dtype=torch.bfloat16)
    w = torch.ones(8192, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(rms_norm_triton(x, w), rms_norm_ref(x, w), atol=3e-2, rtol=3e-2)
