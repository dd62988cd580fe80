"""Fused Triton bias + GELU vs the fp32 reference, erf and tanh forms, forward and gradients (interpreter)."""

import pytest
import torch

from benchbench.kernels.gelu import gelu_ref, gelu_triton

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 1e-5, torch.float16: 2e-3}


@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (1000, 17), (3, 4097)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_gelu_matches_reference(shape, dtype, approximate, with_bias):
    g = torch.Generator().manual_seed(3)
    x = (2 * torch.randn(shape, generator=g)).to(dtype).requires_grad_()
    b = (0.5 * torch.randn(shape[-1], generator=g)).to(dtype).requires_grad_() if with_bias else None
    dy = torch.randn(shape, generator=g).to(dtype)
    inputs = (x, b) if with_bias else (x,)
    y = gelu_triton(x, b, approximate)
    grads = torch.autograd.grad(y, inputs, dy)
    ref_inputs = tuple(t.detach().float().requires_grad_() for t in inputs)
    yr = (
        gelu_ref(*ref_inputs, approximate=approximate)
        if with_bias
        else gelu_ref(ref_inputs[0], None, approximate)
    )
    grads_r = torch.autograd.grad(yr, ref_inputs, dy.float())
    tol = TOL[dtype]
    torch.testing.assert_close(y.float(), yr, atol=tol, rtol=tol)
    for got, ref in zip(grads, grads_r):
        scale = max(1.0, ref.abs().max().item())
        torch.testing.assert_close(got.float(), ref, atol=tol * scale * 4, rtol=tol * 4)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="allowed: none, tanh"):
        gelu_triton(torch.randn(3), None, "sigmoid")


@pytest.mark.gpu
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_bf16_cuda(approximate):
    x = torch.randn(64, 4096, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(4096, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(
        gelu_triton(x, b, approximate), gelu_ref(x, b, approximate), atol=3e-2, rtol=3e-2
    )


@pytest.mark.gpu
@pytest.mark.slow
def test_gelu_past_int32_offsets_cuda():
    """More than 2³¹ elements: int64 offsets (the last block is where int32 offsets would wrap)."""
    n = 4096
    x = torch.randn(2**31 // n + 5, n, device="cuda", dtype=torch.float16)
    y = gelu_triton(x, None)
    torch.testing.assert_close(y[-5:].float(), gelu_ref(x[-5:], None).float(), atol=2e-3, rtol=2e-3)
