"""LayerNorm over the last dim: reference, PyTorch's fused op, torch.compile and a Triton kernel.

The Triton forward keeps one row per program (fp32 statistics); the backward computes dx per row and
the weight/bias gradients in two stages: per-program partial sums over a block of rows, then a sum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor, nn

from benchbench.kernels._common import NORM_MAX_N, lazy_compile, reduction_programs, row_block, too_wide
from benchbench.kernels.registry import OpSpec, register_kernel, register_op


@register_kernel("layernorm", "eager", baseline=True, default=True)
def layer_norm_ref(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float = 1e-5) -> Tensor:
    """LayerNorm written out in fp32 and cast back to x's dtype."""
    xf = x.float()
    mean = xf.mean(-1, keepdim=True)
    var = (xf - mean).pow(2).mean(-1, keepdim=True)
    y = (xf - mean) * torch.rsqrt(var + eps)
    if weight is not None:
        y = y * weight.float()
    if bias is not None:
        y = y + bias.float()
    return y.to(x.dtype)


@register_kernel("layernorm", "torch")
def layer_norm_torch(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float = 1e-5) -> Tensor:
    """PyTorch's fused F.layer_norm."""
    return F.layer_norm(x, x.shape[-1:], weight, bias, eps)


register_kernel("layernorm", "compile")(lazy_compile(layer_norm_ref))


@triton.jit
def _ln_fwd(X, W, B, Y, MEAN, RSTD, N, eps, HAS_W: tl.constexpr, HAS_B: tl.constexpr, BLOCK_N: tl.constexpr):
    """One row per program. X, Y (M, N) contiguous; W, B (N,); MEAN, RSTD (M,) fp32. Row offsets in int64."""
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(x, axis=0) / N
    xc = tl.where(mask, x - mean, 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(xc * xc, axis=0) / N + eps)
    y = xc * rstd
    if HAS_W:
        y = y * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
    if HAS_B:
        y = y + tl.load(B + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(Y + base + cols, y.to(Y.dtype.element_ty), mask=mask)
    tl.store(MEAN + row, mean)
    tl.store(RSTD + row, rstd)


@triton.jit
def _ln_bwd(
    X, W, DY, DX, DW, DB, MEAN, RSTD, M, N, ROWS_PER_PROG, HAS_W: tl.constexpr, BLOCK_N: tl.constexpr
):
    """dx per row, and this program's partial sums of dw, db over its ROWS_PER_PROG rows.

    X, DY, DX (M, N) contiguous; W (N,); DW, DB (programs, N) fp32 partials; MEAN, RSTD (M,) fp32."""
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    if HAS_W:
        w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
    else:
        w = tl.where(mask, 1.0, 0.0)
    dw = tl.zeros((BLOCK_N,), dtype=tl.float32)
    db = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for i in range(0, ROWS_PER_PROG):
        row = pid * ROWS_PER_PROG + i
        if row < M:
            base = row.to(tl.int64) * N
            x = tl.load(X + base + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + base + cols, mask=mask, other=0.0).to(tl.float32)
            mean = tl.load(MEAN + row)
            rstd = tl.load(RSTD + row)
            xhat = tl.where(mask, (x - mean) * rstd, 0.0)
            g = dy * w
            c1 = tl.sum(xhat * g, axis=0) / N
            c2 = tl.sum(g, axis=0) / N
            dx = (g - (xhat * c1 + c2)) * rstd
            tl.store(DX + base + cols, dx.to(DX.dtype.element_ty), mask=mask)
            dw += dy * xhat
            db += dy
    tl.store(DW + pid * N + cols, dw, mask=mask)  # stage 1: partial sums per row block
    tl.store(DB + pid * N + cols, db, mask=mask)


class _LayerNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1]).contiguous()  # (M, N)
        m, n = x2.shape
        y = torch.empty_like(x2)
        mean = torch.empty(m, device=x.device, dtype=torch.float32)
        rstd = torch.empty(m, device=x.device, dtype=torch.float32)
        block, warps = row_block(n)
        w = weight.contiguous() if weight is not None else x2
        b = bias.contiguous() if bias is not None else x2
        if m:
            _ln_fwd[(m,)](
                x2, w, b, y, mean, rstd, n, eps, weight is not None, bias is not None, block, num_warps=warps
            )
        ctx.save_for_backward(x2, weight, bias, mean, rstd)
        ctx.shape = shape
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, dy):
        x2, weight, bias, mean, rstd = ctx.saved_tensors
        m, n = x2.shape
        dy2 = dy.reshape(m, n).contiguous()
        dx = torch.empty_like(x2)
        rpp = triton.cdiv(m, reduction_programs(m, x2.device))  # a few programs per SM, each over rpp rows
        progs = max(1, triton.cdiv(m, rpp))
        # every program writes its whole partial row (zeros if it has no rows): no zero-fill needed
        dw_part = torch.empty(progs, n, device=x2.device, dtype=torch.float32)  # (P, N)
        db_part = torch.empty(progs, n, device=x2.device, dtype=torch.float32)
        block, warps = row_block(n)
        w = weight.contiguous() if weight is not None else x2
        _ln_bwd[(progs,)](
            x2,
            w,
            dy2,
            dx,
            dw_part,
            db_part,
            mean,
            rstd,
            m,
            n,
            rpp,
            weight is not None,
            block,
            num_warps=warps,
        )
        dw = dw_part.sum(0).to(weight.dtype) if weight is not None else None  # stage 2
        db = db_part.sum(0).to(bias.dtype) if bias is not None else None
        return dx.reshape(ctx.shape), dw, db, None


