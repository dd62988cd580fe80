"""RMSNorm over the last dim: the zoo's module, the reference, F.rms_norm, torch.compile and a Triton kernel.

Triton: one row per program with fp32 statistics; backward gives dx per row and the weight gradient
in two stages (per-program partial sums over a block of rows, then a sum).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor, nn

from benchbench.kernels._common import NORM_MAX_N, lazy_compile, reduction_programs, row_block, too_wide
from benchbench.kernels.registry import OpSpec, register_kernel, register_op


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich, 2019): x / rms(x) * weight, statistics in fp32."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


@register_kernel("rmsnorm", "eager", baseline=True, default=True)
def rms_norm_ref(x: Tensor, weight: Tensor | None, eps: float = 1e-6) -> Tensor:
    """RMSNorm written out in fp32 and cast back to x's dtype."""
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    if weight is not None:
        y = y * weight.float()
    return y.to(x.dtype)


@register_kernel("rmsnorm", "torch")
def rms_norm_torch(x: Tensor, weight: Tensor | None, eps: float = 1e-6) -> Tensor:
    """PyTorch's F.rms_norm."""
    return F.rms_norm(x, x.shape[-1:], weight, eps)


register_kernel("rmsnorm", "compile")(lazy_compile(rms_norm_ref))


@triton.jit
def _rms_fwd(X, W, Y, RSTD, N, eps, HAS_W: tl.constexpr, BLOCK_N: tl.constexpr):
    """One row per program. X, Y (M, N) contiguous; W (N,); RSTD (M,) fp32. Row offsets in int64."""
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
    rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / N + eps)
    y = x * rstd
    if HAS_W:
        y = y * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(Y + base + cols, y.to(Y.dtype.element_ty), mask=mask)
    tl.store(RSTD + row, rstd)


@triton.jit
def _rms_bwd(X, W, DY, DX, DW, RSTD, M, N, ROWS_PER_PROG, HAS_W: tl.constexpr, BLOCK_N: tl.constexpr):
    """dx per row, and this program's partial sum of dw over its ROWS_PER_PROG rows.

    X, DY, DX (M, N) contiguous; W (N,); DW (programs, N) fp32 partials; RSTD (M,) fp32."""
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    if HAS_W:
        w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
    else:
        w = tl.where(mask, 1.0, 0.0)
    dw = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for i in range(0, ROWS_PER_PROG):
        row = pid * ROWS_PER_PROG + i
        if row < M:
            base = row.to(tl.int64) * N
            x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + base + cols, mask=mask, other=0.0).to(tl.float32)
            rstd = tl.load(RSTD + row)
            xhat = x * rstd
            g = dy * w
            c = tl.sum(xhat * g, axis=0) / N
            dx = (g - xhat * c) * rstd
            tl.store(DX + base + cols, dx.to(DX.dtype.element_ty), mask=mask)
            dw += dy * xhat
    tl.store(DW + pid * N + cols, dw, mask=mask)  # stage 1: partial sums per row block


class _RMSNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, eps):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1]).contiguous()  # (M, N)
        m, n = x2.shape
        y = torch.empty_like(x2)
        rstd = torch.empty(m, device=x.device, dtype=torch.float32)
        block, warps = row_block(n)
        w = weight.contiguous() if weight is not None else x2
        if m:
            _rms_fwd[(m,)](x2, w, y, rstd, n, eps, weight is not None, block, num_warps=warps)
        ctx.save_for_backward(x2, weight, rstd)
        ctx.shape = shape
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, dy):
        x2, weight, rstd = ctx.saved_tensors
        m, n = x2.shape
        dy2 = dy.reshape(m, n).contiguous()
        dx = torch.empty_like(x2)
        rpp = triton.cdiv(m, reduction_programs(m, x2.device))  # a few programs per SM, each over rpp rows
        progs = max(1, triton.cdiv(m, rpp))
        # every program writes its whole partial row (zeros if it has no rows): no zero-fill needed
        dw_part = torch.empty(progs, n, device=x2.device, dtype=torch.float32)  # (P, N)
        block, warps = row_block(n)
        w = weight.contiguous() if weight is not None else x2
        _rms_bwd[(progs,)](
            x2, w, dy2, dx, dw_part, rstd, m, n, rpp, weight is not None, block, num_warps=warps
        )
        dw = dw_part.sum(0).to(weight.dtype) if weight is not None else None  # stage 2
        return dx.reshape(ctx.shape), dw, None


@register_kernel(
    "rmsnorm", "triton", interpreted_on_cpu=True, check=lambda x, *a, **k: too_wide(x, NORM_MAX_N)
)
def rms_norm_triton(x: Tensor, weight: Tensor | None, eps: float = 1e-6) -> Tensor:
    """Triton RMSNorm, one row per program, fp32 statistics, two-stage weight gradient."""
    why = too_wide(x, NORM_MAX_N)
    if why:
        raise ValueError(f"rmsnorm/triton: {why}")
    return _RMSNormFn.apply(x, weight, eps)


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(shape["M"], shape["N"], generator=g).to(device=device, dtype=dtype)
    w = (1 + 0.1 * torch.randn(shape["N"], generator=g)).to(device=device, dtype=dtype)
    return (x, w, 1e-6), {}


def rms_norm_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read x (M·N) and w (N), write y (M·N): 2·M·N + N elements (the saved rstd, 4 bytes a row, is an
    implementation's choice and not counted)."""
    return float(torch.empty(0, dtype=dtype).element_size() * (2 * shape["M"] * shape["N"] + shape["N"]))


def rms_norm_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward: read x, dy (M·N each) and w (N), write dx (M·N) and dw (N): 3·M·N + 2·N elements."""
    return float(torch.empty(0, dtype=dtype).element_size() * (3 * shape["M"] * shape["N"] + 2 * shape["N"]))


def _module_call(mod: nn.Module, x: Tensor) -> tuple[tuple, dict]:
    eps = getattr(mod, "eps", None)
    return (x, mod.weight, torch.finfo(x.dtype).eps if eps is None else eps), {}


register_op(
    OpSpec(
        name="rmsnorm",
        make_inputs=_make_inputs,
        shapes=({"M": 1024, "N": 1024}, {"M": 4096, "N": 4096}, {"M": 4096, "N": 8192, "set": "gpu"}),
        flops=lambda s: 4.0 * s["M"] * s["N"],
        bytes_moved=rms_norm_bytes,
        backward_bytes_moved=rms_norm_backward_bytes,
        compile_shapes=({"M": 4, "N": 1000}, {"M": 4, "N": 8192}, {"M": 4, "N": NORM_MAX_N}),
        ci_compile_shapes=({"M": 4, "N": 4096, "dtype": "bfloat16"},),
        aliases=("rms_norm",),
        module_types=(RMSNorm, nn.RMSNorm),
        module_call=_module_call,
        description="RMSNorm over the last dimension with a weight",
    )
)
