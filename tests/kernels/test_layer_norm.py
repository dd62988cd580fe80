"""Triton LayerNorm vs the fp32 reference: forward and every gradient, awkward shapes (interpreter on CPU)."""

import math

import pytest
import torch
import triton

from benchbench.kernels._common import multiprocessors, norm_backward_plan
from benchbench.kernels.layer_norm import layer_norm_ref, layer_norm_triton
from benchbench.kernels.rms_norm import rms_norm_triton

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 1e-4, torch.float16: 1e-2}  # absolute/relative tolerance per dtype


# (1, 1) … (2, 3, 33): sizes 1, primes, a 3-d input. With the interpreter's DEFAULT_SMS (4 programs) the
# backward plans (75, 300): 10 blocks of 8 rows (the last part-empty) over 4 programs; (37, 5000): 37 one-row
# blocks over 4 programs; (11, 12000): the chunked kernel, 11 rows over 4 programs, the last chunk partial.
SHAPES = [(1, 1), (3, 17), (1000, 17), (3, 4097), (2, 3, 33), (75, 300), (37, 5000), (11, 12000)]


def grads_match(got: tuple, ref: tuple, dtype: torch.dtype) -> None:
    """Each gradient against its fp32 reference, with the tolerance scaled to the reference's magnitude."""
    tol = TOL[dtype]
    for g, r in zip(got, ref):
        scale = max(1.0, r.abs().max().item())
        torch.testing.assert_close(g.float(), r, atol=tol * scale * 4, rtol=tol * 4)  # NaN never equals


@pytest.mark.parametrize("shape", SHAPES)
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
    torch.testing.assert_close(y.float(), yr, atol=TOL[dtype], rtol=TOL[dtype])
    grads_match(grads, grads_r, dtype)


def test_plans_cover_the_persistent_loop_and_the_chunked_rows():
    """The shapes above reach every path of the backward: programs with unequal numbers of row blocks, a
    part-empty last block, one row per block, and the chunked kernel with a partial last chunk."""
    plans = {s: norm_backward_plan(math.prod(s[:-1]), s[-1], multiprocessors("cpu")) for s in SHAPES}
    uneven = [s for s, p in plans.items() if triton.cdiv(math.prod(s[:-1]), p.block_m) % p.programs]
    assert {(75, 300), (37, 5000), (11, 12000)} <= set(uneven)
    assert 75 % plans[(75, 300)].block_m and plans[(37, 5000)].block_m == 1
    wide = plans[(11, 12000)]
    assert wide.chunked and triton.cdiv(12000, wide.block_n) >= 2 and 12000 % wide.block_n


@pytest.mark.parametrize("affine", ["none", "weight"])
def test_layer_norm_gradients_without_bias_or_weight(affine):
    """No bias (and no weight): dx and the gradients that exist, against the reference (the kernel then skips
    the missing partial rows)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(45, 70, generator=g).requires_grad_()
    w = (1 + 0.1 * torch.randn(70, generator=g)).requires_grad_() if affine == "weight" else None
    dy = torch.randn(45, 70, generator=g)
    leaves = (x,) if w is None else (x, w)
    got = torch.autograd.grad(layer_norm_triton(x, w, None), leaves, dy)
    ref = torch.autograd.grad(layer_norm_ref(x, w, None), leaves, dy)
    grads_match(got, ref, torch.float32)


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