@register_kernel(
    "layernorm", "triton", interpreted_on_cpu=True, check=lambda x, *a, **k: too_wide(x, NORM_MAX_N)
)
def layer_norm_triton(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float = 1e-5) -> Tensor:
    """Triton LayerNorm, one row per program, fp32 statistics, two-stage weight gradients."""
    why = too_wide(x, NORM_MAX_N)
    if why:
        raise ValueError(f"layernorm/triton: {why}")
    return _LayerNormFn.apply(x, weight, bias, eps)


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    m, n = shape["M"], shape["N"]
    x = torch.randn(m, n, generator=g).to(device=device, dtype=dtype)
    w = (1 + 0.1 * torch.randn(n, generator=g)).to(device=device, dtype=dtype)
    b = (0.1 * torch.randn(n, generator=g)).to(device=device, dtype=dtype)
    return (x, w, b, 1e-5), {}


def layer_norm_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read x (M·N), w and b (N each), write y (M·N): 2·M·N + 2·N elements.

    The per-row mean and rstd (8 bytes a row, fp32) that a training forward saves are an implementation's
    choice, not the op's interface, and are not counted (1/N of the traffic)."""
    e = torch.empty(0, dtype=dtype).element_size()
    return float(e * (2 * shape["M"] * shape["N"] + 2 * shape["N"]))


def layer_norm_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Backward: read x and dy (M·N each) and w (N), write dx (M·N), dw and db (N each): 3·M·N + 3·N elements.

    Not 2× the forward: y is not read back. Saved statistics are not counted, as in the forward."""
    e = torch.empty(0, dtype=dtype).element_size()
    return float(e * (3 * shape["M"] * shape["N"] + 3 * shape["N"]))


register_op(
    OpSpec(
        name="layernorm",
        make_inputs=_make_inputs,
        shapes=(
            {"M": 1024, "N": 1024},
            {"M": 4096, "N": 4096},
            {"M": 4096, "N": 8192, "set": "gpu"},
        ),
        flops=lambda s: 8.0 * s["M"] * s["N"],
        bytes_moved=layer_norm_bytes,
        backward_bytes_moved=layer_norm_backward_bytes,
        compile_shapes=({"M": 4, "N": 1000}, {"M": 4, "N": 8192}, {"M": 4, "N": NORM_MAX_N}),
        ci_compile_shapes=({"M": 4, "N": 4096, "dtype": "bfloat16"},),
        aliases=("layer_norm",),
        module_types=(nn.LayerNorm,),
        module_call=lambda mod, x: ((x, mod.weight, mod.bias, mod.eps), {}),
        description="LayerNorm over the last dimension with affine weight and bias",
    )
)
