"""SwiGLU gate silu(a) * b: reference, torch.compile and a fused Triton kernel (no module; op only)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor

from benchbench.kernels._common import element_offsets, lazy_compile, needs_int64
from benchbench.kernels.registry import OpSpec, register_kernel, register_op

BLOCK = 1024


@register_kernel("swiglu", "eager", baseline=True, default=True)
def swiglu_ref(a: Tensor, b: Tensor) -> Tensor:
    """silu(a) * b in fp32, cast back to a's dtype."""
    return (F.silu(a.float()) * b.float()).to(a.dtype)


@register_kernel("swiglu", "torch")
def swiglu_torch(a: Tensor, b: Tensor) -> Tensor:
    """F.silu(a) * b in the input dtype (two PyTorch kernels)."""
    return F.silu(a) * b


register_kernel("swiglu", "compile")(lazy_compile(swiglu_ref))


@triton.jit
def _swiglu_fwd(A, B, Y, numel, INT64: tl.constexpr, BLOCK: tl.constexpr):
    """A, B, Y (numel,) contiguous."""
    offs = element_offsets(BLOCK, INT64)
    mask = offs < numel
    a = tl.load(A + offs, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(B + offs, mask=mask, other=0.0).to(tl.float32)
    y = a / (1.0 + tl.exp(-a)) * b
    tl.store(Y + offs, y.to(Y.dtype.element_ty), mask=mask)


@triton.jit
def _swiglu_bwd(A, B, DY, DA, DB, numel, INT64: tl.constexpr, BLOCK: tl.constexpr):
    """A, B, DY, DA, DB (numel,) contiguous."""
    offs = element_offsets(BLOCK, INT64)
    mask = offs < numel
    a = tl.load(A + offs, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(B + offs, mask=mask, other=0.0).to(tl.float32)
    g = tl.load(DY + offs, mask=mask, other=0.0).to(tl.float32)
    s = 1.0 / (1.0 + tl.exp(-a))
    tl.store(DA + offs, (g * b * s * (1.0 + a * (1.0 - s))).to(DA.dtype.element_ty), mask=mask)
    tl.store(DB + offs, (g * a * s).to(DB.dtype.element_ty), mask=mask)


class _SwiGLUFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        a, b = a.contiguous(), b.contiguous()
        y = torch.empty_like(a)
        if a.numel():
            _swiglu_fwd[(triton.cdiv(a.numel(), BLOCK),)](a, b, y, a.numel(), needs_int64(a), BLOCK)
        ctx.save_for_backward(a, b)
        return y

    @staticmethod
    def backward(ctx, dy):
        a, b = ctx.saved_tensors
        da, db = torch.empty_like(a), torch.empty_like(b)
        if a.numel():
            grid = (triton.cdiv(a.numel(), BLOCK),)
            _swiglu_bwd[grid](a, b, dy.contiguous(), da, db, a.numel(), needs_int64(a), BLOCK)
        return da, db


def _check(a: Tensor, b: Tensor, *args, **kwargs) -> str | None:
    return None if a.shape == b.shape and a.dtype == b.dtype else "a and b must have the same shape and dtype"


@register_kernel("swiglu", "triton", interpreted_on_cpu=True, check=_check)
def swiglu_triton(a: Tensor, b: Tensor) -> Tensor:
    """Fused Triton silu(a) * b, fp32 math, forward and backward."""
    return _SwiGLUFn.apply(a, b)


def swiglu_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read a and b, write y (M·N each): 3·M·N elements."""
    return float(torch.empty(0, dtype=dtype).element_size() * 3 * shape["M"] * shape["N"])


def swiglu_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward: read a, b and dy, write da and db (M·N each): 5·M·N elements."""
    return float(torch.empty(0, dtype=dtype).element_size() * 5 * shape["M"] * shape["N"])


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    a, b = torch.randn(2, shape["M"], shape["N"], generator=g).to(device=device, dtype=dtype)
    return (a, b), {}


register_op(
    OpSpec(
        name="swiglu",
        make_inputs=_make_inputs,
        shapes=({"M": 1024, "N": 4096}, {"M": 4096, "N": 8192, "set": "gpu"}),
        flops=lambda s: 5.0 * s["M"] * s["N"],
        bytes_moved=swiglu_bytes,
        backward_bytes_moved=swiglu_backward_bytes,
        compile_shapes=({"M": 4, "N": 1000},),
        ci_compile_shapes=({"M": 4, "N": 4096, "dtype": "bfloat16"},),
        description="SwiGLU gate silu(a) * b",
    )
)
