"""Triton LayerNorm vs the fp32 reference: forward and every gradient, awkward shapes (interpreter on CPU)."""

import pytest
import torch

from benchbench.kernels.layer_norm import layer_norm_ref, layer_norm_triton
from benchbench.kernels.rms_norm import rms_norm_triton

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 1e-4, torch.float16: 1e-2}  # absolute/relative tolerance per dtype


@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (1000, 17), (3, 4097), (2, 3, 33)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_layer_norm_matches_reference(shape, dtype):
    g = torch.Generator().manual_seed(hash(shape) % 1000)
    n = shape[-1]
    x = torch.randn(shape, generator=g).to(dtype).requires_grad_()
    w = (1 + 0.1 * torch.randn(n, generator=g)).to(dtype).requires_grad_()
    b = (0.1 * torch.randn(n, generator=g)).to(dtype).requires_grad_()
    dy = torch.randn(shape, generator=g).to(dtype)
    y = layer_norm_triton(x, w, b, 1e-5)
    grads = torch.autograd.grad(y, (x, w, b), dy)
    xr, wr, br = (t.detach().float().requires_grad_() for t in (x, w, b))
    yr = layer_norm_ref(xr, wr, br, 1e-5)
    grads_r = torch.autograd.grad(yr, (xr, wr, br), dy.float())
    tol = TOL[dtype]
    torch.testing.assert_close(y.float(), yr, atol=tol, rtol=tol)
    for got, ref in zip(grads, grads_r):
        scale = max(1.0, ref.abs().max().item())
        torch.testing.assert_close(got.float(), ref, atol=tol * scale * 4, rtol=tol * 4)


def test_rows_wider_than_the_spill_free_limit_are_refused():
    from benchbench.kernels._common import NORM_MAX_N
    from benchbench.kernels.registry import get_kernel

    x = torch.empty(1, NORM_MAX_N + 1)
    for op, call in (
        ("layernorm", lambda: layer_norm_triton(x, None, None)),
        ("rmsnorm", lambda: rms_norm_triton(x, None)),
    ):
        reason = get_kernel(op, "triton").check(x, None, None)
        assert reason and f"> {NORM_MAX_N}" in reason  # the swap falls back with this reason
        with pytest.raises(ValueError, match=f"{op}/triton: last dimension {NORM_MAX_N + 1} > {NORM_MAX_N}"):
            call()


def test_layer_norm_without_affine():
    x = torch.randn(5, 20)
    torch.testing.assert_close(
        layer_norm_triton(x, None, None), layer_norm_ref(x, None, None), atol=1e-5, rtol=1e-5
    )


@pytest.mark.gpu
def test_layer_norm_bf16_cuda():
    x = torch.randn(64, 4096, device="cuda", dtype=torch.bfloat16)
    w = torch.ones(4096, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(layer_norm_triton(x, w, w), layer_norm_ref(x, w, w), atol=3e-2, rtol=3e-2)


@pytest.mark.gpu
@pytest.mark.slow
def test_layer_norm_rows_past_int32_offsets_cuda():
    """M·N > 2³¹: row offsets in int64, forward and backward (the last rows are where int32 would wrap)."""
    m, n = 2**31 // 4096 + 3, 4096
    x = torch.randn(m, n, device="cuda", dtype=torch.float16).requires_grad_()
    w = torch.ones(n, device="cuda", dtype=torch.float16)
    y = layer_norm_triton(x, w, None)
    torch.testing.assert_close(
        y[-3:].float(), layer_norm_ref(x[-3:].detach(), w, None).float(), atol=1e-2, rtol=1e-2
    )
    r = torch.randn(n, device="cuda")
    (dx,) = torch.autograd.grad((y[-1].float() * r).sum(), (x,))
    xr = x[-1:].detach().float().requires_grad_()
    (dxr,) = torch.autograd.grad((layer_norm_ref(xr, w.float(), None)[0] * r).sum(), (xr,))
    torch.testing.assert_close(dx[-1].float(), dxr[0], atol=1e-2, rtol=1e-2)
