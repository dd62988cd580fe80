"""Fused Triton SwiGLU vs the fp32 reference: forward and both gradients (interpreter on CPU)."""

import pytest
import torch

from benchbench.kernels.swiglu import swiglu_ref, swiglu_triton

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 1e-5, torch.float16: 2e-3}


@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (1000, 17), (3, 4097)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_swiglu_matches_reference(shape, dtype):
    g = torch.Generator().manual_seed(4)
    a = (2 * torch.randn(shape, generator=g)).to(dtype).requires_grad_()
    b = torch.randn(shape, generator=g).to(dtype).requires_grad_()
    dy = torch.randn(shape, generator=g).to(dtype)
    y = swiglu_triton(a, b)
    grads = torch.autograd.grad(y, (a, b), dy)
    ar, br = (t.detach().float().requires_grad_() for t in (a, b))
    yr = swiglu_ref(ar, br)
    grads_r = torch.autograd.grad(yr, (ar, br), dy.float())
    tol = TOL[dtype]
    scale = max(1.0, yr.abs().max().item())
    torch.testing.assert_close(y.float(), yr, atol=tol * scale, rtol=tol)
    for got, ref in zip(grads, grads_r):
        s = max(1.0, ref.abs().max().item())
        torch.testing.assert_close(got.float(), ref, atol=tol * s * 4, rtol=tol * 4)


@pytest.mark.gpu
def test_swiglu_bf16_cuda():
    a, b = torch.randn(2, 64, 4096, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(swiglu_triton(a, b), swiglu_ref(a, b), atol=3e-2, rtol=3e-2)
