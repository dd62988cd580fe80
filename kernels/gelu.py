"""Bias + GELU (erf and tanh forms): reference, F.gelu, torch.compile and a fused Triton kernel.

`gelu(x, bias=None, approximate="none")`: the bias (last dim) is the one of a Linear that precedes the GELU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor, nn

from benchbench.kernels._common import element_offsets, lazy_compile, needs_int64
from benchbench.kernels.registry import OpSpec, register_kernel, register_op

_APPROX = ("none", "tanh")
BLOCK = 1024


def _check_approx(approximate: str) -> None:
    if approximate not in _APPROX:
        raise ValueError(f"unknown GELU approximate: {approximate!r}; allowed: {', '.join(_APPROX)}")


@register_kernel("gelu", "eager", baseline=True, default=True)
def gelu_ref(x: Tensor, bias: Tensor | None = None, approximate: str = "none") -> Tensor:
    """GELU written out in fp32 (erf or tanh form), cast back to x's dtype."""
    _check_approx(approximate)
    a = x.float() if bias is None else x.float() + bias.float()
    if approximate == "tanh":
        y = 0.5 * a * (1 + torch.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3)))
    else:
        y = 0.5 * a * (1 + torch.erf(a / math.sqrt(2)))
    return y.to(x.dtype)


@register_kernel("gelu", "torch")
def gelu_torch(x: Tensor, bias: Tensor | None = None, approximate: str = "none") -> Tensor:
    """PyTorch's F.gelu (after the bias add)."""
    return F.gelu(x if bias is None else x + bias, approximate=approximate)


register_kernel("gelu", "compile")(lazy_compile(gelu_ref))


@triton.jit
def _gelu_parts(a, TANH: tl.constexpr):
    """(gelu(a), d gelu / d a) in fp32."""
    if TANH:
        k = 0.7978845608028654  # sqrt(2 / pi)
        inner = k * (a + 0.044715 * a * a * a)
        t = 2.0 / (1.0 + tl.exp(-2.0 * inner)) - 1.0  # tanh(inner)
        y = 0.5 * a * (1.0 + t)
        dy = 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * a * a)
    else:
        cdf = 0.5 * (1.0 + tl.math.erf(a * 0.7071067811865476))
        y = a * cdf
        dy = cdf + a * 0.3989422804014327 * tl.exp(-0.5 * a * a)
    return y, dy


@triton.jit
def _gelu_fwd(
    X, BIAS, Y, numel, N, HAS_BIAS: tl.constexpr, TANH: tl.constexpr, INT64: tl.constexpr, BLOCK: tl.constexpr
):
    """X, Y (numel,) contiguous, last dim N; BIAS (N,)."""
    offs = element_offsets(BLOCK, INT64)
    mask = offs < numel
    a = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
    if HAS_BIAS:
        a += tl.load(BIAS + offs % N, mask=mask, other=0.0).to(tl.float32)
    y, _ = _gelu_parts(a, TANH)
    tl.store(Y + offs, y.to(Y.dtype.element_ty), mask=mask)


@triton.jit
def _gelu_bwd(
    X, BIAS, DY, DX, numel, N,
    HAS_BIAS: tl.constexpr, TANH: tl.constexpr, INT64: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    """X, DY, DX (numel,) contiguous, last dim N; BIAS (N,). The bias gradient is summed on the host."""
    offs = element_offsets(BLOCK, INT64)
    mask = offs < numel
    a = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
    if HAS_BIAS:
        a += tl.load(BIAS + offs % N, mask=mask, other=0.0).to(tl.float32)
    _, d = _gelu_parts(a, TANH)
    g = tl.load(DY + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(DX + offs, (g * d).to(DX.dtype.element_ty), mask=mask)


class _GeluFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bias, tanh):
        xc = x.contiguous()
        y = torch.empty_like(xc)
        n = xc.shape[-1] if xc.dim() else 1
        b = bias.contiguous() if bias is not None else xc
        if xc.numel():
            _gelu_fwd[(triton.cdiv(xc.numel(), BLOCK),)](
                xc, b, y, xc.numel(), n, bias is not None, tanh, needs_int64(xc), BLOCK
            )
        ctx.save_for_backward(xc, bias)
        ctx.tanh = tanh
        return y

    @staticmethod
    def backward(ctx, dy):
        xc, bias = ctx.saved_tensors
        dx = torch.empty_like(xc)
        n = xc.shape[-1] if xc.dim() else 1
        b = bias.contiguous() if bias is not None else xc
        if xc.numel():
            grid = (triton.cdiv(xc.numel(), BLOCK),)
            _gelu_bwd[grid](
                xc, b, dy.contiguous(), dx, xc.numel(), n, bias is not None, ctx.tanh, needs_int64(xc), BLOCK
            )
        dbias = dx.float().reshape(-1, n).sum(0).to(bias.dtype) if bias is not None else None
        return dx, dbias, None


@register_kernel("gelu", "triton", interpreted_on_cpu=True)
def gelu_triton(x: Tensor, bias: Tensor | None = None, approximate: str = "none") -> Tensor:
    """Fused Triton bias + GELU (erf or tanh), fp32 math, forward and backward."""
    _check_approx(approximate)
    return _GeluFn.apply(x, bias, approximate == "tanh")


def gelu_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read x (M·N) and the bias (N), write y (M·N): 2·M·N + N elements."""
    return float(torch.empty(0, dtype=dtype).element_size() * (2 * shape["M"] * shape["N"] + shape["N"]))


def gelu_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward: read x, dy (M·N each) and the bias (N), write dx (M·N) and dbias (N): 3·M·N + 2·N elements.

    Not 2× the forward: y is not read. Summing dbias reads dx back (M·N more); a fused kernel would not, so it
    is left out of the minimum."""
    return float(torch.empty(0, dtype=dtype).element_size() * (3 * shape["M"] * shape["N"] + 2 * shape["N"]))


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(shape["M"], shape["N"], generator=g).to(device=device, dtype=dtype)
    b = (0.1 * torch.randn(shape["N"], generator=g)).to(device=device, dtype=dtype)
    return (x, b), {"approximate": shape.get("approximate", "none")}


register_op(
    OpSpec(
        name="gelu",
        make_inputs=_make_inputs,
        shapes=(
            {"M": 1024, "N": 4096},
            {"M": 4096, "N": 4096, "approximate": "tanh"},
            {"M": 4096, "N": 8192, "set": "gpu"},
        ),
        flops=lambda s: 10.0 * s["M"] * s["N"],
        bytes_moved=gelu_bytes,
        backward_bytes_moved=gelu_backward_bytes,
        compile_shapes=({"M": 4, "N": 1000}, {"M": 4, "N": 1000, "approximate": "tanh"}),
        ci_compile_shapes=({"M": 4, "N": 4096, "dtype": "bfloat16"},),
        aliases=("bias_gelu",),
        module_types=(nn.GELU,),
        module_call=lambda mod, x: ((x, None), {"approximate": mod.approximate}),
        description="bias + GELU (erf or tanh form)",
    )
)
