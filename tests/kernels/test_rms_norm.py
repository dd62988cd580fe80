"""Triton RMSNorm vs the fp32 reference: forward and both gradients, awkward shapes (interpreter on CPU)."""

import pytest
import torch
from test_layer_norm import SHAPES, TOL, grads_match  # the same awkward shapes and tolerances (same folder)

from benchbench.kernels.rms_norm import rms_norm_ref, rms_norm_triton

pytestmark = pytest.mark.interpreter


@pytest.mark.parametrize("shape", SHAPES)
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
    torch.testing.assert_close(y.float(), yr, atol=TOL[dtype], rtol=TOL[dtype])
    grads_match(grads, grads_r, dtype)


@pytest.mark.parametrize("n", [70, 12000])
def test_rms_norm_dx_without_weight(n):
    """No weight: dx alone, from the row-tile kernel and the chunked one."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(13, n, generator=g).requires_grad_()
    dy = torch.randn(13, n, generator=g)
    got = torch.autograd.grad(rms_norm_triton(x, None), (x,), dy)
    ref = torch.autograd.grad(rms_norm_ref(x, None), (x,), dy)
    grads_match(got, ref, torch.float32)


@pytest.mark.gpu
def test_rms_norm_bf16_cuda():
    x = torch.randn(64, 8192, device="cuda", dtype=torch.bfloat16)
    w = torch.ones(8192, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(rms_norm_triton(x, w), rms_norm_ref(x, w), atol=3e-2, rtol=3e-2)
